// Without a terminal, each step is one line: its outcome (✔ done, ↓ skipped with the reason). The line a step
// starts with (❯) would only repeat its title, and a failed step is said once, by the error report that follows.
import type { ListrLogger as Logger, ProcessOutput } from 'listr2';

export async function stepLineLogger(processOutput: ProcessOutput): Promise<Logger> {
  const { ListrLogger, ListrLogLevels } = await import('listr2');
  const quiet = new Set<string>([ListrLogLevels.STARTED, ListrLogLevels.FAILED]);
  class StepLineLogger extends ListrLogger {
    override log(level: string, message: string | any[], options?: Parameters<Logger['log']>[2]): void {
      if (!quiet.has(level)) super.log(level, message, options);
    }
  }
  return new StepLineLogger({ processOutput });
}
