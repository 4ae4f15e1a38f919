// A check is a small async function that looks at one thing and says what it saw and what to do about it.
// Checks share one Probe, whose facts (files, container, server answers) are fetched once and memoised,
// so independent checks run concurrently without asking the same question twice.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export type CheckGroup = 'files' | 'hygiene' | 'runtime' | 'config' | 'hardening' | 'cluster';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  /** One line: what was seen. Never a secret value (names, counts, line numbers only). */
  finding: string;
  /** One line: what to do. Empty when there is nothing to do. */
  fix: string;
}

export interface GroupedResult extends CheckResult {
  group: CheckGroup;
}

export const pass = (id: string, finding: string): CheckResult => ({ id, status: 'pass', finding, fix: '' });
export const warn = (id: string, finding: string, fix: string): CheckResult => ({ id, status: 'warn', finding, fix });
export const fail = (id: string, finding: string, fix: string): CheckResult => ({ id, status: 'fail', finding, fix });
export const skip = (id: string, finding: string, fix = ''): CheckResult => ({ id, status: 'skip', finding, fix });
