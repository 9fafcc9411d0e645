/**
 * Attacks on the issue 13 speed changes in core: the policy reviewer and the audit record share one
 * parse of the args (812bc28), no deadline timer or AbortController for the policy reviewer
 * (efd7009, 6687d9f), memoryAudit keeps sealed lines behind an array Proxy (6b8c56a), sealing sinks
 * get the Decision uncopied (5f0d63e). Each attack checks the sealed record and verify(), or that a
 * review still ends, by what was stored or returned.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/** A write fault for the JSONL sink: the next write puts half its bytes down, then fails (ENOSPC). */
const faults = vi.hoisted(() => ({ tornWrites: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const writeSync = ((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (faults.tornWrites > 0 && typeof data === 'string') {
      faults.tornWrites--;
      real.writeSync(fd, data.slice(0, Math.floor(data.length / 2)));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }
    return (real.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof real.writeSync;
  return { ...real, default: { ...real, writeSync }, writeSync };
});
import { createGate } from '../gate/create-gate';
import type { GateOptions } from '../gate/gate-types';
import { parsePolicy } from '../policy/parse-policy';
import { policyReviewer } from '../policy/policy-reviewer';
import { callDigest } from '../digest/call-digest';
import type { AuditSink, Reviewer, ReviewRequest } from '../types';
import { verifyAuditLog } from './verify-audit-log';
import { jsonlAudit } from './jsonl-audit';
import { memoryAudit } from './memory-audit';

const allowTransfers = () => policyReviewer(parsePolicy({ version: 1, default: 'deny', rules: [{ id: 'ok', tools: ['transfer'], verdict: 'allow' }] }));

function gateWith(reviewer: Reviewer, extra: Partial<GateOptions> = {}) {
  const audit = memoryAudit();
  const gate = createGate({ reviewer, highStakes: ['transfer'], audit, telemetry: false, ...extra });
  return { gate, audit };
}

/** Settles with the gate's answer, or 'hung' if it has none after `ms` (a bound, not a measurement). */
const within = <T>(p: Promise<T>, ms = 3_000): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

describe('one parse shared by the policy reviewer and the record', () => {
  it('a reviewer spread from policyReviewer that changes the args it is handed: the record still holds the canonical args', async () => {
    const base = allowTransfers();
    const wrapped: Reviewer = {
      ...base,
      async review(request, options) {
        (request.call.args as { amount: number }).amount = 1;
        (request.call.args as Record<string, unknown>).injected = true;
        return base.review(request, options);
      },
    };
    const { gate, audit } = gateWith(wrapped);
    const args = { amount: 5000, to: 'acct_9' };
    const d = await gate.review({ tool: 'transfer', args });
    expect(d.digest).toBe(callDigest('transfer', args));
    expect(audit.records[0]!.call.args).toEqual(args);
    expect(audit.verify().ok).toBe(true);
  });

  it('a reviewer inheriting from policyReviewer (Object.create) that changes the args: the record holds the canonical args', async () => {
    const base = allowTransfers();
    const wrapped = Object.create(base) as Reviewer;
    wrapped.review = async (request, options) => {
      (request.call.args as { amount: number }).amount = 2;
      return base.review(request, options);
    };
    const { gate, audit } = gateWith(wrapped);
    await gate.review({ tool: 'transfer', args: { amount: 7000 } });
    expect(audit.records[0]!.call.args).toEqual({ amount: 7000 });
  });

  it('a policyReviewer whose review is swapped after the gate was made: the record holds the canonical args (or the swap is refused)', async () => {
    const base = allowTransfers();
    const { gate, audit } = gateWith(base);
    const original = base.review.bind(base);
    let swapped = true;
    try {
      (base as { review: Reviewer['review'] }).review = async (request: ReviewRequest, options) => {
        (request.call.args as { amount: number }).amount = 3;
        return original(request, options);
      };
    } catch {
      swapped = false; // refused: the policy reviewer's review cannot be replaced
    }
    await gate.review({ tool: 'transfer', args: { amount: 8000 } });
    expect(audit.records[0]!.call.args).toEqual({ amount: 8000 });
    expect(typeof swapped).toBe('boolean');
  });

  it('the policy reviewer itself: nested args, secrets and odd keys are sealed canonical and redacted; the caller’s object is untouched', async () => {
    const { gate, audit } = gateWith(allowTransfers());
    const args = { z: [3, { b: 1, a: 2 }], a: { password: 'hunter2hunter2', token: 'tok_live_abcdefghijkl' }, '__proto__x': 1, n: -0 };
    const before = JSON.stringify(args);
    const d = await gate.review({ tool: 'transfer', args });
    expect(JSON.stringify(args)).toBe(before);
    const rec = audit.records[0]!;
    expect(JSON.stringify(rec)).not.toContain('hunter2');
    expect(JSON.stringify(rec)).not.toContain('tok_live');
    expect(rec.call.digest).toBe(d.digest);
    expect((rec.call.args as { z: unknown }).z).toEqual([3, { a: 2, b: 1 }]);
    expect(audit.verify().ok).toBe(true);
  });
});

describe('the policy reviewer without a deadline timer', () => {
  it('a reviewer spread from policyReviewer that never answers still times out (fail closed), and its record is written', async () => {
    const base = allowTransfers();
    const slow: Reviewer = { ...base, review: () => new Promise(() => {}) };
    const { gate, audit } = gateWith(slow, { timeoutMs: 30 });
    const d = await within(gate.review({ tool: 'transfer', args: { amount: 1 } }));
    expect(d).not.toBe('hung');
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_TIMEOUT' } });
    expect(audit.records.map((r) => r.decision?.error?.code)).toEqual(['REVIEWER_TIMEOUT']);
  });

  it('a reviewer spread from policyReviewer, the caller aborts mid-review: REVIEWER_ABORTED, not a hang', async () => {
    const base = allowTransfers();
    const slow: Reviewer = { ...base, review: () => new Promise(() => {}) };
    const { gate } = gateWith(slow, { timeoutMs: 60_000 });
    const ac = new AbortController();
    const pending = gate.review({ tool: 'transfer', args: { amount: 1 } }, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('user cancelled')), 5).unref();
    const d = await within(pending);
    expect(d).not.toBe('hung');
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'REVIEWER_ABORTED' } });
  });

  it('a policy whose clock throws: a fail-closed deny, audited, never an allow', async () => {
    const reviewer = policyReviewer(parsePolicy({ version: 1, default: 'allow', rules: [] }), {
      now: () => {
        throw new Error('clock broke');
      },
    });
    const { gate, audit } = gateWith(reviewer);
    const d = await gate.review({ tool: 'transfer', args: { amount: 1 } });
    expect(d.verdict).toBe('deny');
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]!.decision).toMatchObject({ verdict: 'deny' });
  });

  it('a caller aborting from inside the policy review (its clock): the answer and the record agree', async () => {
    const ac = new AbortController();
    const reviewer = policyReviewer(parsePolicy({ version: 1, default: 'allow', rules: [] }), {
      now: () => {
        ac.abort(new Error('cancelled mid-review'));
        return Date.now();
      },
    });
    const { gate, audit } = gateWith(reviewer);
    const d = await gate.review({ tool: 'transfer', args: { amount: 1 } }, { signal: ac.signal });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]!.decision?.verdict).toBe(d.verdict);
    expect(audit.records[0]!.decision?.error?.code).toBe(d.error?.code);
  });
});

describe('memoryAudit behind an array Proxy', () => {
  async function filled(n = 4) {
    const { gate, audit } = gateWith(allowTransfers());
    for (let i = 0; i < n; i++) await gate.review({ tool: 'transfer', args: { amount: i + 1 } });
    expect(audit.verify().ok).toBe(true);
    return { gate, audit };
  }

  it('a nested edit of a record read through the array fails verify', async () => {
    const { audit } = await filled();
    (audit.records[1]!.call.args as { amount: number }).amount = 999;
    expect(audit.verify().ok).toBe(false);
  });

  it('a record replaced by an edited copy, by index, defineProperty, splice or fill, fails verify', async () => {
    const edits: Array<(r: ReturnType<typeof memoryAudit>['records']) => void> = [
      (r) => {
        r[2] = { ...r[2]!, call: { ...r[2]!.call, args: { amount: 1000 } } };
      },
      (r) => {
        Object.defineProperty(r, '2', { value: { ...r[2]!, kind: 'outcome' }, writable: true, enumerable: true, configurable: true });
      },
      (r) => {
        r.splice(1, 1);
      },
      (r) => {
        const copy = JSON.parse(JSON.stringify(r[0]));
        r.fill(copy, 3, 4);
      },
      (r) => {
        r.reverse();
      },
      (r) => {
        delete r[0];
      },
    ];
    for (const edit of edits) {
      const { audit } = await filled();
      edit(audit.records);
      expect(audit.verify().ok).toBe(false);
    }
  });

  it('reads that change nothing (spread, map, JSON, for..of, Object.keys) keep verify passing and show the sealed records', async () => {
    const { audit } = await filled();
    const viaSpread = [...audit.records];
    const viaJson = JSON.parse(JSON.stringify(audit.records)) as unknown[];
    expect(Object.keys(audit.records)).toEqual(['0', '1', '2', '3']);
    expect(viaJson).toEqual(viaSpread);
    expect(viaSpread.map((r) => (r.call.args as { amount: number }).amount)).toEqual([1, 2, 3, 4]);
    expect(audit.verify().ok).toBe(true);
  });

  it('trimming (length = 0) between writes: later records are kept and sealed, the trimmed slots never come back', async () => {
    const { gate, audit } = await filled(3);
    audit.records.length = 0;
    expect(audit.records).toHaveLength(0);
    expect(audit.records[0]).toBeUndefined();
    await gate.review({ tool: 'transfer', args: { amount: 42 } });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]!.seq).toBe(4);
    expect(audit.records[0]!.call.args).toEqual({ amount: 42 });
    audit.records.length = 0;
    audit.records.length = 3;
    expect(audit.records[0]).toBeUndefined();
    expect(audit.records[2]).toBeUndefined();
  });

  it('a trim from inside a write (a reviewer that trims the records while the gate decides) keeps the record of that decision', async () => {
    const audit = memoryAudit();
    const base = allowTransfers();
    const trimming: Reviewer = {
      name: 'trimming',
      review: async (request, options) => {
        audit.records.length = 0;
        return base.review(request, options);
      },
    };
    const gate = createGate({ reviewer: trimming, highStakes: ['transfer'], audit, telemetry: false });
    await gate.review({ tool: 'transfer', args: { amount: 1 } });
    await gate.review({ tool: 'transfer', args: { amount: 2 } });
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]!.call.args).toEqual({ amount: 2 });
    expect(audit.records[0]!.seq).toBe(2);
  });
});

describe('sealing sinks hold the decision as decided', () => {
  it('a caller mutating the returned Decision does not change the sealed record (memory and JSONL)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-perfattack-'));
    dirs.push(dir);
    const path = join(dir, 'audit.jsonl');
    const file = jsonlAudit(path, { fsync: 'never' });
    const mem = memoryAudit();
    const gate = createGate({ reviewer: allowTransfers(), highStakes: ['transfer'], audit: [mem, file] as AuditSink[], telemetry: false });
    const d = await gate.review({ tool: 'transfer', args: { amount: 5 } });
    (d as { verdict: string }).verdict = 'deny';
    (d as { reason: string }).reason = 'edited';
    d.conditions.push('x');
    await gate.close?.();
    expect(mem.records[0]!.decision).toMatchObject({ verdict: 'allow' });
    expect(mem.records[0]!.decision?.conditions).toEqual([]);
    expect(mem.verify().ok).toBe(true);
    const line = JSON.parse(readFileSync(path, 'utf8').trim().split('\n')[0]!) as { decision: { verdict: string } };
    expect(line.decision.verdict).toBe('allow');
    expect((await verifyAuditLog(path)).ok).toBe(true);
  });
});

describe('the JSONL sink after a write error', () => {
  it('a torn write is a deny, cut off the file; the next records chain on the last written one and the file verifies offline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-perfattack-'));
    dirs.push(dir);
    const path = join(dir, 'audit.jsonl');
    const file = jsonlAudit(path, { fsync: 'never' });
    const gate = createGate({ reviewer: allowTransfers(), highStakes: ['transfer'], audit: file, telemetry: false });
    const first = await gate.review({ tool: 'transfer', args: { amount: 1 } });
    faults.tornWrites = 1;
    const torn = await gate.review({ tool: 'transfer', args: { amount: 2 } });
    expect(faults.tornWrites).toBe(0);
    const third = await gate.review({ tool: 'transfer', args: { amount: 3 } });
    await gate.close?.();
    expect(first.verdict).toBe('allow');
    expect(torn.verdict).toBe('deny');
    expect(third.verdict).toBe('allow');
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    const records = lines.map((l) => JSON.parse(l) as { seq: number; call: { args: { amount: number } } });
    expect(records.map((r) => r.call.args.amount)).toEqual([1, 3]);
    expect(records.map((r) => r.seq)).toEqual([1, 2]);
    expect((await verifyAuditLog(path)).ok).toBe(true);
  });
});

describe('sinks built from the memory sink', () => {
  it('a sink spread from memoryAudit with its own append: the gate calls that append (it is not bypassed) and the Decision it gets cannot change the caller’s', async () => {
    const mem = memoryAudit();
    const shipped: unknown[] = [];
    const sink: AuditSink = {
      ...mem,
      append(entry) {
        if (entry.decision) (entry.decision as { verdict: string }).verdict = 'allow';
        (entry.call.args as { amount: number }).amount = 1;
        const r = mem.append(entry);
        shipped.push(r.seq);
        return r;
      },
    };
    const deny = policyReviewer(parsePolicy({ version: 1, default: 'deny', rules: [] }));
    const gate = createGate({ reviewer: deny, highStakes: ['transfer'], audit: sink, telemetry: false });
    const d = await gate.review({ tool: 'transfer', args: { amount: 5 } });
    expect(shipped).toEqual([1]);
    expect(d.verdict).toBe('deny');
    expect(d.args).toEqual({ amount: 5 });
  });

  it('a memory or JSONL sink whose append was wrapped (inherited or replaced before the gate) has the wrapper called', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'toolgate-perfattack-'));
    dirs.push(dir);
    const deny = policyReviewer(parsePolicy({ version: 1, default: 'deny', rules: [] }));
    const calls: string[] = [];
    const mem = memoryAudit();
    const child = Object.create(mem) as AuditSink;
    child.append = (entry) => {
      calls.push('inherited');
      return mem.append(entry);
    };
    const replaced = memoryAudit();
    const own = replaced.append.bind(replaced);
    (replaced as { append: AuditSink['append'] }).append = (entry) => {
      calls.push('replaced');
      return own(entry);
    };
    const file = jsonlAudit(join(dir, 'a.jsonl'), { fsync: 'never' });
    const fileWrapped: AuditSink = {
      ...file,
      append: (entry) => {
        calls.push('jsonl');
        if (entry.decision) (entry.decision as { verdict: string }).verdict = 'allow';
        return file.append(entry);
      },
    };
    for (const sink of [child, replaced, fileWrapped]) {
      const gate = createGate({ reviewer: deny, highStakes: ['transfer'], audit: sink, telemetry: false });
      expect((await gate.review({ tool: 'transfer', args: { amount: 5 } })).verdict).toBe('deny');
    }
    expect(calls).toEqual(['inherited', 'replaced', 'jsonl']);
    expect(mem.records).toHaveLength(1);
    expect(replaced.records).toHaveLength(1);
    await file.close();
  });
});
