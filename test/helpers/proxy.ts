// A fault-injecting HTTP proxy for tests: loopback only, between the CLI (or a VaultApi) and the real server.
// Rules answer 5xx, delay, hang, drop the connection or rewrite the body; everything else is forwarded as is.
// Bounded: few connections, small bodies, delays capped, every socket closed on dispose. It records only the
// method, path and status of each request: never a header or a body (they carry tokens and shares).
import http from 'node:http';
import net from 'node:net';

export interface Seen {
  method: string;
  path: string;
  status: number;
  /** The answer came from a rule, not from the server. */
  injected: boolean;
}

export interface FaultRule {
  /** Which requests: method and/or a path pattern (path without /v1/, query included). All when omitted. */
  method?: string;
  path?: RegExp;
  /** How many matching requests it applies to (default: all). */
  times?: number;
  /** Answer with this status and body instead of forwarding (a function gets the request's body). */
  status?: number;
  body?: string | ((request: string) => string);
  /** Wait this long (capped at 20 s) before forwarding or answering. */
  delayMs?: number;
  /** Never answer (the client's timeout decides). */
  hang?: boolean;
  /** Close the connection without an answer (ECONNRESET / socket hang up). */
  drop?: boolean;
  /** Forward, then replace the server's body with this (status kept); it also gets the request's body. */
  rewrite?: (body: string, request: string) => string;
}

export interface FaultProxy extends AsyncDisposable {
  address: string;
  port: number;
  seen: Seen[];
  /** Adds a rule; the first rule that matches a request and has uses left decides. */
  inject(rule: FaultRule): void;
  clear(): void;
  /** The requests to a path (pattern on the path without /v1/). */
  count(path: RegExp, method?: string): number;
}

const MAX_BODY = 1024 * 1024;
const MAX_DELAY = 20_000;

export async function faultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: (FaultRule & { left: number })[] = [];
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, Math.min(ms, MAX_DELAY));
      timers.add(timer);
    });
  const answer = (socket: net.Socket, status: number, headers: Record<string, string>, body: Buffer) => {
    const lines = Object.entries({ ...headers, 'content-length': String(body.length), connection: 'keep-alive' }).map(([k, v]) => `${k}: ${v}`);
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Status'}\r\n${lines.join('\r\n')}\r\n\r\n`);
    socket.write(body);
  };

  async function handle(socket: net.Socket, method: string, url: string, headers: Record<string, string>, body: Buffer): Promise<void> {
    const path = url.replace(/^\/v1\//, '');
    const rule = rules.find((r) => r.left > 0 && (r.method === undefined || r.method === method) && (r.path === undefined || r.path.test(path)));
    if (rule !== undefined) rule.left--;
    if (rule?.delayMs !== undefined) await sleep(rule.delayMs);
    if (rule?.hang === true) {
      seen.push({ method, path, status: 0, injected: true });
      return new Promise<void>(() => undefined); // until the client gives up or the proxy closes
    }
    if (rule?.drop === true) {
      seen.push({ method, path, status: 0, injected: true });
      socket.destroy();
      return;
    }
    if (rule?.status !== undefined) {
      seen.push({ method, path, status: rule.status, injected: true });
      const text = typeof rule.body === 'function' ? rule.body(body.toString('utf8')) : rule.body;
      answer(socket, rule.status, { 'content-type': 'application/json' }, Buffer.from(text ?? JSON.stringify({ errors: [`injected ${rule.status}`] })));
      return;
    }
    const forwarded: Record<string, string> = { ...headers, host: upstream.host };
    delete forwarded.connection;
    const result = await new Promise<{ status: number; headers: Record<string, string>; body: Buffer }>((resolve) => {
      const req = http.request({ host: upstream.hostname, port: upstream.port, method, path: url, headers: forwarded, timeout: 30_000, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: { 'content-type': String(res.headers['content-type'] ?? 'application/json') }, body: Buffer.concat(parts) }));
        res.on('error', () => resolve({ status: 502, headers: {}, body: Buffer.from('{"errors":["proxy: broken answer"]}') }));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve({ status: 502, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"errors":["proxy: the server did not answer"]}') }));
      req.end(body);
    });
    const out = rule?.rewrite === undefined ? result.body : Buffer.from(rule.rewrite(result.body.toString('utf8'), body.toString('utf8')));
    seen.push({ method, path, status: result.status, injected: rule?.rewrite !== undefined });
    if (!socket.destroyed) answer(socket, result.status, result.headers, out);
  }

  // A small HTTP/1.1 reader instead of node:http's server, which refuses the LIST method the API uses.
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = Buffer.alloc(0);
    let busy = false;
    const pump = async (): Promise<void> => {
      while (!busy && !socket.destroyed) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [requestLine = '', ...headerLines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const [method = 'GET', url = '/'] = requestLine.split(' ');
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? '0');
        if (headers['transfer-encoding'] !== undefined || !Number.isInteger(length) || length > MAX_BODY) {
          socket.destroy(); // not needed by the clients under test: refuse rather than guess
          return;
        }
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length);
        buffer = buffer.subarray(end + 4 + length);
        busy = true;
        await handle(socket, method, url, headers, body);
        busy = false;
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MAX_BODY + 64 * 1024) socket.destroy();
      else void pump();
    });
  });
  server.maxConnections = 32;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `http://127.0.0.1:${port}`,
    port,
    seen,
    inject: (rule) => void rules.push({ ...rule, left: rule.times ?? Number.POSITIVE_INFINITY }),
    clear: () => void rules.splice(0),
    count: (path, method) => seen.filter((s) => path.test(s.path) && (method === undefined || s.method === method)).length,
    async [Symbol.asyncDispose]() {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
