// The server's HTTP API: the only way vault-setup talks to Vault or OpenBao (never `docker exec ... vault`).
// Plain node:http(s) so a pinned CA needs no extra dependency; secrets travel only in headers and bodies.
import http from 'node:http';
import https from 'node:https';
import { VaultSetupError } from '../errors.ts';
import { clip } from './redactor.ts';
import { type Clock, realClock } from './wait.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export interface VaultApiOptions {
  address: string;
  caCert?: string | Buffer;
  clock?: Clock;
  attempts?: number;
  timeoutMs?: number;
}

export interface RequestOptions {
  token?: string | undefined;
  body?: unknown;
  /** Response wrapping: the server answers with a single-use wrapping token instead of the data. */
  wrapTtl?: string;
  /** Statuses that are answers, not errors (e.g. 404 for "absent"). 2xx always are. */
  accept?: number[];
  /** Retry connection errors and 5xx with backoff (default: reads, GET/LIST/HEAD). Only for requests safe to repeat. */
  retry?: boolean;
  timeoutMs?: number;
}

export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  nonce: string;
  version: string;
  build_date?: string;
  commit_date?: string;
  storage_type?: string;
  cluster_name?: string;
}

export interface HealthStatus {
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  version: string;
  server_time_utc?: number;
  cluster_name?: string;
}

export interface InitRequest {
  secret_shares: number;
  secret_threshold: number;
  pgp_keys?: string[];
  root_token_pgp_key?: string;
}

export interface InitResponse {
  keys: string[];
  keys_base64: string[];
  root_token: string;
}

export class VaultApi {
  readonly address: string;
  readonly #agent: http.Agent | https.Agent;
  readonly #clock: Clock;
  readonly #attempts: number;
  readonly #timeoutMs: number;

  constructor(options: VaultApiOptions) {
    this.address = options.address.replace(/\/+$/, '');
    const isHttps = this.address.startsWith('https:');
    this.#agent = isHttps
      ? new https.Agent({ keepAlive: true, ...(options.caCert === undefined ? {} : { ca: options.caCert }) })
      : new http.Agent({ keepAlive: true });
    this.#clock = options.clock ?? realClock;
    this.#attempts = options.attempts ?? 5;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  close(): void {
    this.#agent.destroy();
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse<T>> {
    const attempts = (options.retry ?? READS.has(method)) ? this.#attempts : 1;
    let delay = 200;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.#once<T>(method, path, options);
        // A sealed server answers 503 until someone unseals it: waiting a few seconds does not help.
        const retriable = response.status >= 500 && options.accept?.includes(response.status) !== true && !isSealedAnswer(response);
        if (!retriable || attempts === 1) return this.#check(method, path, response, options);
        lastError = this.#statusError(method, path, response);
      } catch (error) {
        if (error instanceof VaultSetupError) throw error;
        lastError = error;
      }
      if (attempt < attempts) {
        await this.#clock.sleep(delay);
        delay = Math.min(delay * 2, 3000);
      }
    }
    if (lastError instanceof VaultSetupError) {
      throw new VaultSetupError(lastError.code, `${lastError.message} (gave up after ${attempts} attempts)`, {
        hint: lastError.hint ?? 'check the container log: docker logs <container>',
      });
    }
    throw this.unreachable(lastError, attempts);
  }

  unreachable(cause: unknown, attempts = 1): VaultSetupError {
    const reason = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause);
    const tlsMismatch = /wrong version number|EPROTO|packet length too long/i.test(String((cause as Error)?.message ?? reason));
    return new VaultSetupError(
      'E_SERVER_UNREACHABLE',
      `the server at ${this.address} did not answer (${reason}${attempts > 1 ? `, ${attempts} attempts` : ''})`,
      {
        hint: tlsMismatch
          ? 'the listener speaks plain http: use an http:// address (or enable TLS)'
          : 'is the container running? try `vault-setup status`, then `docker logs <container>`',
      },
    );
  }

  #statusError(method: string, path: string, response: ApiResponse<unknown>): VaultSetupError {
    const errors = serverErrors(response.body);
    const text = errors.length > 0 ? errors.join('; ') : `HTTP ${response.status}`;
    if (response.status === 403) {
      return new VaultSetupError('E_DENIED', `the server denied ${method} ${path}: ${text}`, {
        hint: 'the token is invalid, expired or lacks the capability: use a privileged token (VAULT_TOKEN/BAO_TOKEN)',
      });
    }
    if (response.status === 503 && /sealed/i.test(text)) {
      return new VaultSetupError('E_SEALED', `the server is sealed (${method} ${path})`, { hint: 'unseal it: vault-setup unseal' });
    }
    return new VaultSetupError('E_SERVER', `the server answered ${response.status} to ${method} ${path}: ${text}`, {
      hint: 'check `vault-setup status` and `docker logs <container>`, then run the command again (init resumes where it stopped)',
    });
  }

  #check<T>(method: string, path: string, response: ApiResponse<T>, options: RequestOptions): ApiResponse<T> {
    if (response.status < 300 || options.accept?.includes(response.status) === true) return response;
    throw this.#statusError(method, path, response);
  }

  #once<T>(method: string, path: string, options: RequestOptions): Promise<ApiResponse<T>> {
    const url = new URL(`${this.address}/v1/${path.replace(/^\/+/, '')}`);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.token !== undefined) headers['x-vault-token'] = options.token;
    if (options.wrapTtl !== undefined) headers['x-vault-wrap-ttl'] = options.wrapTtl;
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, { method, headers, agent: this.#agent, timeout: options.timeoutMs ?? this.#timeoutMs }, (res) => {
        this.#readBody(res, method, path).then((text) => {
          let body: unknown = undefined;
          if (text.length > 0) {
            try {
              body = JSON.parse(text);
            } catch {
              body = { errors: [bodySnippet(path, text, res.headers['content-type'])] };
              // A success that is not JSON is not the server's answer: never read it as one.
              if ((res.statusCode ?? 0) < 300) {
                reject(new VaultSetupError('E_SERVER', `the answer to ${method} ${path} is not JSON (HTTP ${res.statusCode}): ${bodySnippet(path, text, res.headers['content-type'])}`, {
                  hint: `is ${this.address} really the Vault/OpenBao API, with nothing (a proxy, a portal) answering in its place? check \`vault-setup status\``,
                }));
                return;
              }
            }
          }
          resolve({ status: res.statusCode ?? 0, body: body as T });
        }, reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the server dropped meanwhile (it restarted): the request did not reach it, so
        // it goes again on another connection (each stale one is discarded, so this ends).
        if (req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) resolve(this.#once<T>(method, path, options));
        else reject(error);
      });
      req.end(payload);
    });
  }

  /** The answer's body as text, read to its end: a server (or whatever answers in its place) cannot make vault-setup hold more than MAX_BODY_BYTES. */
  #readBody(res: http.IncomingMessage, method: string, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy();
          reject(new VaultSetupError('E_SERVER', `the answer to ${method} ${path} (${res.statusCode ?? 0}) is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB; vault-setup stopped reading it`, {
            hint: `is ${this.address} really the Vault/OpenBao API? check \`vault-setup status\``,
          }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  }

  /**
   * Binary bodies (raft snapshots): streams `upload` as the request body and a 2xx response body into `download`.
   * An error answer is read as JSON and thrown like any other. Never retried: a restore is not safe to repeat.
   */
  transfer(method: string, path: string, options: { token?: string; upload?: { stream: NodeJS.ReadableStream; length: number }; download?: NodeJS.WritableStream; accept?: number[]; timeoutMs?: number }): Promise<ApiResponse<unknown>> {
    const url = new URL(`${this.address}/v1/${path.replace(/^\/+/, '')}`);
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers['x-vault-token'] = options.token;
    if (options.upload !== undefined) {
      headers['content-type'] = 'application/octet-stream';
      headers['content-length'] = String(options.upload.length);
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, { method, headers, agent: this.#agent, timeout: options.timeoutMs ?? 10 * 60_000 }, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 300 && options.download !== undefined) {
          res.on('error', reject);
          res.pipe(options.download);
          options.download.on('error', reject);
          options.download.on('finish', () => resolve({ status, body: undefined }));
          return;
        }
        // An answer that is not the snapshot (an error, or whatever answers in the server's place) is bounded too.
        this.#readBody(res, method, path).then((text) => {
          let body: unknown = undefined;
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            body = { errors: [bodySnippet(path, text, res.headers['content-type'])] };
          }
          try {
            resolve(this.#check(method, path, { status, body }, { ...(options.accept ? { accept: options.accept } : {}) }));
          } catch (error) {
            reject(error);
          }
        }, reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (error) => reject(error instanceof VaultSetupError ? error : this.unreachable(error)));
      if (options.upload === undefined) req.end();
      else {
        options.upload.stream.on('error', (error: Error) => req.destroy(error));
        options.upload.stream.pipe(req);
      }
    });
  }

  // --- Unauthenticated status -------------------------------------------------------------------------

  async health(): Promise<HealthStatus> {
    // Ask for 200 whatever the state so every answer is a body we can read.
    const query = 'sys/health?uninitcode=200&sealedcode=200&standbycode=200&perfstandbyok=true';
    return (await this.request<HealthStatus>('GET', query, { retry: true })).body;
  }

  /** One quick probe: the health body, or undefined when the server does not answer (yet). */
  async probe(): Promise<HealthStatus | undefined> {
    try {
      const res = await this.#once<HealthStatus>('GET', 'sys/health?uninitcode=200&sealedcode=200&standbycode=200', { timeoutMs: 3000 });
      return res.status === 200 && typeof res.body?.initialized === 'boolean' ? res.body : undefined;
    } catch {
      return undefined;
    }
  }

  async sealStatus(): Promise<SealStatus> {
    return (await this.request<SealStatus>('GET', 'sys/seal-status', { retry: true })).body;
  }

  async init(request: InitRequest): Promise<InitResponse> {
    return (await this.request<InitResponse>('PUT', 'sys/init', { body: request })).body;
  }

  /** Submits one share. Never retried: a repeated share would be ignored, a wrong one counted. */
  async unseal(key: string): Promise<ApiResponse<SealStatus & { errors?: string[] }>> {
    return this.request('PUT', 'sys/unseal', { body: { key }, accept: [400, 500] });
  }

  async unsealReset(): Promise<SealStatus> {
    return (await this.request<SealStatus>('PUT', 'sys/unseal', { body: { reset: true } })).body;
  }
}

const READS = new Set(['GET', 'LIST', 'HEAD']);

/** The largest answer read into memory (snapshots stream through transfer() instead). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Endpoints whose answers carry shares, tokens or secret_ids: their bodies never go into an error, whatever
 * shape they have (a proxy's page, a half-written JSON), because nothing has registered those secrets yet.
 */
const SENSITIVE = /^(sys\/(init|unseal|generate-root|rekey|rekey-recovery-key|rotate\/root|wrapping\/(unwrap|wrap|rewrap))|auth\/token\/create|auth\/[^?]*\/login|auth\/approle\/role\/[^/?]+\/(secret-id|custom-secret-id|role-id)|secret\/data\/)/;

export const isSensitivePath = (path: string): boolean => SENSITIVE.test(path.replace(/^\/+/, '').replace(/^v1\//, ''));

/** What an error may say about a body that is not JSON: its size and type for sensitive endpoints, else a redacted, cut snippet. */
export function bodySnippet(path: string, text: string, contentType: string | undefined): string {
  if (isSensitivePath(path)) return `${Buffer.byteLength(text)} bytes${contentType ? ` of ${contentType.split(';')[0]}` : ''}, not shown (the endpoint carries secrets)`;
  return clip(text, 120);
}

const isSealedAnswer = (response: ApiResponse<unknown>): boolean => response.status === 503 && serverErrors(response.body).some((e) => /sealed/i.test(e));

export const serverErrors = (body: unknown): string[] =>
  Array.isArray((body as { errors?: unknown })?.errors) ? ((body as { errors: unknown[] }).errors.map(String)) : [];
