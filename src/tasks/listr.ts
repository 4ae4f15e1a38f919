// One place that decides how task lists render: listr2's default renderer on a TTY, plain lines without one,
// nothing with --json. Everything goes to stderr; stdout is kept for the result.
import type { ListrTask } from 'listr2';
import type { Layout } from '../config/flavor.ts';
import type { Context } from '../context.ts';
import type { DeploymentPaths } from '../deployment.ts';
import type { ServerIdentity } from '../services/docker.ts';
import type { VaultApi } from '../services/vault-api.ts';
import { stepLineLogger } from './step-lines.ts';

export type StepStatus = 'done' | 'kept' | 'skipped';

export interface StepRecord {
  id: string;
  status: StepStatus;
  detail?: string;
}

export async function runTasks<T extends object>(ctx: Context, tasks: ListrTask<T>[], state: T): Promise<T> {
  const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
  // The context's stderr: the CLI's is process.stderr; an in-process caller's is its own.
  const stderr = ctx.output.streams.stderr as NodeJS.WriteStream;
  const processOutput = new ProcessOutput(stderr, stderr);
  const logger = new ListrLogger({ processOutput });
  const silent = ctx.output.json || ctx.output.quiet;
  // The renderer prints a failed task's message itself ("[FAILED: ...]"): it must be redacted before that.
  const redacted = tasks.map((t): ListrTask<T> => {
    const run = t.task;
    return {
      ...t,
      task: async (state, task) => {
        try {
          return await run(state, task);
        } catch (error) {
          if (error instanceof Error) error.message = ctx.redactor.redact(error.message);
          throw error;
        }
      },
    };
  });
  const list = new Listr<T, 'default', 'simple'>(redacted, {
    ctx: state,
    exitOnError: true,
    concurrent: false,
    registerSignalListeners: false,
    renderer: 'default',
    fallbackRenderer: 'simple',
    fallbackRendererCondition: !ctx.output.interactive,
    silentRendererCondition: silent,
    collectErrors: false,
    rendererOptions: { logger, showErrorMessage: false, collapseSubtasks: false },
    fallbackRendererOptions: { logger: await stepLineLogger(processOutput), timestamp: undefined },
  } as any);
  return list.run();
}

export function record(steps: StepRecord[], id: string, status: StepStatus, detail?: string): void {
  steps.push(detail === undefined ? { id, status } : { id, status, detail });
}

/**
 * A task's outcome in one call: its title says what it found or did, and the step record (--json `steps`) says the
 * same. `kept` is "already done": nothing was written, the detail says why.
 */
export function step(steps: StepRecord[], task: { title: string }): { kept: EndStep; done: EndStep } {
  const end =
    (status: StepStatus): EndStep =>
    (id, title, detail) => {
      task.title = title;
      record(steps, id, status, detail);
    };
  return { kept: end('kept'), done: end('done') };
}

type EndStep = (id: string, title: string, detail?: string) => void;

/** What every phase of init after the deploy works from: the server, its layout and files, and how init was run. */
export interface PhaseInput {
  api: VaultApi;
  server: ServerIdentity;
  layout: Layout;
  paths: DeploymentPaths;
  name: string;
}
