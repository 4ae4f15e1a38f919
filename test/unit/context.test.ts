// createContext(options, overrides): a caller swaps one service and keeps the real rest.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { createContext } from '../../src/context.ts';
import type { Prompter } from '../../src/services/prompter.ts';
import { DockerService } from '../../src/services/docker.ts';
import { realClock } from '../../src/services/wait.ts';

describe('createContext', () => {
  it('uses the overrides it is given and real services for the rest', async () => {
    const answers = ['typed'];
    const prompter: Prompter = {
      interactive: true,
      secret: async () => answers.shift() as string,
      confirm: async () => true,
      input: async () => answers.shift() as string,
    };
    let now = 1_000;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const stderr = new PassThrough();
    const ctx = createContext({ env: {}, streams: { stdout: new PassThrough(), stderr } }, { prompter, clock });
    assert.equal(ctx.prompter, prompter);
    assert.equal(await ctx.prompter.secret('share'), 'typed');
    assert.equal(ctx.clock, clock);
    await ctx.clock.sleep(500);
    assert.equal(ctx.clock.now(), 1_500);
    assert.ok(ctx.docker instanceof DockerService);
    assert.equal(createContext({ env: {} }).clock, realClock);
  });
});
