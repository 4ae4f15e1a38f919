// Plain logic: an observation becomes one state with its problems and the one command that fixes it; a state
// and what was remembered decide whether to notify (a change, a first run that is not healthy, once a day while
// a bad state lasts). No I/O here.
import type { DeliberateSeal, WatchRecord } from './state-file.ts';
import type { Observation } from './observe.ts';
import { escapeControls } from '../errors.ts';

export type WatchState = 'healthy' | 'degraded' | 'sealed' | 'sealed-deliberately' | 'unreachable' | 'uninitialised';
export type Level = 'ok' | 'warn' | 'fail';

export interface Problem {
  id: string;
  level: 'warn' | 'fail';
  message: string;
  fix: string;
}

export interface Assessment {
  state: WatchState;
  level: Level;
  /** One line for people and for the notification's title. */
  summary: string;
  /** The one command that fixes the worst problem; empty when healthy. */
  fix: string;
  problems: Problem[];
  /** state + problem ids: two checks with the same signature are the same situation. */
  signature: string;
  role?: 'active' | 'standby' | undefined;
}

export interface AssessOptions {
  /** `--dir DIR` as the fix commands should spell it (empty for the default directory). */
  dirArg: string;
  certDays: number;
  snapshotMaxAgeMs: number;
  seal?: DeliberateSeal | undefined;
}

const DAY = 24 * 3600_000;

export function assess(o: Observation, options: AssessOptions): Assessment {
  const cmd = (c: string) => `vault-setup ${c}${options.dirArg}`;
  const problems: Problem[] = [];
  let state: WatchState;
  if (!o.reachable) {
    state = 'unreachable';
    problems.push(unreachable(o, cmd));
  } else if (o.initialized === false) {
    state = 'uninitialised';
    problems.push({ id: 'uninitialised', level: 'fail', message: `the server at ${o.address} is not initialised`, fix: cmd('init') });
  } else if (o.sealed === true) {
    if (isDeliberate(options.seal, o)) {
      state = 'sealed-deliberately';
      const seal = options.seal as DeliberateSeal;
      problems.push({ id: 'sealed-deliberately', level: 'warn', message: `the server was sealed on purpose at ${seal.at} (reason: ${seal.reason})`, fix: `${cmd('unseal')} when the reason is resolved` });
    } else {
      state = 'sealed';
      problems.push({ id: 'sealed', level: 'fail', message: `the server at ${o.address} is sealed: every agent is failing closed`, fix: cmd('unseal') });
    }
  } else {
    for (const f of o.verifyFailures) problems.push({ id: `verify:${f.id}`, level: 'fail', message: f.finding, fix: f.fix || cmd('verify') });
    const cert = o.certificate;
    if (cert !== undefined && 'error' in cert) {
      problems.push({ id: 'certificate-unreadable', level: 'warn', message: `cannot read the served certificate (${cert.error})`, fix: cmd('verify') });
    } else if (cert !== undefined) {
      const left = (Date.parse(cert.notAfter) - o.at) / DAY;
      if (left < 0) problems.push({ id: 'certificate-expired', level: 'fail', message: `the server's certificate expired on ${cert.notAfter}`, fix: 'renew the certificate (docs/watch.md), then restart the container' });
      else if (left < options.certDays) problems.push({ id: 'certificate-expiring', level: 'warn', message: `the server's certificate expires on ${cert.notAfter} (in ${Math.floor(left)} days)`, fix: 'renew the certificate (docs/watch.md), then restart the container' });
    }
    if (o.snapshot !== undefined && o.at - o.snapshot.at > options.snapshotMaxAgeMs) {
      const hours = Math.floor((o.at - o.snapshot.at) / 3600_000);
      problems.push({ id: 'snapshot-old', level: 'warn', message: `the newest snapshot is ${hours} h old (${o.snapshot.file})`, fix: cmd('backup') });
    }
    state = problems.length === 0 ? 'healthy' : 'degraded';
  }
  // What a server or a file supplied (versions, error texts) reaches terminals and notifications: controls escaped.
  for (const p of problems) p.message = escapeControls(p.message);
  const level: Level = problems.some((p) => p.level === 'fail') ? 'fail' : problems.length > 0 ? 'warn' : 'ok';
  const worst = problems.find((p) => p.level === 'fail') ?? problems[0];
  const role = o.reachable && o.sealed === false ? o.role : undefined;
  const summary =
    state === 'healthy'
      ? `healthy (${role ?? 'active'}${o.version ? `, ${o.version}` : ''})`
      : state === 'degraded'
        ? problems.map((p) => p.message).join('; ')
        : (worst?.message ?? state);
  return { state, level, summary, fix: worst?.fix ?? '', problems, signature: [state, ...problems.map((p) => p.id).filter((id) => id !== state).sort()].join(' '), role };
}

/** Nothing answers: the container's own state says why, when Docker could be asked (stopped, restarting, gone). */
function unreachable(o: Observation, cmd: (c: string) => string): Problem {
  const c = o.container;
  const silent = `nothing answers at ${o.address}`;
  if (c?.status === 'missing') {
    return { id: 'container-missing', level: 'fail', message: `the container ${c.name} does not exist: ${silent}`, fix: `${cmd('init')} with the flags it was made with (the data directory is kept)` };
  }
  if (c !== undefined && 'exitCode' in c && c.status === 'restarting') {
    return { id: 'container-restarting', level: 'fail', message: `the container ${c.name} keeps restarting (last exit code ${c.exitCode}): ${silent}`, fix: `docker logs ${c.name} shows why` };
  }
  if (c !== undefined && 'exitCode' in c && c.status !== 'running') {
    // `unseal` starts a stopped container before it asks for shares.
    return { id: 'container-stopped', level: 'fail', message: `the container ${c.name} is ${c.status} (exit code ${c.exitCode}): ${silent}`, fix: cmd('unseal') };
  }
  return { id: 'unreachable', level: 'fail', message: o.error ?? `the server at ${o.address} does not answer`, fix: cmd('unseal') };
}

/**
 * A seal is deliberate when an operator recorded one and the container has not started since (a restart seals
 * the server too, and that is an incident even after a deliberate seal).
 */
export function isDeliberate(seal: DeliberateSeal | undefined, o: Observation): boolean {
  if (seal === undefined) return false;
  if (o.containerStartedAt === undefined) return true;
  return Date.parse(o.containerStartedAt) <= Date.parse(seal.at);
}

export type NotifyKind = 'first' | 'change' | 'reminder';

export interface Decision {
  notify: NotifyKind | undefined;
  /** When the current situation began. */
  since: string;
  previous: string | undefined;
  record: WatchRecord;
}

/**
 * Notify on a change of situation (and on a first run that is not healthy), and once a day while a bad state
 * lasts. A delivery that failed is not remembered as sent, so the next check tries again.
 */
export function decide(previous: WatchRecord | undefined, a: Assessment, now: number): Decision {
  const at = new Date(now).toISOString();
  const same = previous?.signature === a.signature;
  const since = same && previous !== undefined ? previous.since : at;
  let notify: NotifyKind | undefined;
  if (previous === undefined || previous.notifiedSignature === undefined) {
    notify = a.level === 'ok' ? undefined : 'first';
  } else if (previous.notifiedSignature !== a.signature) {
    notify = 'change';
  } else if (a.level === 'fail' && previous.notifiedAt !== undefined && now - Date.parse(previous.notifiedAt) >= DAY) {
    notify = 'reminder';
  }
  const record: WatchRecord = {
    signature: a.signature,
    state: a.state,
    since,
    // A first healthy run is the baseline: nothing to say, but later changes are measured from it.
    notifiedSignature: notify === undefined ? (previous?.notifiedSignature ?? a.signature) : previous?.notifiedSignature,
    notifiedAt: previous?.notifiedAt,
    checkedAt: at,
  };
  return { notify, since, previous: previous?.state, record };
}

/** The record once the notification was delivered. */
export const delivered = (record: WatchRecord, now: number): WatchRecord => ({ ...record, notifiedSignature: record.signature, notifiedAt: new Date(now).toISOString() });
