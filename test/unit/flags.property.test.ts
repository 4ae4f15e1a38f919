// Property tests for what the operator types on the command line: durations, numbers, lists and whole argv vectors
// through cli.ts main() with fake streams. A bad value is exit 2 with one line on stderr (one JSON object on stdout
// with --json) before anything is touched; an accepted value means what was typed.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { resolveCounts } from '../../src/ceremony/shares.ts';
import { main } from '../../src/cli.ts';
import { duration, int, list, oneOf } from '../../src/options/flags.ts';
import { VaultSetupError } from '../../src/errors.ts';
import { parseDuration, toServerDuration } from '../../src/services/wait.ts';
import { createContext } from '../../src/context.ts';
import { obtainToken } from '../../src/services/token.ts';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

/** Runs a throwing reader; anything but a one-line E_USAGE VaultSetupError fails. */
function usage(fn: () => unknown): VaultSetupError | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof VaultSetupError, String((error as Error)?.stack ?? error));
    assert.equal(error.code, 'E_USAGE');
    assert.equal(error.exitCode, 2);
    assert.doesNotMatch(error.message, /[\r\n\u2028\u2029\u001b]/, 'one line, no terminal escapes');
    return error;
  }
}

describe('durations (properties)', () => {
  const part = fc.tuple(fc.integer({ min: 0, max: 100_000 }), fc.constantFrom<Unit>('ms', 's', 'm', 'h', 'd'));

  it('any sum of parts written like 1h30m parses to its milliseconds; a bare number is seconds', () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), fc.constantFrom('', ' ', '\t', '\n'), (parts, pad) => {
        const text = parts.map(([n, u]) => `${n}${u}`).join('');
        const ms = parts.reduce((sum, [n, u]) => sum + n * UNIT_MS[u], 0);
        assert.equal(parseDuration(`${pad}${text}${pad}`), ms, text);
      }),
    );
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 ** 9 }), (n) => assert.equal(parseDuration(String(n)), n * 1000)));
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('0.25s'), 250);
  });

  it('any text: milliseconds as a safe whole number the server can take, or a RangeError on one line', () => {
    const texty = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.stringMatching(/^[0-9.]{1,30}(ms|s|m|h|d|y|us)?$/),
      fc.constantFrom('1e3s', '-5s', '1h 30m', '1H', '5 m', '∞', '0x10s', '1.s', '.5s', '1..5s', '9'.repeat(30), `${'9'.repeat(400)}h`, '99999999999999999999999h', '1\nh'),
    );
    fc.assert(
      fc.property(texty, (text) => {
        let ms: number;
        try {
          ms = parseDuration(text);
        } catch (error) {
          assert.ok(error instanceof RangeError, String(error));
          assert.doesNotMatch(error.message, /[\r\n\u2028\u2029]/);
          return;
        }
        assert.ok(Number.isSafeInteger(ms) && ms >= 0, `${JSON.stringify(text)} -> ${ms}`);
        assert.match(toServerDuration(ms), /^\d+s$/, `${JSON.stringify(text)} is sent as ${toServerDuration(ms)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('duration flags: positive milliseconds, or one E_USAGE line that names the flag', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('0', '0s', '0.4ms', '90s', '720h')), (raw) => {
        const error = usage(() => {
          const ms = duration({ 'token-ttl': raw }, 'token-ttl', '720h');
          assert.ok(ms > 0);
        });
        if (error !== undefined) assert.match(error.message, /^--token-ttl: /);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('numbers, choices and lists (properties)', () => {
  it('int: exactly the whole numbers in range are accepted, and mean what was typed', () => {
    const raw = fc.oneof(
      fc.integer({ min: -10, max: 70_000 }).map(String),
      fc.string({ maxLength: 8 }),
      fc.constantFrom('0x50', '1e3', '8200.0', ' 8200 ', '08200', '+80', '-0', '٨٢٠٠', '８２００', '9'.repeat(40), ''),
    );
    fc.assert(
      fc.property(raw, (text) => {
        let n: number | undefined;
        const error = usage(() => (n = int({ port: text }, 'port', 8200, { min: 1, max: 65535 })));
        const whole = /^\s*\d+\s*$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
        assert.equal(error === undefined, whole, JSON.stringify(text));
        if (n !== undefined) assert.equal(n, Number.parseInt(text.trim(), 10));
        if (error !== undefined) assert.match(error.message, /^--port must be /);
      }),
      { numRuns: 2000 },
    );
  });

  it('share counts from flags: the server\'s rule or one E_USAGE line, whatever was typed', () => {
    const raw = fc.oneof(fc.integer({ min: -3, max: 300 }).map(String), fc.string({ maxLength: 6 }), fc.constantFrom('3.0', '1e1', ' 3', 'a\nb'));
    fc.assert(
      fc.property(raw, raw, fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }), (shares, threshold, keys) => {
        let counts: { shares: number; threshold: number } | undefined;
        usage(() => (counts = resolveCounts({ shares, threshold }, keys)));
        if (counts !== undefined) {
          const { shares: n, threshold: t } = counts;
          assert.ok(n >= 1 && n <= 255 && t >= 1 && t <= n && !(n > 1 && t === 1), `${n}/${t}`);
          assert.equal(n, Number(shares));
          assert.equal(t, Number(threshold));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('oneOf takes exactly the listed words; list splits on commas and drops blanks', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), (raw) => {
        const error = usage(() => oneOf({ storage: raw }, 'storage', ['raft', 'file'] as const, 'raft'));
        assert.equal(error === undefined, raw === 'raft' || raw === 'file');
      }),
    );
    const item = fc.string({ unit: fc.constantFrom(...'abc/._-'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), fc.boolean(), (items, repeated) => {
        const flag = repeated ? items.map((i) => ` ${i} `) : items.join(' , ') + ',';
        assert.deepEqual(list({ secret: flag }, 'secret'), items);
      }),
    );
  });
});

describe('tokens from a file or the environment (properties)', () => {
  it('one printable token is used as given (trimmed); anything else is one E_AUTH line that quotes nothing', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-prop-token-'));
    try {
      const tokenish = fc.oneof(
        fc.string({ unit: fc.constantFrom(...'abcXYZ019.-_+/='), minLength: 8, maxLength: 40 }).map((t) => `s.${t}`),
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.tuple(fc.string({ unit: fc.constantFrom(...'abcdef0123'), minLength: 10, maxLength: 30 }), fc.constantFrom('\n', '\r\n', ' ', '\t', '\u00a0', 'é', '\u0000')).map(([t, sep]) => `hvs.${t}${sep}${t}`),
      );
      await fc.assert(
        fc.asyncProperty(tokenish, fc.constantFrom('file', 'VAULT_TOKEN', 'BAO_TOKEN'), async (text, where) => {
          if (where !== 'file' && text.includes('\0')) return; // an environment cannot hold NUL
          const file = path.join(dir, 'token');
          fs.writeFileSync(file, `${text}\n`);
          const ctx = createContext({ json: true, yes: true, env: where === 'file' ? {} : { [where]: text } });
          const trimmed = text.trim();
          try {
            const token = await obtainToken(ctx, { ...(where === 'file' ? { tokenFile: file } : {}), purpose: 'test' });
            assert.equal(token, trimmed);
            assert.match(token, /^[\x21-\x7e]+$/);
          } catch (error) {
            assert.ok(error instanceof VaultSetupError, String(error));
            assert.equal(error.code, 'E_AUTH');
            assert.doesNotMatch(error.message, /[\r\n]/);
            if (trimmed.length >= 6) assert.ok(!error.message.includes(trimmed) && !(error.hint ?? '').includes(trimmed), error.message);
            assert.ok(trimmed === '' || /[^\x21-\x7e]/.test(trimmed), `${JSON.stringify(trimmed)} refused: ${error.message}`);
          }
        }),
        { numRuns: 500 },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// --- main() with fake streams ------------------------------------------------------------------------------

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: string[]): Promise<Ran> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  stdin.end();
  const env = { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' };
  const code = await main({ argv, env, stdout, stderr, stdin });
  return { code, stdout: out, stderr: err };
}

/** A refusal as the operator sees it: exit 2, one line on stderr, and with --json exactly one error object. */
function assertRefused(ran: Ran, argv: string[], secret?: string): void {
  const shown = JSON.stringify(argv);
  assert.equal(ran.code, 2, `${shown}\n${ran.stderr}`);
  assert.equal(ran.stderr.split('\n').filter(Boolean).length <= 2, true, `${shown}: ${ran.stderr}`);
  assert.match(ran.stderr.split('\n')[0] as string, /vault-setup/);
  if (argv.includes('--json')) {
    const lines = ran.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, `${shown}: ${ran.stdout}`);
    assert.equal(JSON.parse(lines[0] as string).error.code, 'E_USAGE');
  } else {
    assert.equal(ran.stdout, '', shown);
  }
  if (secret !== undefined) assert.ok(!ran.stdout.includes(secret) && !ran.stderr.includes(secret), `${shown} echoed the secret`);
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-prop-flags-'));
after(() => fs.rmSync(home, { recursive: true, force: true }));
/** Where an init that was refused must have written nothing. */
const untouched = () => assert.deepEqual(fs.readdirSync(home), [], 'nothing written');

const COMMANDS = ['init', 'unseal', 'status', 'verify', 'agent', 'backup', 'restore'];
const KNOWN = new Set(['dir', 'json', 'help', 'h', 'addr', 'token-file', 'flavor', 'image', 'name', 'storage', 'port', 'wait', 'yes', 'y', 'force', 'deploy-only', 'shares', 'threshold', 'pgp-keys', 'root-token-pgp-key', 'keys-out', 'print-keys', 'wait-unseal', 'secrets', 'overwrite', 'app', 'token-ttl', 'wrap-ttl', 'show-token', 'keep-root-token', 'tls', 'tls-cert', 'tls-key', 'tls-san', 'stdin', 'reset', 'strict', 'quiet', 'q', 'secret', 'token-max-ttl', 'secret-id-ttl', 'secret-id-uses', 'cidr', 'out-dir', 'revoke-old', 'out', 'raft-multiplier']);
const flagName = fc.stringMatching(/^[a-z][a-z-]{0,14}$/).filter((n) => !KNOWN.has(n));
const secretLike = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'), minLength: 20, maxLength: 44 });

describe('cli main() with fake streams (properties)', () => {
  it('an unknown flag anywhere is exit 2 with one line, and its value is never echoed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...COMMANDS), flagName, secretLike, fc.boolean(), fc.boolean(), async (command, flag, value, inline, json) => {
        const argv = [command, ...(json ? ['--json'] : []), ...(inline ? [`--${flag}=${value}`] : [`--${flag}`, value])];
        const ran = await cli(argv);
        assertRefused(ran, argv, value);
        assert.ok(ran.stderr.includes(`unknown option --${flag}\n`), ran.stderr);
      }),
      { numRuns: 200 },
    );
  });

  it('commands that do not exist, including names of Object.prototype members, are refused on one line', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !COMMANDS.includes(s) && !['help', '--help', '-h', '--version', '-v'].includes(s)), fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'a\nb')), fc.boolean(), async (command, json) => {
        const argv = [command, ...(json ? ['--json'] : [])];
        const ran = await cli(argv);
        assertRefused(ran, argv);
        assert.match(ran.stderr, /unknown command/);
      }),
      { numRuns: 200 },
    );
    for (const command of ['constructor', '__proto__', 'toString']) assertRefused(await cli([command, '--help']), [command, '--help']);
  });

  it('init --port: anything but 1..65535 is refused before anything is written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -100, max: 200_000 }).map(String), fc.constantFrom('0', '65536', '0x50', '1e3', '8200.5', '-1')), fc.boolean(), async (port, json) => {
        if (/^\s*\d+\s*$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) return; // would deploy: int() covers it
        const argv = ['init', '--dir', path.join(home, 'd'), '--port', port, ...(json ? ['--json'] : [])];
        const ran = await cli(argv);
        assertRefused(ran, argv);
        if (!port.startsWith('-')) assert.match(ran.stderr, /--port must be/);
        untouched();
      }),
      { numRuns: 200 },
    );
  });

  it('init --shares/--threshold, durations, --name, --app: refused before anything is deployed', async () => {
    const count = fc.oneof(fc.integer({ min: -2, max: 300 }).map(String), fc.constantFrom('five', '3.0', ''));
    await fc.assert(
      fc.asyncProperty(count, count, async (shares, threshold) => {
        let ok = true;
        try {
          resolveCounts({ shares, threshold });
        } catch {
          ok = false;
        }
        if (ok) return; // valid counts would go on to deploy
        const argv = ['init', '--dir', path.join(home, 'd'), '--port', '18200', '--shares', shares, '--threshold', threshold, '--json'];
        const ran = await cli(argv);
        assertRefused(ran, argv);
        assert.match(ran.stderr, /--shares|--threshold/);
        untouched();
      }),
      { numRuns: 150 },
    );
    for (const [flag, value, why] of [
      ['--wait', 'soon', /--wait: "soon" is not a duration/],
      ['--token-ttl', '1e3s', /--token-ttl: "1e3s" is not a duration/],
      ['--wrap-ttl', '99999999999999999999999h', /--wrap-ttl: .* too long/],
      ['--wait-unseal', '-5m', /--wait-unseal/],
      ['--name', 'My Vault', /--name must be lower-case/],
      ['--name', '../etc', /--name must be lower-case/],
      ['--app', 'Root', /--app must be/],
      ['--storage', 'zfs', /--storage must be one of raft, file/],
      ['--raft-multiplier', '0', /--raft-multiplier must be between 1 and 10/],
      ['--raft-multiplier', 'fast', /--raft-multiplier must be a whole number/],
      ['--flavor', 'consul', /--flavor must be one of vault, openbao/],
    ] as const) {
      const argv = ['init', '--dir', path.join(home, 'd'), '--port', '18200', flag, value];
      const ran = await cli(argv);
      assertRefused(ran, argv);
      assert.match(ran.stderr, why);
      untouched();
    }
  });

  it('unseal never echoes a share given where it does not belong', async () => {
    await fc.assert(
      fc.asyncProperty(secretLike, fc.constantFrom('positional', 'flag', 'short', 'json-value'), async (share, where) => {
        const argv =
          where === 'positional' ? ['unseal', share]
          : where === 'flag' ? ['unseal', `--key=${share}`]
          : where === 'short' ? ['unseal', `-k${share}`]
          : ['unseal', `--json=${share}`];
        assertRefused(await cli(argv), argv, share);
      }),
      { numRuns: 100 },
    );
  });

  it('agent: bad numbers and durations are refused before a token is asked for', async () => {
    for (const [flag, value] of [['--secret-id-uses', '-1'], ['--secret-id-uses', '1e3'], ['--token-ttl', 'forever'], ['--wrap-ttl', '0']] as const) {
      const argv = ['agent', 'add', 'bot', '--dir', path.join(home, 'd'), '--secret', 'secret/x', flag, value];
      const ran = await cli(argv);
      assertRefused(ran, argv);
      assert.match(ran.stderr, new RegExp(flag));
    }
  });
});
