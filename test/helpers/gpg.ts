// Share holders with real GnuPG keys, in a throwaway GNUPGHOME: keys are made with
// `gpg --batch --passphrase '' --quick-gen-key`, exported binary and armored, and used to decrypt what the server
// encrypted to them. Decrypted shares stay in this process's memory or flow through a pipe, never a file.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Holder {
  name: string;
  fingerprint: string;
  /** `gpg --export` (binary) */
  binaryFile: string;
  /** `gpg --export --armor` */
  armoredFile: string;
}

export interface GpgHome extends Disposable {
  home: string;
  env: NodeJS.ProcessEnv;
  /** algo: gpg's quick-gen-key algorithm ('default' is RSA with an encryption subkey; 'future-default' is ed25519/cv25519). */
  holder(name: string, algo?: string): Holder;
  /** Decrypts an armored or binary OpenPGP message (file path or bytes) to the key it was encrypted to. */
  decrypt(message: string | Buffer): string;
}

export function gpgHome(): GpgHome {
  // Short path: gpg-agent's socket path must fit in sun_path.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-gpg-'));
  fs.chmodSync(home, 0o700);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, GNUPGHOME: home, LANG: 'C' };
  const gpg = (args: string[], input?: Buffer): Buffer => {
    const run = spawnSync('gpg', ['--batch', '--yes', '--quiet', ...args], { env, input, maxBuffer: 16 * 1024 * 1024 });
    if (run.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${run.status}): ${run.stderr.toString().trim()}`);
    return run.stdout;
  };
  const keysDir = path.join(home, 'public');
  fs.mkdirSync(keysDir);
  return {
    home,
    env,
    holder(name, algo = 'default') {
      const uid = `${name} <${name}@vault-setup.test>`;
      gpg(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-gen-key', uid, algo, 'default', 'never']);
      const listing = gpg(['--with-colons', '--list-keys', uid]).toString();
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
      if (fingerprint === undefined) throw new Error(`gpg: no fingerprint for ${uid}`);
      const binaryFile = path.join(keysDir, `${name}.gpg`);
      const armoredFile = path.join(keysDir, `${name}.asc`);
      fs.writeFileSync(binaryFile, gpg(['--export', fingerprint]));
      fs.writeFileSync(armoredFile, gpg(['--export', '--armor', fingerprint]));
      return { name, fingerprint, binaryFile, armoredFile };
    },
    decrypt(message) {
      return (typeof message === 'string' ? gpg(['--decrypt', message]) : gpg(['--decrypt'], message)).toString('utf8');
    },
    [Symbol.dispose]() {
      try {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { env, stdio: 'ignore' });
      } catch {
        // no agent was started
      }
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
