// Just enough HCL to read a server config: attributes (strings, numbers, booleans, lists, objects, heredocs),
// labelled blocks and comments. Not a general HCL implementation: no expressions or interpolation, which a
// Vault/OpenBao server config does not use.

export type HclValue = string | number | boolean | null | HclValue[] | { [key: string]: HclValue };

export interface HclBlock {
  type: string;
  labels: string[];
  body: HclBody;
}

export interface HclBody {
  attrs: Record<string, HclValue>;
  blocks: HclBlock[];
}

export class HclError extends Error {
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.name = 'HclError';
  }
}

type Token =
  | { kind: 'ident'; value: string; line: number }
  | { kind: 'string'; value: string; line: number }
  | { kind: 'number'; value: number; line: number }
  | { kind: 'punct'; value: string; line: number }
  | { kind: 'newline'; line: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      tokens.push({ kind: 'newline', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new HclError('unterminated comment', line);
      line += (text.slice(i, end).match(/\n/g) ?? []).length;
      i = end + 2;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        const ch = text[i];
        if (ch === undefined || ch === '\n') throw new HclError('unterminated string', line);
        if (ch === '"') break;
        if (ch === '\\') {
          const next = text[i + 1] ?? '';
          const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' };
          if (next === 'u') {
            value += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
            i += 6;
            continue;
          }
          value += escapes[next] ?? next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', value, line });
    } else if (c === '<' && text[i + 1] === '<') {
      const m = /^<<(-?)([A-Za-z_][A-Za-z0-9_]*)\r?\n/.exec(text.slice(i));
      if (m === null) throw new HclError('bad heredoc', line);
      const start = i + m[0].length;
      const endRe = new RegExp(`^[ \\t]*${m[2]}[ \\t]*$`, 'm');
      const rest = text.slice(start);
      const end = endRe.exec(rest);
      if (end === null) throw new HclError(`heredoc ${m[2]} is not closed`, line);
      const body = rest.slice(0, end.index);
      tokens.push({ kind: 'string', value: body.replace(/\r?\n$/, ''), line });
      line += (text.slice(i, start + end.index + end[0].length).match(/\n/g) ?? []).length;
      i = start + end.index + end[0].length;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (m === null) throw new HclError(`unexpected "${c}"`, line);
      tokens.push({ kind: 'number', value: Number(m[0]), line });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(text.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', value: m[0], line });
      i += m[0].length;
    } else if ('{}[]=,:'.includes(c)) {
      tokens.push({ kind: 'punct', value: c, line });
      i++;
    } else {
      throw new HclError(`unexpected "${c}"`, line);
    }
  }
  return tokens;
}

class Parser {
  #tokens: Token[];
  #pos = 0;

  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }

  #peek(skipNewlines = false): Token | undefined {
    if (skipNewlines) while (this.#tokens[this.#pos]?.kind === 'newline') this.#pos++;
    return this.#tokens[this.#pos];
  }

  #next(skipNewlines = false): Token {
    const t = this.#peek(skipNewlines);
    if (t === undefined) throw new HclError('unexpected end of file', this.#tokens.at(-1)?.line ?? 1);
    this.#pos++;
    return t;
  }

  body(closing: boolean): HclBody {
    const body: HclBody = { attrs: {}, blocks: [] };
    for (;;) {
      const t = this.#peek(true);
      if (t === undefined) {
        if (closing) throw new HclError('missing "}"', this.#tokens.at(-1)?.line ?? 1);
        return body;
      }
      if (t.kind === 'punct' && t.value === '}') {
        if (!closing) throw new HclError('unexpected "}"', t.line);
        this.#pos++;
        return body;
      }
      if (t.kind !== 'ident' && t.kind !== 'string') throw new HclError('expected a name', t.line);
      this.#pos++;
      const after = this.#peek();
      if (after?.kind === 'punct' && (after.value === '=' || after.value === ':')) {
        this.#pos++;
        body.attrs[t.value as string] = this.value();
        continue;
      }
      const labels: string[] = [];
      for (;;) {
        const l = this.#next();
        if (l.kind === 'string' || l.kind === 'ident') labels.push(l.value);
        else if (l.kind === 'punct' && l.value === '{') break;
        else throw new HclError(`expected "=" or "{" after ${t.value}`, l.line);
      }
      body.blocks.push({ type: t.value as string, labels, body: this.body(true) });
    }
  }

  value(): HclValue {
    const t = this.#next(true);
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'ident') {
      if (t.value === 'true') return true;
      if (t.value === 'false') return false;
      if (t.value === 'null') return null;
      return t.value;
    }
    if (t.kind === 'punct' && t.value === '[') {
      const list: HclValue[] = [];
      for (;;) {
        const p = this.#peek(true);
        if (p?.kind === 'punct' && p.value === ']') {
          this.#pos++;
          return list;
        }
        list.push(this.value());
        const sep = this.#peek(true);
        if (sep?.kind === 'punct' && sep.value === ',') this.#pos++;
      }
    }
    if (t.kind === 'punct' && t.value === '{') {
      const object: Record<string, HclValue> = {};
      for (;;) {
        const k = this.#next(true);
        if (k.kind === 'punct' && k.value === '}') return object;
        if (k.kind !== 'ident' && k.kind !== 'string') throw new HclError('expected a key', k.line);
        const eq = this.#next(true);
        if (eq.kind !== 'punct' || (eq.value !== '=' && eq.value !== ':')) throw new HclError('expected "="', eq.line);
        object[String(k.value)] = this.value();
        const sep = this.#peek(true);
        if (sep?.kind === 'punct' && sep.value === ',') this.#pos++;
      }
    }
    throw new HclError('expected a value', t.line);
  }
}

export function parseHcl(text: string): HclBody {
  return new Parser(tokenize(text)).body(false);
}

/** Blocks of a type, e.g. blocks(body, 'listener'). */
export const blocks = (body: HclBody, type: string): HclBlock[] => body.blocks.filter((b) => b.type === type);

/** HCL booleans are often written as 1/"true" in server configs (the playbook's `tls_disable = 1`). */
export function truthy(value: HclValue | undefined): boolean {
  if (value === true || value === 1) return true;
  if (typeof value === 'string') return /^(1|true|yes)$/i.test(value.trim());
  return false;
}
