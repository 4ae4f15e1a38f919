// Where a secret's values come from: a masked prompt, standard input (one field), or a named environment variable.
// Never from argv: a FIELD=value argument is refused without echoing the value.
import { VaultSetupError, usageError } from '../errors.ts';

const FIELD = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The field names given as arguments: each a plain name; "FIELD=value" would put the value in `ps` and history. */
export function parseFields(args: string[]): string[] {
  if (args.length === 0) throw usageError('say which fields to write: secret put PATH FIELD [FIELD ...]', 'e.g. vault-setup secret put secret/openrouter api_key (the value is asked, hidden)');
  const seen = new Set<string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      // The part after "=" is never repeated: it is probably the value.
      throw new VaultSetupError('E_USAGE', `refused "${arg.slice(0, Math.min(eq, 40))}=...": a value on the command line is visible in \`ps\` and stays in the shell history`, {
        hint: `give the field name alone and type the value at the hidden prompt, pipe it with --stdin, or use --from-env ${arg.slice(0, Math.min(eq, 40))}=VAR`,
      });
    }
    if (!FIELD.test(arg)) throw usageError(`"${arg.slice(0, 40)}" is not a field name`, 'field names are letters, digits, "_", "." or "-", starting with a letter or "_"');
    if (seen.has(arg)) throw usageError(`the field ${arg} is named twice`);
    seen.add(arg);
  }
  return [...seen];
}

/** --from-env FIELD=VAR pairs: the value is read from VAR in this process's environment. */
export function parseFromEnv(pairs: string[], fields: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of pairs) {
    const m = /^([^=]+)=([^=]+)$/.exec(pair);
    if (m === null || !ENV_NAME.test(m[2] as string)) throw usageError(`--from-env takes FIELD=VAR (an environment variable's name), got "${pair.slice(0, 60)}"`, 'e.g. --from-env api_key=OPENROUTER_KEY');
    const [, field, variable] = m as unknown as [string, string, string];
    if (!fields.includes(field)) throw usageError(`--from-env names the field ${field}, which is not among the fields to write (${fields.join(', ')})`);
    if (out.has(field)) throw usageError(`--from-env gives the field ${field} twice`);
    out.set(field, variable);
  }
  return out;
}

/**
 * All of standard input as UTF-8 text, minus one trailing line break (what `echo` and most tools add), so
 * `printf %s V` and `echo V` give the same value. Anything that is not UTF-8 is refused: KV values are text.
 */
export async function readStdinText(stdin: NodeJS.ReadableStream, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  const bytes = Buffer.concat(chunks);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    bytes.fill(0);
    throw new VaultSetupError('E_USAGE', `${what} is not UTF-8 text`, { hint: 'KV values are text: encode binary data first (e.g. base64)' });
  }
  bytes.fill(0);
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
