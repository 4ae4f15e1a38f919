// Property tests for docker-compose.yml and config/vault.hcl written or edited by hand, then read by status/unseal
// (loadDeployment) and verify (its compose and HCL readers and the port check). Every way compose lets one write
// the API's port is understood; what cannot be understood is one clear error, never a crash or a wrong address.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml, stringify } from 'yaml';
import { createContext } from '../../src/context.ts';
import { deploymentPaths, loadDeployment, parsePort } from '../../src/deployment.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { composeFile, configFile, parsePortEntry, port } from '../../src/verify/checks/files.ts';
import { type HclBody, type HclValue, HclError, parseHcl } from '../../src/verify/hcl.ts';
import { Probe } from '../../src/verify/probe.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-prop-compose-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const deploymentDir = (compose: string, hcl?: string): string => {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), compose);
  if (hcl !== undefined) fs.writeFileSync(path.join(dir, 'config', 'vault.hcl'), hcl);
  return dir;
};

/** A refusal: one-line VaultSetupError; anything else thrown fails the property. */
function refusal(error: unknown): VaultSetupError {
  assert.ok(error instanceof VaultSetupError, String((error as Error)?.stack ?? error));
  assert.doesNotMatch(error.message, /[\r\n]/);
  return error;
}

// --- The API's port in every syntax compose accepts ---------------------------------------------------------

interface PortCase {
  /** What goes in the `ports:` list. */
  entry: unknown;
  /** How it would be written by hand in YAML (short syntax quoted or not, or a flow map). */
  yaml: string;
  hostIp: string;
  port: number;
}

const hostPort = fc.integer({ min: 1, max: 65535 });
const ipv4 = fc.constantFrom('127.0.0.1', '127.0.1.1', '0.0.0.0', '192.168.1.10', '10.0.0.5');
const proto = fc.constantFrom('', '/tcp');

const apiPort: fc.Arbitrary<PortCase> = fc.oneof(
  // "127.0.0.1:8300:8200", quoted or bare
  fc.tuple(ipv4, hostPort, proto, fc.boolean()).map(([ip, p, pr, q]) => {
    const text = `${ip}:${p}:8200${pr}`;
    return { entry: text, yaml: q ? JSON.stringify(text) : text, hostIp: ip, port: p };
  }),
  // "8300:8200": no host IP is every interface
  fc.tuple(hostPort, proto, fc.boolean()).map(([p, pr, q]) => ({ entry: `${p}:8200${pr}`, yaml: q ? `"${p}:8200${pr}"` : `${p}:8200${pr}`, hostIp: '0.0.0.0', port: p })),
  // "[::1]:8300:8200"
  fc.tuple(fc.constantFrom('::1', '::'), hostPort).map(([ip, p]) => ({ entry: `[${ip}]:${p}:8200`, yaml: `"[${ip}]:${p}:8200"`, hostIp: ip, port: p })),
  // long syntax, published as a number or a string, host_ip present or missing
  fc.tuple(fc.option(ipv4, { nil: undefined }), hostPort, fc.boolean(), fc.boolean()).map(([ip, p, asString, targetString]) => {
    const entry = { target: targetString ? '8200' : 8200, published: asString ? String(p) : p, ...(ip ? { host_ip: ip } : {}), protocol: 'tcp' };
    return { entry, yaml: stringify(entry, { collectionStyle: 'flow' }).trim(), hostIp: ip ?? '0.0.0.0', port: p };
  }),
);
/** Other published ports around the API's: the cluster port, a metrics port. */
const otherPort = fc.constantFrom('"127.0.0.1:8201:8201"', '8201:8201', '{ target: 9100, published: 9100 }', '"9090:9090/udp"');

describe('compose ports (properties)', () => {
  it('parsePort finds the API entry in any syntax, wherever it is in the list; verify reads it the same way', () => {
    fc.assert(
      fc.property(apiPort, fc.array(otherPort, { maxLength: 2 }), fc.array(otherPort, { maxLength: 2 }), (api, before, afterIt) => {
        const others = [...before, ...afterIt].map((y) => parseYaml(y) as unknown);
        const ports = [...others.slice(0, before.length), api.entry, ...others.slice(before.length)];
        assert.deepEqual(parsePort(ports), { hostIp: api.hostIp, port: api.port });
        const e = parsePortEntry(api.entry);
        assert.equal(e?.hostIp, api.hostIp);
        assert.equal(e?.published, String(api.port));
      }),
      { numRuns: 500 },
    );
  });

  it('anything else in `ports:` is a port or one clear error naming the file, never NaN', () => {
    const weird = fc.oneof(
      fc.anything(),
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constantFrom('${PORT:-8200}:8200', '8200-8201:8200-8201', '8200', '127.0.0.1::8200', 'abc:8200', '99999:8200', '0:8200'))),
    );
    fc.assert(
      fc.property(weird, (ports) => {
        try {
          const got = parsePort(ports, '/x/docker-compose.yml');
          assert.ok(Number.isInteger(got.port) && got.port >= 1 && got.port <= 65535, JSON.stringify(got));
          assert.equal(typeof got.hostIp, 'string');
        } catch (error) {
          const e = refusal(error);
          assert.match(e.message, /^\/x\/docker-compose\.yml: cannot tell which host port publishes the API/);
          assert.match(e.hint ?? '', /--addr/);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// --- Whole compose files written by hand ---------------------------------------------------------------------

function handCompose(api: PortCase, options: { anchors: boolean; listLabels: boolean; other: boolean; quoteImage: boolean }): string {
  const image = options.quoteImage ? '"openbao/openbao:2.7.2"' : 'openbao/openbao:2.7.2';
  const labels = options.listLabels ? '    labels:\n      - "org.example=1"\n' : '    labels:\n      org.vault-setup.flavor: openbao\n';
  const ports = `    ports:\n${options.other ? '      - "127.0.0.1:8201:8201"\n' : ''}      - ${api.yaml}\n`;
  if (options.anchors) {
    return `x-common: &common\n  restart: unless-stopped\n  image: ${image}\n\nservices:\n  vault:\n    <<: *common\n    container_name: my-vault\n${labels}${ports}`;
  }
  return `services:\n  vault:\n    image: ${image}\n    container_name: my-vault\n${labels}${ports}`;
}

describe('hand-written deployments (properties)', () => {
  it('loadDeployment: the address follows the published port; image and name survive anchors and merge keys', async () => {
    await fc.assert(
      fc.asyncProperty(apiPort, fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), async (api, anchors, listLabels, other, quoteImage) => {
        const dir = deploymentDir(handCompose(api, { anchors, listLabels, other, quoteImage }));
        const d = await loadDeployment(dir);
        assert.ok(d);
        assert.equal(d.address, `http://127.0.0.1:${api.port}`);
        assert.equal(d.hostIp, api.hostIp);
        assert.equal(d.image, 'openbao/openbao:2.7.2');
        assert.equal(d.name, 'my-vault');
        assert.equal(d.layout.flavor, 'openbao');
      }),
      { numRuns: 150 },
    );
  });

  it('any compose text: a deployment record with a real port, or one clear error, never a crash', async () => {
    const base = 'services:\n  server:\n    image: openbao/openbao:2.7.2\n    ports:\n      - "127.0.0.1:8200:8200"\n';
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.jsonValue().map((v) => stringify(v)),
      fc.tuple(fc.nat(base.length), fc.string({ unit: 'binary', maxLength: 4 })).map(([at, s]) => base.slice(0, at) + s + base.slice(at + 1)),
      fc.constantFrom('services: [a, b]', 'services:\n  server: null', 'services:\n  server:\n    ports: "8200:8200"', 'a: &a [*a]', 'services:\n  s:\n    image: x\n  s:\n    image: y\n', '\t- bad', 'services: {server: {ports: [8200]}}', 'services:\n  server:\n    ports: &p [*p]', 'services: &s {server: *s}'),
    );
    await fc.assert(
      fc.asyncProperty(text, async (compose) => {
        const dir = deploymentDir(compose);
        try {
          const d = await loadDeployment(dir);
          if (d !== undefined) assert.match(d.address, /^http:\/\/127\.0\.0\.1:\d{1,5}$/);
        } catch (error) {
          refusal(error);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('verify on a hand-written deployment: the compose, config and port checks say what they see, without Docker', async () => {
    const hcl = 'storage "raft" {\n  path = "/openbao/data"\n}\nlistener "tcp" {\n  address = "0.0.0.0:8200"\n  tls_disable = 1\n}\n';
    await fc.assert(
      fc.asyncProperty(apiPort, async (api) => {
        const dir = deploymentDir(handCompose(api, { anchors: false, listLabels: false, other: false, quoteImage: false }), hcl);
        // deployment undefined: the container is not looked up, so the checks read only the files.
        const probe = new Probe({ ctx: createContext({ json: true, env: {} }), paths: deploymentPaths(dir), deployment: undefined, address: 'http://127.0.0.1:1', caCert: undefined, token: undefined, tokenSource: '', app: 'openclaw', catalog: { paths: ['x'], source: 'test' } });
        try {
          assert.equal((await composeFile(probe)).status, 'pass');
          assert.equal((await configFile(probe)).status, 'pass');
          const check = await port(probe);
          const loopback = /^127\./.test(api.hostIp) || api.hostIp === '::1';
          assert.equal(check.status, loopback ? 'pass' : 'fail', `${JSON.stringify(api.entry)}: ${check.finding}`);
          if (!loopback) assert.match(check.finding, /reachable from the network/);
        } finally {
          probe.close();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('verify: malformed YAML or HCL is a failed check with the parser\'s reason, not a crash', async () => {
    for (const [compose, hcl, id, why] of [
      ['services:\n  server:\n   image: x\n  ports: [\n', 'storage "raft" {}\nlistener "tcp" {}\n', 'compose', /is not valid YAML \(/],
      ['just text', 'storage "raft" {}\nlistener "tcp" {}\n', 'compose', /has no services/],
      ['services:\n  server:\n    image: x\n', 'storage "raft" {\n  path = "/x"\n', 'config', /does not parse \(line \d+: missing "}"\)/],
      ['services:\n  server:\n    image: x\n', 'listener "tcp" {\n  address = \n}\n', 'config', /does not parse \(line 3/],
      ['services:\n  server:\n    image: x\n', 'ui = true\n', 'config', /no storage block/],
    ] as const) {
      const dir = deploymentDir(compose, hcl);
      const probe = new Probe({ ctx: createContext({ json: true, env: {} }), paths: deploymentPaths(dir), deployment: undefined, address: 'http://127.0.0.1:1', caCert: undefined, token: undefined, tokenSource: '', app: 'openclaw', catalog: { paths: ['x'], source: 'test' } });
      try {
        const check = id === 'compose' ? await composeFile(probe) : await configFile(probe);
        assert.equal(check.status, 'fail', check.finding);
        assert.match(check.finding, why);
        assert.ok(check.fix && check.fix.length > 0);
      } finally {
        probe.close();
      }
      if (id === 'compose') await assert.rejects(loadDeployment(dir), (e) => refusal(e) !== undefined);
    }
  });
});

// --- HCL written by hand --------------------------------------------------------------------------------------

const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/).filter((s) => !['true', 'false', 'null'].includes(s));
const hclString = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '\t', 'é', '$', '{', '}', '#', '/', '*', '='), fc.string({ minLength: 1, maxLength: 1 })), maxLength: 20 }).filter((s) => !s.includes('\n'));
const scalar: fc.Arbitrary<HclValue> = fc.oneof(hclString, fc.integer({ min: -1e6, max: 1e6 }), fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)), fc.boolean());
const { value: hclValue } = fc.letrec<{ value: HclValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(ident, tie('value'), { maxKeys: 3 })),
}));
const bodyAt = (depth: number): fc.Arbitrary<HclBody> =>
  fc.record({
    attrs: fc.dictionary(ident, hclValue, { maxKeys: 4 }),
    blocks: depth === 0 ? fc.constant([]) : fc.array(fc.record({ type: ident, labels: fc.array(hclString, { maxLength: 2 }), body: bodyAt(depth - 1) }), { maxLength: 2 }),
  });
const hclBody = bodyAt(3);

const renderValue = (v: HclValue): string =>
  typeof v === 'string' ? JSON.stringify(v)
  : typeof v === 'number' ? String(v)
  : typeof v === 'boolean' ? String(v)
  : v === null ? 'null'
  : Array.isArray(v) ? `[${v.map(renderValue).join(', ')}]`
  : `{\n${Object.entries(v).map(([k, x]) => `${k} = ${renderValue(x)}`).join('\n')}\n}`;
const renderBody = (b: HclBody, indent = ''): string =>
  [
    ...Object.entries(b.attrs).map(([k, v]) => `${indent}${k} = ${renderValue(v)}`),
    ...b.blocks.map((blk) => `${indent}${blk.type} ${blk.labels.map((l) => JSON.stringify(l)).join(' ')} {\n${renderBody(blk.body, `${indent}  `)}\n${indent}}`),
  ].join('\n');

describe('HCL (properties)', () => {
  it('any config rendered from a model parses back to that model', () => {
    fc.assert(
      fc.property(hclBody, (body) => {
        // JSON.stringify escapes control characters as \uXXXX and \b \f, which HCL spells the same way or as \u.
        const text = renderBody(body);
        assert.deepEqual(JSON.parse(JSON.stringify(parseHcl(text))), JSON.parse(JSON.stringify(body)), text);
      }),
      { numRuns: 500 },
    );
  });

  it('any text: a body or an HclError with a line number, never another exception', () => {
    const config = 'storage "raft" {\n  path = "/vault/data"\n}\nlistener "tcp" {\n  address = "0.0.0.0:8200"\n  tls_disable = 1\n}\nui = true\n';
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.tuple(fc.nat(config.length), fc.string({ unit: fc.constantFrom('{', '}', '"', '[', ']', '=', '<<EOF\n', '/*', '#', '\n', '\\', 'x'), maxLength: 3 })).map(([at, s]) => config.slice(0, at) + s + config.slice(at + 1)),
      fc.nat(2000).map((d) => `a = ${'['.repeat(d)}${']'.repeat(d)}`),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseHcl(t);
        } catch (error) {
          assert.ok(error instanceof HclError, `${JSON.stringify(t.slice(0, 80))}: ${String(error)}`);
          assert.match(error.message, /^line \d+: /);
          assert.doesNotMatch(error.message, /[\r\n]/);
        }
      }),
      { numRuns: 1500 },
    );
  });
});
