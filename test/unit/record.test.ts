// vault-setup.json: parsing, validation (one line naming the file and the field), format versions, atomic
// round trip, and the lock that keeps two inits on one directory from interleaving.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type DeploymentRecordFile, RECORD_FORMAT, grantedPaths, lockDeployment, noteAgent, noteGrant, parseRecord, readRecord, recordPath, writeRecord } from '../../src/deployment/record.ts';
import { EXIT, VaultSetupError } from '../../src/errors.ts';

const FILE = '/srv/vault/vault-setup.json';

const sample = (): DeploymentRecordFile => ({
  format: 1,
  flavor: 'openbao',
  image: 'openbao/openbao:2.7.2',
  server: 'OpenBao v2.7.2',
  name: 'openbao',
  port: 8200,
  storage: 'raft',
  nodeId: 'openbao-1',
  tls: 'off',
  catalog: { file: '/home/me/secrets.yaml', paths: [{ path: 'app/db', fields: ['user', 'password'] }] },
  app: 'openclaw',
  shares: 5,
  threshold: 3,
  agents: ['ci'],
  grants: [{ agent: 'ci', paths: ['app/db'] }],
  skippedFields: [],
});

const problem = (text: string): VaultSetupError => {
  try {
    parseRecord(text, FILE);
  } catch (error) {
    assert.ok(error instanceof VaultSetupError, String(error));
    assert.equal(error.code, 'E_RECORD');
    assert.equal(error.exitCode, EXIT.record);
    assert.doesNotMatch(error.message, /\n/, 'one line');
    assert.ok(error.message.startsWith(FILE), `names the file: ${error.message}`);
    return error;
  }
  assert.fail('expected a record error');
};

const edited = (change: (o: Record<string, unknown>) => void): string => {
  const o = sample() as unknown as Record<string, unknown>;
  change(o);
  return JSON.stringify(o);
};

describe('deployment record', () => {
  it('a written record reads back as it was', () => {
    assert.deepEqual(parseRecord(JSON.stringify(sample()), FILE), sample());
  });

  it('fields a hand edit broke are named, with what they must be', () => {
    assert.match(problem(edited((o) => (o.port = '8200'))).message, /field "port" must be an integer 1-65535, got "\\"8200\\""/);
    assert.match(problem(edited((o) => (o.port = 70000))).message, /field "port"/);
    assert.match(problem(edited((o) => (o.storage = 'consul'))).message, /field "storage" must be "raft" or "file", got "\\"consul\\""/);
    assert.match(problem(edited((o) => (o.flavor = 'bao'))).message, /field "flavor"/);
    assert.match(problem(edited((o) => (o.name = 'Bad Name'))).message, /field "name"/);
    assert.match(problem(edited((o) => delete o.nodeId)).message, /field "nodeId" must be a non-empty string, got nothing/);
    assert.match(problem(edited((o) => (o.tls = true))).message, /field "tls"/);
    assert.match(problem(edited((o) => (o.threshold = 9))).message, /field "threshold" must be at most shares \(5\)/);
    assert.match(problem(edited((o) => (o.catalog = { file: null, paths: [{ path: 'x', fields: [1] }] }))).message, /field "catalog\.paths\[0\]\.fields"/);
    assert.match(problem(edited((o) => (o.grants = [{ agent: 'ci' }]))).message, /field "grants\[0\]\.paths"/);
    assert.match(problem(edited((o) => delete o.format)).message, /field "format" must be a positive integer/);
    assert.match(problem('{"format": 1,').message, /is not valid JSON/);
    assert.match(problem('[]').message, /is not a JSON object/);
  });

  it('a record newer than the tool: upgrade vault-setup', () => {
    const e = problem(edited((o) => (o.format = RECORD_FORMAT + 1)));
    assert.match(e.message, /written by a newer vault-setup \(format 2; this one reads up to 1\)/);
    assert.match(e.hint ?? '', /upgrade vault-setup/);
  });

  it('optional lists and nulls may be left out (a record written by hand with the essentials)', () => {
    const o = sample() as unknown as Record<string, unknown>;
    for (const key of ['catalog', 'app', 'shares', 'threshold', 'agents', 'grants', 'skippedFields']) delete o[key];
    const r = parseRecord(JSON.stringify(o), FILE);
    assert.deepEqual([r.catalog, r.app, r.shares, r.threshold, r.agents, r.grants, r.skippedFields], [null, null, null, null, [], [], []]);
  });

  it('property: any text either parses to a valid record or fails with one line naming the file', () => {
    const mutation = fc.record({ key: fc.constantFrom(...Object.keys(sample())), value: fc.jsonValue() });
    fc.assert(
      fc.property(mutation, ({ key, value }) => {
        const text = edited((o) => (o[key] = value));
        try {
          const r = parseRecord(text, FILE);
          assert.deepEqual(parseRecord(JSON.stringify(r), FILE), r, 'what parses round-trips');
        } catch (error) {
          assert.ok(error instanceof VaultSetupError, String(error));
          assert.ok(error.message.startsWith(`${FILE}: field "${key}`) || error.message.startsWith(`${FILE}: field "threshold"`) || error.message.startsWith(`${FILE} was written by a newer`), error.message);
          assert.doesNotMatch(error.message, /\n/);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('writeRecord: atomic, readable back, and refuses to write what it could not read', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-record-'));
    try {
      await writeRecord(dir, sample());
      assert.deepEqual(await readRecord(dir), sample());
      assert.deepEqual(fs.readdirSync(dir), ['vault-setup.json'], 'no temporary file left');
      const before = fs.readFileSync(recordPath(dir), 'utf8');
      await assert.rejects(writeRecord(dir, { ...sample(), port: 0 }), (e: unknown) => e instanceof VaultSetupError && /field "port"/.test(e.message));
      assert.equal(fs.readFileSync(recordPath(dir), 'utf8'), before, 'unchanged');
      assert.equal(await readRecord(path.join(dir, 'none')), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('noteAgent: an added agent and its grant are recorded, a removed one dropped; no record, nothing written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-record-'));
    try {
      await noteAgent(dir, 'ci', ['app/db']);
      assert.deepEqual(fs.readdirSync(dir), [], 'no record is made up');
      await writeRecord(dir, { ...sample(), agents: [], grants: [] });
      await noteAgent(dir, 'web', ['app/api', 'app/db']);
      await noteAgent(dir, 'ci', ['app/db']);
      await noteAgent(dir, 'web', ['app/api']);
      let r = await readRecord(dir);
      assert.deepEqual([r?.agents, r?.grants], [['ci', 'web'], [{ agent: 'ci', paths: ['app/db'] }, { agent: 'web', paths: ['app/api'] }]]);
      await noteAgent(dir, 'ci', undefined);
      r = await readRecord(dir);
      assert.deepEqual([r?.agents, r?.grants], [['web'], [{ agent: 'web', paths: ['app/api'] }]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('noteGrant: secret put --grant paths kept per app and agent; agent add keeps them, agent remove drops them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-record-'));
    try {
      assert.equal(await noteGrant(dir, { kind: 'app', name: 'openclaw' }, 'x'), false, 'no record: nothing written');
      assert.deepEqual(fs.readdirSync(dir), []);
      await writeRecord(dir, sample());
      assert.equal(await noteGrant(dir, { kind: 'app', name: 'openclaw' }, 'x'), true);
      await noteGrant(dir, { kind: 'app', name: 'openclaw' }, 'x');
      await noteGrant(dir, { kind: 'agent', name: 'ci' }, 'y');
      await noteAgent(dir, 'ci', ['app/db', 'app/api']);
      let r = await readRecord(dir);
      assert.deepEqual(r?.grants, [{ agent: 'ci', paths: ['app/db', 'app/api'], granted: ['y'] }, { app: 'openclaw', granted: ['x'] }]);
      assert.deepEqual(grantedPaths(r, { kind: 'agent', name: 'ci' }), ['y']);
      assert.deepEqual(grantedPaths(r, { kind: 'app', name: 'openclaw' }), ['x']);
      assert.deepEqual(grantedPaths(r, { kind: 'app', name: 'ci' }), [], 'an app and an agent of one name are apart');
      await noteAgent(dir, 'ci', undefined);
      r = await readRecord(dir);
      assert.deepEqual([r?.agents, r?.grants], [[], [{ app: 'openclaw', granted: ['x'] }]]);
      assert.match(problem(JSON.stringify({ ...sample(), grants: [{ app: 'Bad App', granted: [] }] })).message, /field "grants\[0\]\.app"/);
      assert.match(problem(JSON.stringify({ ...sample(), grants: [{ app: 'openclaw' }] })).message, /field "grants\[0\]\.granted"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lock: a second holder waits and is refused while the first lives; a dead holder\'s lock is taken over', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lock-'));
    try {
      const first = await lockDeployment(dir);
      let slept = 0;
      await assert.rejects(
        lockDeployment(dir, { waitMs: 0, sleep: async () => void slept++ }),
        (e: unknown) => e instanceof VaultSetupError && e.code === 'E_LOCKED' && e.exitCode === EXIT.locked && new RegExp(`pid ${process.pid}`).test(e.message),
      );
      await first[Symbol.asyncDispose]();
      assert.deepEqual(fs.readdirSync(dir), [], 'released');
      // A lock left by a process that has exited.
      const child = spawn(process.execPath, ['-e', '0']);
      const pid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid as number)));
      fs.writeFileSync(path.join(dir, '.vault-setup.lock'), `${pid}\n`);
      const taken = await lockDeployment(dir, { waitMs: 0 });
      assert.equal(fs.readFileSync(path.join(dir, '.vault-setup.lock'), 'utf8'), `${process.pid}\n`);
      await taken[Symbol.asyncDispose]();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
