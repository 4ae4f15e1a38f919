// install-units' files are named after the deployment: two deployments on one host never share (or overwrite) a
// unit or a cron file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type UnitsPlan, cronFile, systemdUnits, unitBase, unitNames } from '../../src/units/render.ts';

const plan = (name: string, dir: string): UnitsPlan => ({
  base: unitBase(name),
  exec: ['/usr/local/bin/vault-setup'],
  dir,
  user: 'root',
  watchEvery: '1min',
  backupAt: '*-*-* 03:15:00',
  watchArgs: [],
  backupArgs: ['--keep', '7'],
  envFile: '/etc/vault-setup/units.env',
});

test('two deployments get disjoint unit and cron file names, each running its own directory', () => {
  const a = plan('vault', '/srv/a');
  const b = plan('bao-2', '/srv/b');
  const namesA = [...systemdUnits(a).map((f) => f.name), cronFile(a, 1, 15, 3).name];
  const namesB = [...systemdUnits(b).map((f) => f.name), cronFile(b, 1, 15, 3).name];
  assert.deepEqual(namesA, ['vault-setup-vault-watch.service', 'vault-setup-vault-watch.timer', 'vault-setup-vault-backup.service', 'vault-setup-vault-backup.timer', 'vault-setup-vault']);
  assert.deepEqual(namesB.filter((n) => namesA.includes(n)), []);
  assert.deepEqual([...unitNames(b.base, 'systemd'), ...unitNames(b.base, 'cron')], namesB, 'uninstall removes exactly what install wrote');
  assert.match(systemdUnits(b).find((f) => f.name.endsWith('-watch.service'))?.content ?? '', /--dir \/srv\/b/);
});

test('a name with characters cron.d ignores or systemd refuses is made safe', () => {
  assert.equal(unitBase('my.vault'), 'vault-setup-my-vault');
  assert.match(unitBase('a b/c'), /^vault-setup-[A-Za-z0-9_-]+$/);
});
