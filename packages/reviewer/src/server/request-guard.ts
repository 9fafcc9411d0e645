import { ReviewServerError, ServerErrorCodes } from '../errors';

/** Deepest nesting a request body may have (the body itself is depth 0; `call.args.x` is depth 3). */
export const MAX_BODY_DEPTH = 64;

/**
 * Refuses a parsed JSON body the rest of the server cannot store, sign or chain: a string or key
 * that is not well-formed Unicode (a lone surrogate such as `"\ud800"`, which JSON can carry but
 * canonical JSON, SQLite text and JWS payloads cannot), or nesting deeper than `maxDepth`.
 * Iterative, so a hostile 100 000-deep body cannot overflow the stack here either.
 * Throws 400 `INVALID_REQUEST` naming the nearest protocol field, never echoing the value or client-chosen keys.
 */
export function assertStorableJson(body: unknown, maxDepth = MAX_BODY_DEPTH): void {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: body, path: '(body)', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.isWellFormed()) throw invalid(`${path} is not well-formed Unicode (a lone surrogate); send UTF-16 pairs or valid UTF-8`);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= maxDepth) throw invalid(`${path} is nested deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], path, depth: depth + 1 });
      continue;
    }
    for (const [k, item] of Object.entries(v)) {
      if (!k.isWellFormed()) throw invalid(`a key under ${path} is not well-formed Unicode (a lone surrogate)`);
      stack.push({ v: item, path: depth < 2 && KNOWN_FIELDS.has(k) ? (path === '(body)' ? k : `${path}.${k}`) : path, depth: depth + 1 });
    }
  }
}

/**
 * Protocol field names an error may name; anything the client chose (keys inside args, agent or
 * context) is never echoed back: the message names the nearest protocol field instead.
 */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'idempotencyKey', 'call', 'tool', 'args', 'callId', 'runId', 'digest', 'agent', 'id', 'name', 'context',
  'waitMs', 'dryRun', 'verdict', 'reason', 'status', 'message', 'durationMs',
]);

function invalid(message: string): ReviewServerError {
  return new ReviewServerError(400, ServerErrorCodes.INVALID_REQUEST, `invalid request: ${message}`);
}

/** SQLite result codes (primary, `errcode & 0xff`) that mean the store is unavailable right now, not that the request is wrong. */
const UNAVAILABLE_SQLITE = new Set([
  5, // SQLITE_BUSY
  6, // SQLITE_LOCKED
  7, // SQLITE_NOMEM
  8, // SQLITE_READONLY
  10, // SQLITE_IOERR
  13, // SQLITE_FULL
  14, // SQLITE_CANTOPEN
  15, // SQLITE_PROTOCOL
]);

/**
 * True when `error` says the SQLite store cannot be used right now (busy or locked by another
 * process, disk full or failing, read-only, closed): the server answers 503, a temporary outage,
 * instead of 500.
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const e = error as Error & { code?: unknown; errcode?: unknown };
  if (e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number') return UNAVAILABLE_SQLITE.has(e.errcode & 0xff);
  // node:sqlite on a closed handle.
  return e.code === 'ERR_INVALID_STATE' && /database is not open|statement has been finalized/i.test(e.message);
}
