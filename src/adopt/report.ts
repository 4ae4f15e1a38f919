// adopt's report: verify's checks against the deployment as it is, as findings of what differs from the hardened
// shape (the same checks, ids and fixes as `vault-setup verify`).
import type { Context } from '../context.ts';
import type { DeploymentRecord } from '../deployment.ts';
import { catalogPaths } from '../verify/catalog.ts';
import { CHECK_GROUPS } from '../verify/groups.ts';
import { Probe } from '../verify/probe.ts';
import { runChecks } from '../verify/report.ts';

export interface Finding {
  id: string;
  status: string;
  finding: string;
  fix: string;
}

/** verify's checks against the deployment as it is: what differs from the hardened shape. */
export async function report(ctx: Context, deployment: DeploymentRecord, app: string, catalogFile: string | undefined, token: string | undefined): Promise<Finding[]> {
  const probe = new Probe({ ctx, paths: deployment.paths, deployment, address: deployment.address, caCert: undefined, token, tokenSource: token === undefined ? '' : 'the playbook\'s root token', app, catalog: await catalogPaths(catalogFile) });
  try {
    return (await runChecks(probe, CHECK_GROUPS, ctx.redactor)).map(({ id, status, finding, fix }) => ({ id, status, finding, fix }));
  } finally {
    probe.close();
  }
}

export const summarise = (findings: Finding[]) => ({
  fail: findings.filter((f) => f.status === 'fail').length,
  warn: findings.filter((f) => f.status === 'warn').length,
  pass: findings.filter((f) => f.status === 'pass').length,
});

export function reportLines(findings: Finding[]): string {
  const shown = findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  return [`What differs from the hardened shape (${summarise(findings).fail} failing, ${summarise(findings).warn} warnings):`, ...shown.map((f) => `  ${f.status === 'fail' ? '✖' : '!'} ${f.id}: ${f.finding}${f.fix ? ` -> ${f.fix}` : ''}`)].join('\n');
}

