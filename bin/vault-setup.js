#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`vault-setup needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js, or use scripts/node from the repository.\n`);
  process.exit(2);
}
const { run } = await import('../dist/cli.js');
await run();
