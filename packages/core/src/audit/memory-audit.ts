import type { AuditEntry, AuditRecord, AuditSink } from '../types';
import { ChainVerifier, sealLine, type AuditVerifyResult, type ChainHead } from './chain';
import type { RedactOptions } from './redact';
import { markSealing, sealsOnAppend } from './sink-marks';

/** An in-memory audit sink: tests, dashboards, short-lived processes. */
export interface MemoryAuditSink extends AuditSink {
  /** Every sealed record, in chain order. */
  readonly records: AuditRecord[];
  append(entry: AuditEntry): AuditRecord;
  /** Verifies the chain held in memory. */
  verify(): AuditVerifyResult;
  close(): void;
}

/**
 * How a gate appends to a sink that keeps records itself without handing one back: the record is
 * sealed now (redacted, hashed, chained) exactly as `append` does, and nothing is returned.
 * @internal
 */
export const APPEND_KEPT: unique symbol = Symbol('toolgate.audit.appendKept');

/** A sink with the gate's way in (the memory sink). @internal */
export interface KeepingSink extends AuditSink {
  [APPEND_KEPT](entry: AuditEntry): void;
}

/** Whether `sink` takes the gate's append without a returned record. @internal */
export function isKeepingSink(sink: AuditSink): sink is KeepingSink {
  // Only while its append is the memory sink's own: a sink spread from it (or inheriting from it)
  // with its own append gets that append called, not bypassed.
  return typeof (sink as Partial<KeepingSink>)[APPEND_KEPT] === 'function' && sealsOnAppend(sink);
}

/**
 * Keeps hash-chained, redacted records in memory.
 *
 * `records` is an array (`Array.isArray` is true; index it, map it, trim it with
 * `records.length = 0`). Records a gate writes are kept as their sealed JSON line — the exact text
 * the hash covers — and read back as an object the first time an index is read (then kept as that
 * object, so a mutation is seen by `verify()` like any other edit). A gate appends on every audited
 * decision, so this keeps one string per record instead of a tree of objects for the garbage
 * collector to trace (issue 13). Records appended directly with `append()` are kept as the object
 * it returns.
 *
 * @example
 * ```ts
 * const audit = memoryAudit();
 * const gate = createGate({ reviewer, highStakes: ['deploy'], audit });
 * // … after a run:
 * console.log(audit.records.map((r) => `${r.seq} ${r.kind} ${r.decision?.verdict}`));
 * ```
 */
export function memoryAudit(options: { redact?: RedactOptions } = {}): MemoryAuditSink {
  /** The records read so far (or appended as objects); a slot still kept as a line is `undefined`. */
  const objects: Array<AuditRecord | undefined> = [];
  /** Sealed lines of the records not read yet, by index (`undefined` once read or replaced). */
  const lines: Array<string | undefined> = [];
  let head: ChainHead | null = null;

  const read = (i: number): AuditRecord | undefined => {
    const kept = objects[i];
    if (kept !== undefined) return kept;
    const line = lines[i];
    if (line === undefined) return undefined;
    const record = JSON.parse(line) as AuditRecord;
    objects[i] = record;
    lines[i] = undefined;
    return record;
  };
  const readAll = (): void => {
    for (let i = 0; i < lines.length; i++) if (lines[i] !== undefined) read(i);
  };
  const indexOf = (key: string | symbol): number => {
    if (typeof key !== 'string') return -1;
    const c = key.charCodeAt(0);
    if (c < 48 || c > 57) return -1; // not a digit: length, a method name
    const i = Number(key);
    return Number.isInteger(i) && i >= 0 && i < objects.length && String(i) === key ? i : -1;
  };

  // An array that reads kept lines on demand: every other operation is the target array's own.
  const records = new Proxy(objects, {
    get(target, key, receiver) {
      const i = indexOf(key);
      return i >= 0 ? read(i) : Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (key === 'length') {
        const ok = Reflect.set(target, key, value, receiver);
        if (lines.length > target.length) lines.length = target.length;
        return ok;
      }
      const i = indexOf(key);
      if (i >= 0) lines[i] = undefined;
      return Reflect.set(target, key, value, receiver);
    },
    has(target, key) {
      const i = indexOf(key);
      return i >= 0 ? lines[i] !== undefined || Reflect.has(target, key) : Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      const i = indexOf(key);
      if (i >= 0) read(i);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    defineProperty(target, key, descriptor) {
      const i = indexOf(key);
      if (i >= 0) lines[i] = undefined;
      return Reflect.defineProperty(target, key, descriptor);
    },
    deleteProperty(target, key) {
      const i = indexOf(key);
      if (i >= 0) lines[i] = undefined;
      return Reflect.deleteProperty(target, key);
    },
    ownKeys(target) {
      readAll();
      return Reflect.ownKeys(target);
    },
  });
  // util.inspect (console.log) shows a proxy's target without asking it: show the records.
  Object.defineProperty(objects, Symbol.for('nodejs.util.inspect.custom'), {
    value: (_depth: number, opts: object, inspect: (v: unknown, o: object) => string) => {
      readAll();
      return inspect([...objects], opts);
    },
    enumerable: false,
  });

  const seal = (entry: AuditEntry): { record: AuditRecord; line: string } => {
    const sealed = sealLine(entry, head, options.redact);
    head = { seq: sealed.record.seq, hash: sealed.record.hash };
    return sealed;
  };
  const sink: MemoryAuditSink & KeepingSink = {
    // A slot reads as its record: `undefined` only where the caller deleted one.
    records: records as AuditRecord[],
    append(entry: AuditEntry): AuditRecord {
      const { record } = seal(entry);
      objects.push(record);
      return record;
    },
    [APPEND_KEPT](entry: AuditEntry): void {
      const { line } = seal(entry);
      objects.push(undefined);
      lines[objects.length - 1] = line;
    },
    verify(): AuditVerifyResult {
      // Lines not read yet are checked over their bytes, read records over their JSON text.
      const v = new ChainVerifier(null);
      for (let i = 0; i < objects.length; i++) {
        const line = lines[i];
        if (line !== undefined ? !v.push(JSON.parse(line), i + 1, line) : !v.push(objects[i], i + 1)) break;
      }
      return v.result();
    },
    close(): void {},
  };
  return markSealing(sink);
}
