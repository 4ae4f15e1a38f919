// The pure parts of `verify`: HCL reading, key-material shapes, the advisory table, the catalog reader,
// port entries, and how results become an exit code and lines.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CHECK_GROUPS } from '../../src/verify/groups.ts';
import { EXIT } from '../../src/errors.ts';
import { missingFixes } from '../../src/verify/advisories.ts';
import { catalogPaths } from '../../src/verify/catalog.ts';
import { formatSeconds } from '../../src/verify/checks/config.ts';
import { isLoopback, parsePortEntry, volumes } from '../../src/verify/checks/files.ts';
import { HclError, blocks, parseHcl, truthy } from '../../src/verify/hcl.ts';
import { exitCodeFor, render, summarise, wrap } from '../../src/verify/report.ts';
import { scanText } from '../../src/verify/scan.ts';
import type { GroupedResult } from '../../src/verify/types.ts';
import { renderServerConfig } from '../../src/services/templates.ts';
import { LAYOUTS } from '../../src/config/flavor.ts';

const plain = { bold: (t: string) => t, dim: (t: string) => t, red: (t: string) => t, green: (t: string) => t, yellow: (t: string) => t, cyan: (t: string) => t };

describe('verify: HCL reader', () => {
  it('reads the playbook config, including `tls_disable = 1`', () => {
    const body = parseHcl(`storage "file" {\n  path = "/vault/data"\n}\n\nlistener "tcp" {\n  address     = "0.0.0.0:8200"\n  tls_disable = 1\n}\n\napi_addr = "http://127.0.0.1:8200"\n\nui = true\n\ndisable_mlock = true\n`);
    assert.equal(blocks(body, 'storage')[0]?.labels[0], 'file');
    assert.equal(blocks(body, 'storage')[0]?.body.attrs.path, '/vault/data');
    assert.equal(truthy(blocks(body, 'listener')[0]?.body.attrs.tls_disable), true);
    assert.equal(body.attrs.ui, true);
    assert.equal(body.attrs.api_addr, 'http://127.0.0.1:8200');
  });

  it('reads every config vault-setup writes', () => {
    for (const flavor of ['vault', 'openbao'] as const) {
      for (const storage of ['raft', 'file'] as const) {
        for (const tls of [false, true]) {
          const text = renderServerConfig({ layout: LAYOUTS[flavor], server: { product: flavor, version: '2.7.2', raw: '' }, image: 'x', name: 'n', port: 8200, storage, tls });
          const body = parseHcl(text);
          assert.equal(blocks(body, 'storage')[0]?.labels[0], storage);
          assert.equal(truthy(blocks(body, 'listener')[0]?.body.attrs.tls_disable), !tls);
          assert.equal(body.attrs.ui, false);
          if (flavor === 'openbao') {
            const audit = blocks(body, 'audit')[0];
            assert.deepEqual(audit?.labels, ['file', 'file']);
            assert.equal(audit?.body.blocks[0]?.body.attrs.file_path, '/openbao/logs/audit.log');
          }
        }
      }
    }
  });

  it('handles comments, lists, objects, heredocs and escapes', () => {
    const body = parseHcl(`# c\n// c\n/* multi\nline */\na = ["x", 2, true,]\nb = { k = "v", "q": 1 }\nc = <<EOF\nline1\nline2\nEOF\nd = "say \\"hi\\""\ne = -3\n`);
    assert.deepEqual(body.attrs.a, ['x', 2, true]);
    assert.deepEqual(body.attrs.b, { k: 'v', q: 1 });
    assert.equal(body.attrs.c, 'line1\nline2');
    assert.equal(body.attrs.d, 'say "hi"');
    assert.equal(body.attrs.e, -3);
  });

  it('rejects broken files with a line number', () => {
    assert.throws(() => parseHcl('storage "raft" {\n  path = "/x"\n'), HclError);
    assert.throws(() => parseHcl('a = "unterminated\n'), /line 1/);
    assert.throws(() => parseHcl('listener "tcp" {\n  address = \n}\n'), /line 3/);
  });
});

describe('verify: key material shapes', () => {
  const share = randomBytes(33).toString('hex');
  const b64 = randomBytes(33).toString('base64');
  const single = randomBytes(32).toString('hex');

  it('finds an unseal script with keys, by line, without returning them', () => {
    const text = `#!/bin/sh\nvault operator unseal ${share}\nvault operator unseal ${randomBytes(33).toString('hex')}\n`;
    const result = scanText(text);
    assert.equal(result.unsealScript, true);
    assert.deepEqual(result.hits, [
      { kind: 'share', line: 2 },
      { kind: 'share', line: 3 },
    ]);
    assert.equal(JSON.stringify(result.hits).includes(share), false);
  });

  it('knows base64 shares by a keyword, 64-hex keys only next to "unseal"', () => {
    assert.equal(scanText(`Unseal Key 1: ${b64}`).hits.length, 1);
    assert.equal(scanText(`${b64}`).hits.length, 0, 'a bare 44-char string is too common to flag');
    assert.equal(scanText(`unseal ${single}`).hits.length, 1);
    assert.equal(scanText(`${single}  backups/2026.snap`).hits.length, 0, 'a SHA-256 checksum is not a key');
  });

  it('flags a saved root token and collects token-shaped strings for a lookup', () => {
    const r = scanText('Initial Root Token: hvs.abcdefghijklmnopqrstuvwx\n');
    assert.deepEqual(r.hits, [{ kind: 'root-token', line: 1 }]);
    const t = scanText('token=s.ABCDEFGHIJKLMNOPQRSTUVWX');
    assert.deepEqual(t.hits, [{ kind: 'token', line: 1 }]);
    assert.deepEqual(t.tokens, ['s.ABCDEFGHIJKLMNOPQRSTUVWX']);
    assert.equal(scanText('image: openbao/openbao:2.7.2\nVAULT_ADDR=http://127.0.0.1:8200').hits.length, 0);
  });
});

describe('verify: advisory table', () => {
  it('Vault 1.17 lacks CVE-2025-6000 and CVE-2026-5807 fixes; OpenBao 2.7.2 lacks none', () => {
    assert.deepEqual(missingFixes('vault', '1.17.6').flatMap((a) => a.ids), ['CVE-2025-6000', 'CVE-2026-5807']);
    assert.deepEqual(missingFixes('vault', '1.20.1').flatMap((a) => a.ids), ['CVE-2026-5807']);
    // The default image's line (1.21.4) has the CVE-2025-6000 fix; CVE-2026-5807 is fixed only in 2.0.
    assert.deepEqual(missingFixes('vault', '1.21.4').flatMap((a) => a.ids), ['CVE-2026-5807']);
    assert.equal(LAYOUTS.vault.defaultImage, 'hashicorp/vault:1.21');
    assert.deepEqual(missingFixes('openbao', '2.7.2'), []);
    assert.deepEqual(missingFixes('openbao', '2.5.2').flatMap((a) => a.ids)[0], 'CVE-2026-5807');
    for (const a of missingFixes('vault', '1.0.0')) assert.match(a.source, /HCSEC|CHANGELOG/);
  });
});

describe('verify: catalog paths', () => {
  it('the built-in catalog is the playbook\'s five paths; a file gives its own', async () => {
    assert.deepEqual(await catalogPaths(undefined), { paths: ['openrouter', 'telegram', 'github', 'database', 'cockpit'], source: 'the built-in playbook catalog' });
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vs-cat-')), 'c.yaml');
    fs.writeFileSync(file, 'secrets:\n  openrouter:\n    api_key: { from: prompt }\n  apps/db:\n    password: { from: env, var: X }\n');
    assert.deepEqual(await catalogPaths(file), { paths: ['openrouter', 'apps/db'], source: file });
    fs.writeFileSync(file, 'secrets:\n  ../x:\n    a: { from: prompt }\n');
    await assert.rejects(catalogPaths(file), (e: Error & { code?: string }) => e.code === 'E_CATALOG');
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

describe('verify: compose reading', () => {
  it('parses port entries and knows loopback', () => {
    assert.deepEqual(parsePortEntry('127.0.0.1:8200:8200'), { hostIp: '127.0.0.1', published: '8200', target: '8200' });
    assert.deepEqual(parsePortEntry('8200:8200'), { hostIp: '0.0.0.0', published: '8200', target: '8200' });
    assert.deepEqual(parsePortEntry('[::1]:8200:8200/tcp'), { hostIp: '::1', published: '8200', target: '8200' });
    assert.deepEqual(parsePortEntry({ target: 8200, published: 18200, host_ip: '127.0.0.1' }), { hostIp: '127.0.0.1', published: '18200', target: '8200' });
    assert.equal(isLoopback('127.0.0.1'), true);
    assert.equal(isLoopback('0.0.0.0'), false);
    assert.equal(isLoopback('::1'), true);
  });
  it('reads volumes in short and long form', () => {
    assert.deepEqual(volumes({ volumes: ['./config:/vault/config:ro', { source: './data', target: '/vault/data' }] }), [
      { source: './config', target: '/vault/config', readOnly: true },
      { source: './data', target: '/vault/data', readOnly: false },
    ]);
  });
});

describe('verify: report', () => {
  const r = (status: GroupedResult['status'], id = status): GroupedResult => ({ group: 'files', id, status, finding: `${id} finding`, fix: status === 'pass' ? '' : `${id} fix` });

  it('exit code: warnings pass, failures fail, --strict fails warnings with their own code', () => {
    assert.equal(exitCodeFor(summarise([r('pass'), r('warn'), r('skip')]), false), EXIT.ok);
    assert.equal(exitCodeFor(summarise([r('pass'), r('warn')]), true), EXIT.verifyWarnings);
    assert.equal(exitCodeFor(summarise([r('fail'), r('warn')]), true), EXIT.verifyFailed);
    assert.equal(exitCodeFor(summarise([r('fail')]), false), EXIT.verifyFailed);
  });

  it('plain lines without a TTY; --quiet shows only problems, or nothing', () => {
    const results = [r('pass'), r('warn'), r('skip')];
    const full = render(results, { tty: false, style: plain, quiet: false, strict: false });
    assert.match(full, /^pass files\/pass: pass finding$/m);
    assert.match(full, /^warn files\/warn: warn finding\n {2}fix: warn fix$/m);
    assert.match(full, /^skip files\/skip: skip finding$/m);
    assert.match(full, /1 passed, 1 warning, 0 failed, 1 skipped$/);
    const quiet = render(results, { tty: false, style: plain, quiet: true, strict: false });
    assert.doesNotMatch(quiet, /pass finding|skip finding/);
    assert.match(quiet, /warn finding/);
    assert.equal(render([r('pass')], { tty: false, style: plain, quiet: true, strict: false }), '');
  });

  it('a table on a TTY, wrapped to the terminal', () => {
    const text = render([{ ...r('fail'), finding: 'word '.repeat(40).trim() }], { tty: true, style: plain, quiet: false, strict: false, columns: 80 });
    assert.match(text, /STATUS\s+GROUP\s+CHECK\s+FINDING/);
    for (const line of text.split('\n')) assert.ok(line.length <= 80, line);
    assert.match(text, /→ fail fix/);
    assert.deepEqual(wrap('a b c', 3), ['a b', 'c']);
  });

  it('every check is registered once', () => {
    const names = CHECK_GROUPS.flatMap(([, checks]) => checks.map((c) => c.name));
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.length >= 35);
  });

  it('formats durations', () => {
    assert.equal(formatSeconds(2592000), '30d');
    assert.equal(formatSeconds(3600 * 5 + 60 * 3), '5h3m');
    assert.equal(formatSeconds(42), '42s');
  });
});
