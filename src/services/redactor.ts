// Knows every secret this process has seen (shares, tokens, seeded values) and removes them from any text
// before it reaches a terminal, a log or an error. Secrets are registered the moment they enter the process,
// in every spelling a server, a proxy or a log may use: as given, hex in either case, base64 and base64url
// (padded or not), URL-encoded and JSON-escaped. PEM private-key blocks are removed by pattern, known or not.
// Every match of every spelling is found first and the covered ranges merged, so overlapping secrets and
// secrets inside longer ones leave no fragment behind.

const MIN_LENGTH = 6;
const MARK = '[redacted]';

/** Any PEM private key (PKCS#1/#8, EC, encrypted, OpenSSH, PGP), also cut off before its END line. */
const PEM_PRIVATE = /-----BEGIN ([A-Z0-9 ]*?)PRIVATE KEY( BLOCK)?-----[\s\S]*?(?:-----END \1PRIVATE KEY\2-----|$)/g;

/** Every live redactor of the process: text cut or reshaped below the layer that owns a redactor goes through all. */
const LIVE = new Set<WeakRef<Redactor>>();

export class Redactor {
  /** Case-sensitive spellings. */
  readonly #exact = new Set<string>();
  /** Hex spellings, matched whatever the case (stored lower-case). */
  readonly #anyCase = new Set<string>();
  #pattern: RegExp | undefined;

  constructor() {
    LIVE.add(new WeakRef(this));
  }

  add(...values: (string | undefined)[]): void {
    for (const value of values) {
      if (value === undefined || value.length < MIN_LENGTH) continue;
      for (const spelling of spellings(value)) this.#addExact(spelling);
      const trimmed = value.trim();
      if (trimmed !== value && trimmed.length >= MIN_LENGTH) for (const spelling of spellings(trimmed)) this.#addExact(spelling);
    }
  }

  /** Registers a share in all the spellings the server or an operator may use (hex, base64, base64url). */
  addShare(share: string): void {
    this.add(share);
    const trimmed = share.trim();
    let bytes: Buffer | undefined;
    if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0) bytes = Buffer.from(trimmed, 'hex');
    else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) bytes = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes === undefined || bytes.length === 0) return;
    const hex = bytes.toString('hex');
    if (hex.length >= MIN_LENGTH) {
      this.#anyCase.add(hex);
      this.#pattern = undefined;
    }
    const b64 = bytes.toString('base64');
    this.add(b64, b64.replace(/=+$/, ''), bytes.toString('base64url'));
  }

  #addExact(value: string): void {
    if (value.length < MIN_LENGTH || this.#exact.has(value)) return;
    this.#exact.add(value);
    if (/^[0-9a-fA-F]+$/.test(value) && value.length % 2 === 0) this.#anyCase.add(value.toLowerCase());
    this.#pattern = undefined;
  }

  redact(text: string): string {
    const ranges: [number, number][] = [];
    for (const m of text.matchAll(PEM_PRIVATE)) ranges.push([m.index, m.index + m[0].length]);
    if (this.#exact.size > 0) {
      for (const secret of this.#exact) {
        for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) ranges.push([at, at + secret.length]);
      }
    }
    if (this.#anyCase.size > 0) {
      this.#pattern ??= new RegExp([...this.#anyCase].sort((a, b) => b.length - a.length).join('|'), 'gi');
      const pattern = this.#pattern;
      pattern.lastIndex = 0;
      for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
        ranges.push([m.index, m.index + m[0].length]);
        pattern.lastIndex = m.index + 1;
      }
    }
    if (ranges.length === 0) return text;
    ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let from = 0;
    let [start, end] = ranges[0] as [number, number];
    for (const [s, e] of ranges) {
      if (s <= end) {
        end = Math.max(end, e);
        continue;
      }
      out += text.slice(from, start) + MARK;
      from = end;
      start = s;
      end = e;
    }
    return out + text.slice(from, start) + MARK + text.slice(end);
  }

  get size(): number {
    return this.#exact.size;
  }
}

/** The spellings of one secret: as given, URL-encoded, JSON-escaped (as JavaScript and as Go's encoder write it), and both. */
function spellings(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  // Go's encoding/json (the servers') also writes <, > and & as \u003c, \u003e, \u0026 and U+2028/2029 escaped; an
  // encoder may escape every non-ASCII character as \uXXXX.
  const escaped = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  const goJson = json.replace(/[<>&\u2028\u2029]/g, escaped);
  const asciiJson = goJson.replace(/[\u0080-\uffff]/g, escaped);
  const url = encodeURIComponent(value);
  const formUrl = url.replace(/%20/g, '+');
  const out = new Set([value, json, goJson, asciiJson, url, formUrl, encodeURIComponent(json), JSON.stringify(url).slice(1, -1)]);
  // Lower-case percent escapes (%2f) are as valid as upper-case ones.
  for (const s of [...out]) if (/%[0-9A-F]{2}/.test(s)) out.add(s.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()));
  return [...out];
}

/** Redacts with every live redactor of the process (for code below the layer that owns one). */
export function redactKnown(text: string): string {
  let out = text;
  for (const ref of LIVE) {
    const redactor = ref.deref();
    if (redactor === undefined) LIVE.delete(ref);
    else out = redactor.redact(out);
  }
  return out.replace(PEM_PRIVATE, MARK);
}

/** Shortens text for a message: redacted first, then cut, so a secret is never left half-shown. */
export function clip(text: string, max: number): string {
  const safe = redactKnown(text);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}
