// Server versions that lack known security fixes. A small, dated table, not a vulnerability database: it
// covers what matters for a single loopback-bound server set up by vault-setup. Update it with each release.
// Assembled 2026-11 from the sources named per row (and ../shared/reference/hardening-checks.md).

import { compareVersions } from '../config/versions.ts';

export interface Advisory {
  product: 'vault' | 'openbao';
  /** First version that has the fix; anything older lacks it. */
  fixedIn: string;
  ids: string[];
  what: string;
  source: string;
}

export const ADVISORIES: readonly Advisory[] = [
  {
    product: 'vault',
    fixedIn: '1.20.1',
    ids: ['CVE-2025-6000'],
    what: 'code execution on the host by a privileged operator through audit devices and the plugin directory',
    source: 'HCSEC-2025-14, https://github.com/advisories/GHSA-mr4h-qf9j-f665 (affected >= 0.8.0, < 1.20.1 for Community Edition)',
  },
  {
    product: 'vault',
    fixedIn: '2.0.0',
    ids: ['CVE-2026-5807'],
    what: 'unauthenticated generate-root/rekey calls can block or cancel the operator (denial of service)',
    source: 'HCSEC-2026-08, https://github.com/advisories/GHSA-88v5-9hxc-f85r (Vault 2.0 made sys/generate-root authenticated)',
  },
  {
    product: 'openbao',
    fixedIn: '2.3.2',
    ids: ['CVE-2025-54997', 'CVE-2025-6000'],
    what: 'code execution through audit devices created over the API',
    source: 'OpenBao CHANGELOG 2.3.2 (HCSEC-2025-14): API audit creation off by default',
  },
  {
    product: 'openbao',
    fixedIn: '2.5.3',
    ids: ['CVE-2026-5807', 'CVE-2026-3605', 'CVE-2026-39388', 'CVE-2026-40264'],
    what: 'unauthenticated generate-root denial of service, request path traversal, cross-namespace token renewal',
    source: 'OpenBao CHANGELOG 2.5.3 (HCSEC-2026-08): unauthenticated sys/generate-root/* off by default',
  },
];

/** The advisories a server version lacks the fixes for. */
export function missingFixes(product: 'vault' | 'openbao', version: string): Advisory[] {
  const plain = version.replace(/^v/, '').split('+')[0] as string;
  return ADVISORIES.filter((a) => a.product === product && compareVersions(plain, a.fixedIn) < 0);
}
