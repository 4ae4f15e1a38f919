import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Redactor } from '../../src/services/redactor.ts';
import { assess, decide, delivered } from '../../src/watch/assess.ts';
import { text, message, telegramToken } from '../../src/watch/notify.ts';
import type { Observation } from '../../src/watch/observe.ts';

const T0 = Date.parse('2026-01-10T03:00:00Z');
const HOUR = 3600_000;
const base = (over: Partial<Observation> = {}): Observation => ({ at: T0, host: 'vault-host', address: 'http://127.0.0.1:8200', reachable: true, initialized: true, sealed: false, role: 'active', version: '2.7.2', verifyFailures: [], ...over });
const opts = { dirArg: ' --dir /srv/vault', certDays: 14, snapshotMaxAgeMs: 26 * HOUR };

describe('watch: assess', () => {
  it('healthy, sealed, unreachable, uninitialised, each with the one command that fixes it', () => {
    assert.deepEqual([assess(base(), opts).state, assess(base(), opts).level, assess(base(), opts).fix], ['healthy', 'ok', '']);
    const sealed = assess(base({ sealed: true }), opts);
    assert.deepEqual([sealed.state, sealed.level, sealed.fix], ['sealed', 'fail', 'vault-setup unseal --dir /srv/vault']);
    assert.equal(assess(base({ reachable: false, error: 'ECONNREFUSED' }), opts).state, 'unreachable');
    const running = assess(base({ reachable: false, error: 'ECONNREFUSED', container: { name: 'vault', status: 'running', exitCode: 0 } }), opts);
    assert.deepEqual([running.problems[0]?.id, running.summary], ['unreachable', 'ECONNREFUSED']);
    const stopped = assess(base({ reachable: false, error: 'ECONNREFUSED', container: { name: 'vault', status: 'exited', exitCode: 137 } }), opts);
    assert.deepEqual(
      [stopped.state, stopped.problems[0]?.id, stopped.summary, stopped.fix],
      ['unreachable', 'container-stopped', 'the container vault is exited (exit code 137): nothing answers at http://127.0.0.1:8200', 'vault-setup unseal --dir /srv/vault'],
    );
    assert.notEqual(stopped.signature, running.signature, 'a stopped container is another situation than a silent running one');
    assert.equal(assess(base({ reachable: false, container: { name: 'vault', status: 'restarting', exitCode: 1 } }), opts).fix, 'docker logs vault shows why');
    assert.match(assess(base({ reachable: false, container: { name: 'vault', status: 'missing' } }), opts).summary, /^the container vault does not exist/);
    assert.equal(assess(base({ initialized: false }), opts).fix, 'vault-setup init --dir /srv/vault');
  });

  it('a recorded seal is deliberate until the container starts again after it', () => {
    const seal = { reason: 'incident 42', at: new Date(T0 - HOUR).toISOString(), host: 'vault-host' };
    const still = assess(base({ sealed: true, containerStartedAt: new Date(T0 - 5 * HOUR).toISOString() }), { ...opts, seal });
    assert.equal(still.state, 'sealed-deliberately');
    assert.equal(still.level, 'warn');
    assert.match(still.summary, /sealed on purpose .* \(reason: incident 42\)/);
    const restarted = assess(base({ sealed: true, containerStartedAt: new Date(T0 - HOUR / 2).toISOString() }), { ...opts, seal });
    assert.equal(restarted.state, 'sealed', 'a restart after the deliberate seal is an incident');
  });

  it('certificate within 14 days warns, expired fails; a snapshot older than 26 h warns; none yet is fine', () => {
    const soon = assess(base({ certificate: { notAfter: new Date(T0 + 10 * 24 * HOUR).toISOString() } }), opts);
    assert.deepEqual([soon.state, soon.level, soon.problems[0]?.id], ['degraded', 'warn', 'certificate-expiring']);
    assert.equal(assess(base({ certificate: { notAfter: new Date(T0 + 20 * 24 * HOUR).toISOString() } }), opts).state, 'healthy');
    assert.equal(assess(base({ certificate: { notAfter: new Date(T0 - HOUR).toISOString() } }), opts).level, 'fail');
    const old = assess(base({ snapshot: { file: '/b/x.snap', at: T0 - 27 * HOUR } }), opts);
    assert.deepEqual([old.problems[0]?.id, old.fix], ['snapshot-old', 'vault-setup backup --dir /srv/vault']);
    assert.equal(assess(base({ snapshot: { file: '/b/x.snap', at: T0 - 25 * HOUR } }), opts).state, 'healthy');
    assert.equal(assess(base({ snapshot: undefined }), opts).state, 'healthy');
  });

  it('what a server supplied reaches the summary and the notifications with its control characters escaped', () => {
    const a = assess(base({ verifyFailures: [{ id: 'x/y', finding: 'policy \u001b]8;;https://evil\u0007name\u001b[2J', fix: '' }] }), opts);
    assert.equal(a.summary, 'policy \\u001b]8;;https://evil\\u0007name\\u001b[2J');
    for (const p of a.problems) assert.doesNotMatch(p.message, /[\u0000-\u001f\u007f-\u009f]/);
  });

  it('verify failures count only while the server serves', () => {
    const f = [{ id: 'files/perms', finding: 'config is world-readable', fix: 'chmod 600 x' }];
    assert.deepEqual(assess(base({ verifyFailures: f }), opts).problems.map((p) => p.id), ['verify:files/perms']);
    assert.deepEqual(assess(base({ sealed: true, verifyFailures: f }), opts).problems.map((p) => p.id), ['sealed']);
  });
});

describe('watch: decide', () => {
  const healthy = assess(base(), opts);
  const sealed = assess(base({ sealed: true }), opts);

  it('a healthy first run says nothing; a first run that is not healthy notifies', () => {
    assert.equal(decide(undefined, healthy, T0).notify, undefined);
    assert.equal(decide(undefined, sealed, T0).notify, 'first');
  });

  it('notifies a change once, then not again; a recovery is a change; since is kept while the state lasts', () => {
    let record = decide(undefined, healthy, T0).record;
    const first = decide(record, sealed, T0 + 60_000);
    assert.equal(first.notify, 'change');
    record = delivered(first.record, T0 + 60_000);
    const again = decide(record, sealed, T0 + 120_000);
    assert.equal(again.notify, undefined);
    assert.equal(again.since, new Date(T0 + 60_000).toISOString());
    const back = decide(again.record, healthy, T0 + 180_000);
    assert.equal(back.notify, 'change');
    assert.equal(back.previous, 'sealed');
  });

  it('once a day while a failure lasts; a failed delivery is tried again at the next check', () => {
    const record = delivered(decide(undefined, sealed, T0).record, T0);
    assert.equal(decide(record, sealed, T0 + 23 * HOUR).notify, undefined);
    assert.equal(decide(record, sealed, T0 + 24 * HOUR).notify, 'reminder');
    const undelivered = decide(decide(undefined, healthy, T0).record, sealed, T0 + 1000).record;
    assert.equal(decide(undelivered, sealed, T0 + 61_000).notify, 'change');
  });
});

describe('watch: messages and the Telegram token', () => {
  it('the text names the host, the state, since when, and the fix', () => {
    const a = assess(base({ sealed: true }), opts);
    const t = text(message(a, { host: 'vault-host', address: 'http://127.0.0.1:8200', kind: 'change', previous: 'healthy', since: '2026-01-10T03:00:00.000Z', now: T0 }));
    assert.equal(t, 'vault-host: sealed since 2026-01-10T03:00:00.000Z\nthe server at http://127.0.0.1:8200 is sealed: every agent is failing closed\nFix: vault-setup unseal --dir /srv/vault');
  });

  it('the token file must be readable by its owner only; the token is registered with the redactor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-tg-'));
    try {
      const file = path.join(dir, 'bot');
      fs.writeFileSync(file, '123456:ABCdefGHIjkl\n', { mode: 0o644 });
      await assert.rejects(telegramToken(file, {}, new Redactor()), /readable by others \(mode 644\)/);
      fs.chmodSync(file, 0o600);
      const redactor = new Redactor();
      assert.equal(await telegramToken(file, {}, redactor), '123456:ABCdefGHIjkl');
      assert.equal(redactor.redact('x 123456:ABCdefGHIjkl y'), 'x [redacted] y');
      assert.equal(await telegramToken(undefined, { TELEGRAM_BOT_TOKEN: '999:zzzzzzzz' }, new Redactor()), '999:zzzzzzzz');
      await assert.rejects(telegramToken(undefined, {}, new Redactor()), /--telegram needs the bot token/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
