// Regenerates the reference copies under compose/ (what `init` writes with default flags).
import { mkdirSync, writeFileSync } from 'node:fs';
import { LAYOUTS } from '../src/config/flavor.ts';
import { renderCompose, renderServerConfig, type DeploymentSpec } from '../src/services/templates.ts';

const specs: Record<string, DeploymentSpec> = {
  vault: { layout: LAYOUTS.vault, server: { product: 'vault', version: '1.21.4', raw: 'Vault v1.21.4' }, image: LAYOUTS.vault.defaultImage, name: 'vault', port: 8200, storage: 'raft', tls: false },
  openbao: { layout: LAYOUTS.openbao, server: { product: 'openbao', version: '2.7.2', raw: 'OpenBao v2.7.2' }, image: LAYOUTS.openbao.defaultImage, name: 'openbao', port: 8200, storage: 'raft', tls: false },
};
for (const [flavor, spec] of Object.entries(specs)) {
  mkdirSync(`compose/${flavor}/config`, { recursive: true });
  writeFileSync(`compose/${flavor}/docker-compose.yml`, await renderCompose(spec));
  writeFileSync(`compose/${flavor}/config/vault.hcl`, renderServerConfig(spec));
}
