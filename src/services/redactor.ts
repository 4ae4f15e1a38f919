// Knows every secret this process has seen (shares, tokens, seeded values) and removes them from any text
// before it reaches a terminal, a log or an error. Secrets are registered the moment they enter the process.

const MIN_LENGTH = 6;

export class Redactor {
  readonly #secrets = new Set<string>();

  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value !== undefined && value.length >= MIN_LENGTH) this.#secrets.add(value);
    }
  }

  /** Registers a share in all the spellings the server or an operator may use (hex, base64). */
  addShare(share: string): void {
    this.add(share);
    const trimmed = share.trim();
    this.add(trimmed);
    if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) {
      const bytes = Buffer.from(trimmed, 'hex');
      this.add(bytes.toString('base64'), trimmed.toLowerCase());
    } else {
      const bytes = Buffer.from(trimmed, 'base64');
      if (bytes.length > 0) this.add(bytes.toString('hex'));
    }
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    }
    return out;
  }

  get size(): number {
    return this.#secrets.size;
  }
}
