// Recognises key material in text by its shape, so `verify` can say "this file holds unseal keys" without
// ever repeating them: findings carry kinds and line numbers, never the matched text.

export type MaterialKind = 'share' | 'root-token' | 'token';

export interface MaterialHit {
  kind: MaterialKind;
  line: number;
}

export interface ScanResult {
  hits: MaterialHit[];
  /** The file drives an unseal (operator unseal, sys/unseal). With shares it is the playbook's forbidden script. */
  unsealScript: boolean;
  /** Token-shaped strings, so the caller can ask the server what they are (lookup-self); never shown. */
  tokens: string[];
}

// A Shamir share is 33 bytes: 66 hex chars or 44 base64 chars. With one share (n = 1) the key is the 32-byte
// barrier key itself: 64 hex chars, which is also a SHA-256 checksum, so that shape needs a keyword nearby.
const HEX66 = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{66}(?![0-9A-Fa-f])/;
const HEX64 = /(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])/;
const B64_44 = /(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{43}[A-Za-z0-9+/=](?![A-Za-z0-9+/=])/;
const SHARE_WORD = /unseal|share|\bkeys?\b|key_?\d|keys_base64/i;
// Vault service tokens (hvs./hvb.) and OpenBao's (s./b.): the body is at least 24 characters.
const TOKEN = /(?<![A-Za-z0-9._-])(?:hv[sbr]|[sbr])\.[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])/g;
const ROOT_WORD = /root[ _-]?token|initial root/i;
const UNSEAL_CALL = /operator\s+unseal|sys\/unseal/;

export function scanText(text: string): ScanResult {
  const hits: MaterialHit[] = [];
  const tokens = new Set<string>();
  const lines = text.split('\n');
  lines.forEach((content, index) => {
    const line = index + 1;
    if (HEX66.test(content) || (HEX64.test(content) && /unseal/i.test(content)) || (B64_44.test(content) && SHARE_WORD.test(content))) {
      hits.push({ kind: 'share', line });
    }
    const found = content.match(TOKEN) ?? [];
    for (const token of found) tokens.add(token);
    if (found.length > 0) hits.push({ kind: ROOT_WORD.test(content) ? 'root-token' : 'token', line });
  });
  return { hits, unsealScript: UNSEAL_CALL.test(text), tokens: [...tokens] };
}

/** "lines 2, 3 and 4" */
export function lineList(lines: number[]): string {
  const unique = [...new Set(lines)].sort((a, b) => a - b);
  const shown = unique.slice(0, 6).map(String);
  if (unique.length > 6) shown.push(`${unique.length - 6} more`);
  if (shown.length === 1) return `line ${shown[0]}`;
  return `lines ${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}
