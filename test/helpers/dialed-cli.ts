// vault-setup as a child process whose every server connection goes through another address (the fault proxy in
// front of the real server): `node dialed-cli.ts THROUGH ARGS...`. Used with liveCli({ entry }) so that a test
// can stop a run at an exact request instead of racing its output.
import { main } from '../../src/cli.ts';

const [through, ...args] = process.argv.slice(2);
if (through === undefined) throw new Error('usage: dialed-cli.ts THROUGH-ADDRESS ARGS...');
const code = await main({ argv: args, env: process.env, stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, overrides: { dial: () => through } });
process.exitCode = code;
setImmediate(() => process.exit(code)).unref();
