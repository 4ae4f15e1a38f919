// Shared by the ceremony suites: what the configure phase needs to run unattended after the ceremony.
import fs from 'node:fs';
import path from 'node:path';

/** A tiny generated-only secrets catalog and a file for the app token, so `init --yes` can finish. */
export function configureArgs(dir: string): string[] {
  // Inside the deployment dir, so the deployment's disposal removes it.
  fs.mkdirSync(dir, { recursive: true });
  const catalog = path.join(dir, 'test-catalog.yaml');
  fs.writeFileSync(catalog, 'secrets:\n  ceremony-test:\n    key: { from: generate, format: hex, bytes: 16 }\n');
  return ['--secrets', catalog, '--app-token-file', path.join(dir, 'app-token')];
}
