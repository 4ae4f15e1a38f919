#!/usr/bin/env node
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(`vault-setup needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js, or use scripts/node from the repository.\n`);
  process.exit(2);
}
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('dist/cli.js')) throw error;
  process.stderr.write('✖ vault-setup is not built yet: dist/cli.js is missing\n  → run `npm ci && npm run build` in the repository, then this command again\n');
  process.exit(2);
}
await cli.run();
