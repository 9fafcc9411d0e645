import type { Decision } from '../types';

interface Entry {
  decision: Decision;
  executed: boolean;
  /** For a reviewer's answer: the order in which the gate asked for it (see `set`). */
  asked?: number;
}

/** How many keys each tier of the decision cache keeps (at least half of each, at most all). */
export interface DecisionCacheSizes {
  /** A reviewer's answer not yet run: the gate can ask again, and gets the same answer. */
  brief: number;
  /** What the gate cannot ask for again: an execution, a human's answer. */
  lasting: number;
}

/**
 * Conclusive Decisions by idempotency key, so a framework that re-executes a call (a resumed
 * RunState, a LangGraph node re-run) gets the same Decision without a second review, and a call
 * that already ran cannot be authorised again.
 *
 * Two tiers. A reviewer's answer that has not run yet is kept `brief`ly: when it is gone, a
 * re-execution asks the reviewer again (as on a restart without a ledger), which is what the cache
 * saves, not what it guarantees. What cannot be asked for again is `lasting`: an execution (the
 * claim that stops a second run) and a human's answer (approve, reject, the deny of a call edited
 * into another). A key's lasting entry wins over its brief one, and a key moves to the lasting tier
 * when it runs. Keeping every unexecuted answer as long as the executions made the young-generation
 * GC copy ~1 KB per review for nothing (issue 13: ~2 µs of a ~6 µs review, measured).
 *
 * Each tier has two generations: new entries go to `young`; when it holds half the tier it becomes
 * `old` and the previous `old` is dropped. A hit in `old` moves back to `young`. Every operation
 * is O(1) — evicting the first key of one big Map instead makes V8 walk the holes left by earlier
 * deletes, which showed up as a third of the gate's time under churn.
 */
export function decisionCache(sizes: DecisionCacheSizes) {
  /** Counts writes to either tier: a key missed at one count is still absent while the count is unchanged. */
  let writes = 0;
  const brief = generations(sizes.brief, () => writes++);
  const lasting = generations(sizes.lasting, () => writes++);

  /** Moves `key` to the lasting tier as `entry` (out of the brief one). */
  const toLasting = (key: string, entry: Entry) => {
    brief.remove(key);
    lasting.put(key, entry);
  };

  // Each write is a new Entry (never changed in place: a caller may hold the previous one across
  // an await), and a key seen nowhere costs three Map lookups and one insert.
  return {
    get: (key: string): Entry | undefined => lasting.get(key) ?? brief.get(key),
    /** A mark to pass to `set` after a `get` that missed: `set` then skips its own lookups if nothing was written since. */
    mark: (): number => writes,
    /**
     * A conclusive answer for `key`, with the order of the ask it answers (`asked`). A reviewer's
     * answer is brief; a human's answer, an edit or a final no is lasting, and so is any answer for
     * a key already lasting (it keeps the key's executed mark). Never replaced: a human's answer by
     * a reviewer's, a final no by anything but a deny, a later ask's answer by an earlier ask's.
     */
    set(key: string, decision: Decision, missedAt?: number, asked?: number) {
      // Human answers, edits and final noes (an expiry the reviewer answered) are lasting.
      const lastingAnswer = decision.source === 'human' || decision.edited !== undefined || isFinalNo(decision);
      if (missedAt === writes && !lastingAnswer) {
        brief.add(key, asked === undefined ? { decision, executed: false } : { decision, executed: false, asked });
        return;
      }
      const held = lasting.get(key);
      // A human's answer is replaced only by another human's: a reviewer's answer that lands after
      // it (asked before the human answered) does not undo a reject. A final no is never replaced.
      if (held !== undefined && ((held.decision.source === 'human' && decision.source !== 'human') || overrules(held.decision, decision))) return;
      if (held !== undefined || lastingAnswer) {
        toLasting(key, { decision, executed: held?.executed ?? brief.get(key)?.executed ?? false });
        return;
      }
      // Two asks of one call in flight (a framework re-ran it across a policy change): the answer to
      // the later ask stands, whichever arrives last.
      const prev = brief.get(key);
      if (prev !== undefined && asked !== undefined && prev.asked !== undefined && prev.asked > asked) return;
      const entry: Entry = { decision, executed: prev?.executed ?? false };
      if (asked !== undefined) entry.asked = asked;
      brief.put(key, entry);
    },
    /** True when the answer held for `key` was asked for after `asked` (a later ask of the same call). */
    askedLater(key: string, asked: number): boolean {
      const held = brief.get(key);
      return held?.asked !== undefined && held.asked > asked;
    },
    /** A human's answer for `key` (or the deny that supersedes an edited call): kept lasting, with the key's executed mark. */
    keep(key: string, decision: Decision) {
      const held = lasting.get(key) ?? brief.get(key);
      if (held !== undefined && overrules(held.decision, decision)) return;
      toLasting(key, { decision, executed: held?.executed ?? false });
    },
    /**
     * Marks `key` executed (keeping the Decision already held for it, else `decision`) and returns
     * the entry as it was before, like a `get` then the mark. An entry already marked executed is
     * left as it is (the write would store the same contents).
     */
    markExecuted(key: string, decision: Decision): Entry | undefined {
      const held = lasting.get(key);
      if (held !== undefined) {
        if (!held.executed) lasting.put(key, { decision: held.decision, executed: true });
        return held;
      }
      const aged = brief.get(key);
      toLasting(key, { decision: aged?.decision ?? decision, executed: true });
      return aged;
    },
    /**
     * The claim of one execution in this process: `'ran'` when `key` already ran, `'overruled'` when
     * the gate's answer held for `key` does not allow this call (a human's reject, the original of
     * an edited call, a later answer that denies, an allow for other arguments) — nothing is
     * written for either — else `'claimed'`: marked executed as `markExecuted` does.
     */
    claim(key: string, decision: Decision): 'claimed' | 'ran' | 'overruled' {
      const held = lasting.get(key) ?? brief.get(key);
      if (held !== undefined) {
        // One execution per key, whatever the digest (a human's edit on the reviewer answers under
        // the original key with the edited digest: once either ran, neither runs again).
        if (held.executed) return 'ran';
        // The gate's answer for the key is not this allow: a no, or an allow for other arguments.
        if ((held.decision.verdict !== 'allow' && held.decision.verdict !== 'allow_with_conditions') || held.decision.digest !== decision.digest) return 'overruled';
        toLasting(key, { decision: held.decision, executed: true });
        return 'claimed';
      }
      lasting.add(key, { decision, executed: true });
      return 'claimed';
    },
  };
}

/**
 * True when `held` is a final no that `next` must not replace: a human's reject (or the deny of a
 * call edited into another) or an expiry, replaced by anything but another no.
 */
export function overrules(held: Decision, next: Decision): boolean {
  return isFinalNo(held) && next.verdict !== 'deny';
}

/** A human's no (a reject, an edited call's original) or a review nobody answered in time. */
export function isFinalNo(d: Decision): boolean {
  return d.verdict === 'deny' && (d.source === 'human' || d.error?.code === 'REVIEW_EXPIRED');
}

/** One tier: two generations of at most `max / 2` keys each. `wrote` is called on every write. */
function generations(max: number, wrote: () => void) {
  const half = Math.max(1, Math.floor(max / 2));
  let young = new Map<string, Entry>();
  let old = new Map<string, Entry>();
  /** A key not in `young` goes in, aging `young` first when it is full. */
  const add = (key: string, entry: Entry) => {
    wrote();
    if (young.size >= half) {
      old = young;
      young = new Map();
    }
    young.set(key, entry);
  };
  return {
    add,
    /** The entry for `key`; a hit in `old` moves back to `young`. */
    get(key: string): Entry | undefined {
      const hit = young.get(key);
      if (hit !== undefined) return hit;
      if (old.size === 0) return undefined;
      const aged = old.get(key);
      if (aged !== undefined) {
        old.delete(key);
        add(key, aged);
      }
      return aged;
    },
    /** Writes `entry` for `key`, wherever the key was. */
    put(key: string, entry: Entry) {
      if (young.has(key)) {
        wrote();
        young.set(key, entry);
        return;
      }
      if (old.delete(key)) wrote();
      add(key, entry);
    },
    remove(key: string) {
      if (young.delete(key) || old.delete(key)) wrote();
    },
  };
}
