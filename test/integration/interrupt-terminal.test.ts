// Ctrl-C in a real terminal while a step runs: exit 130, one line that says how to go on, the cursor shown again.
// Terminal behaviour, the same on every server: one image. The server is frozen (SIGSTOP) so that the step
// "Wait for the API" is certainly running when Ctrl-C arrives.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { docker, testDeployment } from '../helpers/deployment.ts';
import { ROOT, rig } from '../helpers/rig.ts';
import { terminal } from '../helpers/tmux.ts';

describe('interrupted in a terminal', () => {
  it('Ctrl-C during "Wait for the API": exit 130, "interrupted; run the same command to resume", cursor restored', { timeout: 5 * 60_000 }, async () => {
    await using d = await testDeployment('intr');
    const args = d.args('openbao', rig().openbaoImage);
    const deployed = await runCli(['init', ...args, '--deploy-only']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const pid = docker('inspect', '-f', '{{.State.Pid}}', d.name).trim();
    execFileSync('kill', ['-STOP', pid]);
    try {
      const quoted = args.map((a) => `'${a}'`).join(' ');
      // The shell outlives Ctrl-C and stays a moment after the command: a pane that has ended reports no cursor.
      const command = `trap : INT; '${process.execPath}' '${ROOT}src/cli.ts' init ${quoted} --deploy-only; echo "exit=$?"; sleep 60`;
      using term = terminal(['sh', '-c', command], { env: { PATH: process.env.PATH, HOME: d.dir, NO_COLOR: '1' } });
      await term.waitFor(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Wait for the API/); // its spinner: the step is running
      assert.equal(term.cursorVisible(), false, 'the spinner hides the cursor while the step runs');
      term.key('C-c');
      const screen = await term.waitFor(/^exit=\d+$/m);
      assert.match(screen, /^exit=130$/m);
      assert.match(screen, /✖ vault-setup init: interrupted \(SIGINT\); run the same command to resume/);
      assert.equal(term.cursorVisible(), true, 'the cursor is shown again');
    } finally {
      execFileSync('kill', ['-CONT', pid]);
    }
  });
});
