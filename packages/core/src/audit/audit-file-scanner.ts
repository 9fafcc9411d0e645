import { ChainVerifier, type AuditVerifyOptions, type AuditVerifyResult } from './chain';

const NEWLINE = 0x0a;

/** A torn last line: where it starts (byte offset), its line number and length in bytes. */
export interface TornLine {
  line: number;
  start: number;
  bytes: number;
}

interface HeldLine {
  buf: Buffer;
  line: number;
  start: number;
}

/**
 * Verifies a JSONL audit file fed in chunks (any size), holding one line at a time in memory.
 * Every line but the last must be a complete, chained record. The last line may be torn (a crash
 * mid-write): no trailing newline and not JSON, or a trailing-newline line that is not JSON. A
 * last line without a newline that parses and chains is a complete record whose newline was lost;
 * it counts, and `missingNewline` says a writer must add the newline before appending.
 * @internal
 */
export class AuditFileScanner {
  readonly verifier: ChainVerifier;
  torn: TornLine | undefined;
  missingNewline = false;
  /** Bytes that are complete, verified lines (where a writer may continue). */
  goodBytes = 0;

  private parts: Buffer[] = [];
  private partsLength = 0;
  private lineNo = 0;
  private offset = 0;
  private held: HeldLine | null = null;

  /** `options`: checkpoint keys and where the log must end (see `verifyAuditLog`). */
  constructor(options?: AuditVerifyOptions) {
    this.verifier = new ChainVerifier(null, options);
  }

  /** False once the chain is broken: stop feeding. */
  get healthy(): boolean {
    return !this.verifier.broken;
  }

  push(chunk: Buffer): boolean {
    let from = 0;
    while (this.healthy) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl === -1) {
        if (from < chunk.length) {
          // Copy: callers may reuse `chunk` (readSync into one buffer).
          this.parts.push(Buffer.from(chunk.subarray(from)));
          this.partsLength += chunk.length - from;
        }
        break;
      }
      const piece = chunk.subarray(from, nl);
      const buf = this.parts.length ? Buffer.concat([...this.parts, piece], this.partsLength + piece.length) : piece;
      this.parts = [];
      this.partsLength = 0;
      this.lineNo++;
      const line: HeldLine = { buf: buf === piece ? Buffer.from(piece) : buf, line: this.lineNo, start: this.offset };
      this.offset += buf.length + 1;
      // The held line is not the last one: another line followed it.
      if (this.held) this.middle(this.held);
      this.held = line;
      from = nl + 1;
    }
    return this.healthy;
  }

  /** Call at end of file. */
  finish(): AuditVerifyResult {
    if (this.healthy) {
      if (this.partsLength > 0) {
        if (this.held) this.middle(this.held);
        this.held = null;
        this.lineNo++;
        const buf = Buffer.concat(this.parts, this.partsLength);
        this.last({ buf, line: this.lineNo, start: this.offset }, false);
      } else if (this.held) {
        this.last(this.held, true);
      }
    }
    this.held = null;
    this.parts = [];
    return this.verifier.result(this.torn ? { line: this.torn.line, bytes: this.torn.bytes } : undefined);
  }

  private middle(l: HeldLine): void {
    const parsed = parse(l.buf);
    if (!parsed.ok) {
      this.verifier.fail(null, l.line, `unparsable line: ${parsed.error} (a complete line in the middle of the log is corrupted)`);
      return;
    }
    if (this.verifier.push(parsed.value, l.line, parsed.text)) this.goodBytes = l.start + l.buf.length + 1;
  }

  private last(l: HeldLine, terminated: boolean): void {
    const parsed = parse(l.buf);
    if (!parsed.ok) {
      this.torn = { line: l.line, start: l.start, bytes: l.buf.length + (terminated ? 1 : 0) };
      return;
    }
    if (this.verifier.push(parsed.value, l.line, parsed.text)) {
      this.goodBytes = l.start + l.buf.length + (terminated ? 1 : 0);
      this.missingNewline = !terminated;
    }
  }
}

function parse(buf: Buffer): { ok: true; value: unknown; text: string } | { ok: false; error: string } {
  try {
    const text = buf.toString('utf8');
    if (text.trim() === '') return { ok: false, error: 'empty line' };
    return { ok: true, value: JSON.parse(text) as unknown, text };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}
