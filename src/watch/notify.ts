// Where watch's messages go: a generic JSON webhook, ntfy, Telegram, and a dead-man's-switch heartbeat. Each base
// URL can be overridden (a self-hosted ntfy, a Telegram proxy, a loopback receiver in tests). The Telegram bot
// token comes from a 0600 file or the environment, never from the server and never from argv; it travels only
// in the request and is registered with the redactor. Errors name the channel and host, never a full URL.
import fs from 'node:fs/promises';
import { VaultSetupError, quoted, usageError } from '../errors.ts';
import type { Redactor } from '../services/redactor.ts';
import type { Assessment, NotifyKind } from './assess.ts';

export interface Message {
  source: 'vault-setup';
  host: string;
  address: string;
  state: string;
  level: string;
  kind: NotifyKind;
  previous: string | null;
  since: string;
  at: string;
  summary: string;
  fix: string;
  problems: { id: string; level: string; message: string; fix: string }[];
}

export interface Channel {
  name: string;
  send(message: Message): Promise<void>;
}

export interface ChannelSpec {
  notify: string[];
  ntfy?: { server: string; topic: string; token?: string | undefined } | undefined;
  telegram?: { api: string; chatId: string; botToken: string } | undefined;
}

export function message(a: Assessment, meta: { host: string; address: string; kind: NotifyKind; previous: string | undefined; since: string; now: number }): Message {
  return {
    source: 'vault-setup',
    host: meta.host,
    address: meta.address,
    state: a.state,
    level: a.level,
    kind: meta.kind,
    previous: meta.previous ?? null,
    since: meta.since,
    at: new Date(meta.now).toISOString(),
    summary: a.summary,
    fix: a.fix,
    problems: a.problems.map((p) => ({ id: p.id, level: p.level, message: p.message, fix: p.fix })),
  };
}

/** The text of ntfy and Telegram messages: host, state, since when, the one command that fixes it. */
export function text(m: Message): string {
  const head = m.state === 'healthy' ? `${m.host}: the server is healthy again${m.previous ? ` (was ${m.previous})` : ''}` : `${m.host}: ${m.state}${m.kind === 'reminder' ? ' (still)' : ''} since ${m.since}`;
  const lines = [head, m.summary];
  if (m.fix !== '') lines.push(`Fix: ${m.fix}`);
  return lines.join('\n');
}

export function channels(spec: ChannelSpec, timeoutMs = 10_000): Channel[] {
  const out: Channel[] = spec.notify.map((url) => ({
    name: `webhook ${hostOf(url)}`,
    send: (m) => post(`webhook ${hostOf(url)}`, url, JSON.stringify(m), { 'content-type': 'application/json' }, timeoutMs),
  }));
  if (spec.ntfy !== undefined) {
    const { server, topic, token } = spec.ntfy;
    const url = `${server.replace(/\/+$/, '')}/${encodeURIComponent(topic)}`;
    out.push({
      name: `ntfy ${hostOf(server)}`,
      send: (m) =>
        post(`ntfy ${hostOf(server)}`, url, text(m), {
          'content-type': 'text/plain; charset=utf-8',
          title: `vault-setup: ${m.host} ${m.state}`,
          priority: m.level === 'fail' ? 'urgent' : m.level === 'warn' ? 'high' : 'default',
          tags: m.level === 'ok' ? 'white_check_mark' : 'rotating_light',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        }, timeoutMs),
    });
  }
  if (spec.telegram !== undefined) {
    const { api, chatId, botToken } = spec.telegram;
    out.push({
      name: `telegram ${hostOf(api)}`,
      send: (m) => post(`telegram ${hostOf(api)}`, `${api.replace(/\/+$/, '')}/bot${botToken}/sendMessage`, JSON.stringify({ chat_id: chatId, text: text(m), disable_web_page_preview: true }), { 'content-type': 'application/json' }, timeoutMs),
    });
  }
  return out;
}

/** Pings a dead-man's switch (healthchecks.io, Uptime Kuma push, ...): silence from it means this host is down. */
export function heartbeat(url: string, timeoutMs = 10_000): Channel {
  return { name: `heartbeat ${hostOf(url)}`, send: () => request(`heartbeat ${hostOf(url)}`, url, 'GET', undefined, {}, timeoutMs) };
}

export async function deliver(list: Channel[], m: Message): Promise<{ channel: string; ok: boolean; error?: string }[]> {
  return Promise.all(
    list.map(async (c) => {
      try {
        await c.send(m);
        return { channel: c.name, ok: true };
      } catch (error) {
        return { channel: c.name, ok: false, error: (error as Error).message };
      }
    }),
  );
}

const post = (name: string, url: string, body: string, headers: Record<string, string>, timeoutMs: number) => request(name, url, 'POST', body, headers, timeoutMs);

async function request(name: string, url: string, method: string, body: string | undefined, headers: Record<string, string>, timeoutMs: number): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
  } catch (error) {
    // fetch's own message may quote the URL (a Telegram URL holds the bot token): only the cause's code is kept.
    const inner = (error as { cause?: { code?: string; message?: string } }).cause;
    const cause = inner?.code ?? inner?.message?.replace(/\S*:\/\/\S*/g, '<url>') ?? (error as Error).name;
    throw new Error(`${name} did not answer (${cause})`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new Error(`${name} answered HTTP ${res.status}`);
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).host;
  } catch {
    return '?';
  }
};

export function checkUrl(flag: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`--${flag} must be an http:// or https:// URL, got ${quoted(url)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw usageError(`--${flag} must be an http:// or https:// URL, got ${quoted(url)}`);
  return url;
}

/**
 * The Telegram bot token: from FILE (which must be a regular file only its owner can read: 0600 or 0400), else
 * TELEGRAM_BOT_TOKEN in the environment of the unit. Registered with the redactor before anything can print it.
 */
export async function telegramToken(file: string | undefined, env: NodeJS.ProcessEnv, redactor: Redactor): Promise<string> {
  let token: string | undefined;
  if (file !== undefined) {
    let stat;
    try {
      stat = await fs.stat(file);
    } catch (error) {
      throw usageError(`cannot read --telegram-token-file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'check the path');
    }
    if (!stat.isFile()) throw usageError(`--telegram-token-file ${file} is not a file`);
    if ((stat.mode & 0o077) !== 0) {
      throw new VaultSetupError('E_UNSAFE_PATH', `--telegram-token-file ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${file}` });
    }
    token = (await fs.readFile(file, 'utf8')).trim();
  } else {
    token = env.TELEGRAM_BOT_TOKEN?.trim();
  }
  if (token === undefined || token === '') {
    throw usageError('--telegram needs the bot token', 'put it in a 0600 file given as --telegram-token-file FILE, or in TELEGRAM_BOT_TOKEN in the unit\'s environment');
  }
  redactor.add(token);
  if (!/^[\x21-\x7e]+$/.test(token)) throw usageError('the Telegram bot token holds spaces or line breaks', 'the file must hold the token alone, on one line');
  return token;
}
