// One error type for everything the operator can act on. The message is one line that says what is wrong;
// the hint says what to do. Both pass through the session's redactor before they are shown.
import { redactKnown } from './services/redactor.ts';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  docker: 3,
  image: 4,
  portTaken: 5,
  fileConflict: 6,
  notWritable: 7,
  serverStart: 8,
  serverState: 9,
  unsealFailed: 10,
  badShare: 11,
  auth: 12,
  verifyFailed: 13,
  verifyWarnings: 14,
  needsAnswer: 15,
  server: 16,
  alreadyUnsealed: 17,
  record: 18,
  nameTaken: 19,
  breakingChange: 20,
  notRunning: 21,
  locked: 22,
  noFileStorage: 23,
  cluster: 24,
  quorum: 25,
  clusterPartial: 26,
  notFound: 27,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type ErrorCode =
  | 'E_USAGE'
  | 'E_DOCKER_UNREACHABLE'
  | 'E_NO_COMPOSE'
  | 'E_IMAGE_MISSING'
  | 'E_PORT_TAKEN'
  | 'E_FILE_CONFLICT'
  | 'E_DIR_NOT_WRITABLE'
  | 'E_UNSAFE_PATH'
  | 'E_SERVER_START'
  | 'E_SERVER_UNREACHABLE'
  | 'E_NOT_DEPLOYED'
  | 'E_NOT_INITIALIZED'
  | 'E_ALREADY_INITIALIZED'
  | 'E_ALREADY_UNSEALED'
  | 'E_SEALED'
  | 'E_CRASH_LOOP'
  | 'E_UNSEAL_FAILED'
  | 'E_BAD_SHARE'
  | 'E_AUTH'
  | 'E_DENIED'
  | 'E_MOUNT_CONFLICT'
  | 'E_IN_PROGRESS'
  | 'E_CATALOG'
  | 'E_NEEDS_ANSWER'
  | 'E_SERVER'
  | 'E_PGP'
  | 'E_VERIFY_FAILED'
  | 'E_VERIFY_WARNINGS'
  | 'E_INTERRUPTED'
  | 'E_RECORD'
  | 'E_NAME_TAKEN'
  | 'E_BREAKING_CHANGE'
  | 'E_NOT_RUNNING'
  | 'E_LOCKED'
  | 'E_NO_FILE_STORAGE'
  | 'E_CLUSTER'
  | 'E_QUORUM'
  | 'E_CLUSTER_PARTIAL'
  | 'E_NOT_FOUND';

const DEFAULT_EXIT: Record<ErrorCode, ExitCode> = {
  E_USAGE: EXIT.usage,
  E_DOCKER_UNREACHABLE: EXIT.docker,
  E_NO_COMPOSE: EXIT.docker,
  E_IMAGE_MISSING: EXIT.image,
  E_PORT_TAKEN: EXIT.portTaken,
  E_FILE_CONFLICT: EXIT.fileConflict,
  E_DIR_NOT_WRITABLE: EXIT.notWritable,
  E_UNSAFE_PATH: EXIT.notWritable,
  E_SERVER_START: EXIT.serverStart,
  E_SERVER_UNREACHABLE: EXIT.serverStart,
  E_NOT_DEPLOYED: EXIT.serverState,
  E_NOT_INITIALIZED: EXIT.serverState,
  E_ALREADY_INITIALIZED: EXIT.serverState,
  E_ALREADY_UNSEALED: EXIT.alreadyUnsealed,
  E_SEALED: EXIT.serverState,
  E_CRASH_LOOP: EXIT.serverStart,
  E_UNSEAL_FAILED: EXIT.unsealFailed,
  E_BAD_SHARE: EXIT.badShare,
  E_AUTH: EXIT.auth,
  E_DENIED: EXIT.auth,
  E_MOUNT_CONFLICT: EXIT.serverState,
  E_IN_PROGRESS: EXIT.serverState,
  E_CATALOG: EXIT.usage,
  E_NEEDS_ANSWER: EXIT.needsAnswer,
  E_SERVER: EXIT.server,
  E_PGP: EXIT.usage,
  E_VERIFY_FAILED: EXIT.verifyFailed,
  E_VERIFY_WARNINGS: EXIT.verifyWarnings,
  E_INTERRUPTED: EXIT.interrupted,
  E_RECORD: EXIT.record,
  E_NAME_TAKEN: EXIT.nameTaken,
  E_BREAKING_CHANGE: EXIT.breakingChange,
  E_NOT_RUNNING: EXIT.notRunning,
  E_LOCKED: EXIT.locked,
  E_NO_FILE_STORAGE: EXIT.noFileStorage,
  E_CLUSTER: EXIT.cluster,
  E_QUORUM: EXIT.quorum,
  E_CLUSTER_PARTIAL: EXIT.clusterPartial,
  E_NOT_FOUND: EXIT.notFound,
};

export class VaultSetupError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;
  /** Longer text shown under the message (a diff, log lines), redacted like the rest. */
  readonly detail: string | undefined;
  /** Not a failure, only not the usual outcome (already unsealed: exit 17): shown without the red ✖. */
  readonly notice: boolean;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; exitCode?: ExitCode; detail?: string; notice?: boolean } = {}) {
    // Redacted before it is made one line: a secret that spans lines must still be recognised.
    super(oneLine(redactKnown(message)), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VaultSetupError';
    this.code = code;
    this.hint = options.hint === undefined ? undefined : redactKnown(options.hint);
    this.exitCode = options.exitCode ?? DEFAULT_EXIT[code];
    this.detail = options.detail === undefined ? undefined : redactKnown(options.detail);
    this.notice = options.notice ?? code === 'E_ALREADY_UNSEALED';
  }
}

/**
 * The message is one line whatever went into it: line breaks (a multi-line server error, a name typed with a newline)
 * become one space, other control characters (C0 and C1) are shown escaped so they cannot drive the terminal.
 * Linear in the length of the text (a split, not a backtracking pattern).
 */
export function oneLine(text: string): string {
  const pieces = text.split(/[\r\n\u2028\u2029]/);
  let out = '';
  for (const piece of pieces) {
    const trimmed = piece.trim();
    if (trimmed.length === 0) continue;
    out = out.length === 0 ? trimmed : `${out} ${trimmed}`;
  }
  return escapeControls(out);
}

/** C0 and C1 control characters (and DEL) as \uXXXX; a tab stays. For any text a server or a file supplied. */
export const escapeControls = (text: string): string =>
  text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** User text quoted in a message: redacted, then control characters and line breaks escaped, very long text shortened. */
export function quoted(text: string, max = 80): string {
  const safe = redactKnown(text);
  const shown = safe.length > max ? `${safe.slice(0, max)}…` : safe;
  return `"${shown.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029"\\]/g, (c) => (c === '"' || c === '\\' ? `\\${c}` : c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
}

export const isVaultSetupError = (error: unknown): error is VaultSetupError => error instanceof VaultSetupError;

export const usageError = (message: string, hint?: string): VaultSetupError =>
  new VaultSetupError('E_USAGE', message, hint === undefined ? {} : { hint });

/**
 * Attaches what a failing command must still hand over (e.g. the `init` member of --json with --print-keys: the
 * only copy of the shares). cli.ts prints it, unredacted, in the --json error object. Works on any thrown value.
 */
export function withResult(error: unknown, result: Record<string, unknown>): Error {
  const target = error instanceof Error ? error : new Error(String(error));
  Object.defineProperty(target, 'result', { value: { ...resultOf(target), ...result }, enumerable: false, configurable: true });
  return target;
}

export const resultOf = (error: unknown): Record<string, unknown> | undefined => (error as { result?: Record<string, unknown> } | undefined)?.result;

/**
 * The one --json error object: what the command must still hand over (resultOf, printed as is: the operator asked
 * for it), then `error` with code, message, hint and exit code, redacted. Anything else is an internal error.
 */
export function errorReport(error: unknown, redact: (text: string) => string = (t) => t): Record<string, unknown> {
  if (!isVaultSetupError(error)) {
    return { ...resultOf(error), error: { code: 'E_INTERNAL', message: redact(String((error as Error)?.message ?? error)) } };
  }
  return { ...resultOf(error), error: { code: error.code, message: redact(error.message), ...(error.hint ? { hint: redact(error.hint) } : {}), exitCode: error.exitCode } };
}
