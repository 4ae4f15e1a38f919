// verify's checks in their groups, in report order (a cluster node's checks are added by the command). Shared by
// `verify`, `watch` (its token-less checks) and `adopt` (what differs from the hardened shape).
import { BACKUP_IDENTITY_CHECKS } from './checks/backup-identity.ts';
import { CONFIG_CHECKS } from './checks/config.ts';
import { CONFINEMENT_CHECKS } from './checks/confinement.ts';
import { FILE_CHECKS } from './checks/files.ts';
import { HARDENING_CHECKS } from './checks/hardening.ts';
import { HYGIENE_CHECKS } from './checks/hygiene.ts';
import { oneShotLeftovers } from './checks/leftovers.ts';
import { RUNTIME_CHECKS } from './checks/runtime.ts';
import type { CheckFn } from './report.ts';
import type { CheckGroup } from './types.ts';

export const CHECK_GROUPS: [CheckGroup, CheckFn[]][] = [
  ['files', FILE_CHECKS],
  ['hygiene', HYGIENE_CHECKS],
  ['runtime', [...RUNTIME_CHECKS, oneShotLeftovers]],
  ['config', [...CONFIG_CHECKS, ...BACKUP_IDENTITY_CHECKS]],
  ['hardening', [...HARDENING_CHECKS, ...CONFINEMENT_CHECKS]],
];
