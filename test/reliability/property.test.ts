/**
 * Property tests (fast-check) for the policy engine and the high-stakes matcher.
 */
import fc from 'fast-check';
import {
  callbackReviewer,
  callDigest,
  compileHighStakes,
  compilePolicy,
  createGate,
  evaluatePolicy,
  globToRegExp,
  parsePolicy,
  policyReviewer,
  type Reviewer,
} from '@toolgate/core';
import { describe, expect, it } from 'vitest';

const RANK = { allow: 0, allow_with_conditions: 1, review: 2, deny: 3 } as const;
type V = keyof typeof RANK;
const TOOLS = ['transfer', 'shell', 'deploy', 'lookup'];

const verdictArb = fc.constantFrom<V>('allow', 'allow_with_conditions', 'review', 'deny');
const conditionArb = fc.record({ field: fc.constant('args.amount'), op: fc.constantFrom('gt', 'lte', 'eq'), value: fc.integer({ min: 0, max: 20 }) });
const ruleArb = fc.record({
  tools: fc.option(fc.subarray(TOOLS, { minLength: 1 }), { nil: undefined }),
  when: fc.array(conditionArb, { maxLength: 2 }),
  verdict: verdictArb,
});

type RuleValue = { tools: string[] | undefined; when: Array<{ field: string; op: "gt" | "lte" | "eq"; value: number }>; verdict: V };

/** Reference semantics: a rule matches when its tools (if any) include the tool and every condition holds. */
function referenceVerdict(rules: Array<RuleValue>, fallback: V | undefined, tool: string, amount: number): V | null {
  let best: V | null = null;
  for (const r of rules) {
    if (r.tools && !r.tools.includes(tool)) continue;
    const holds = r.when.every((c) => (c.op === 'gt' ? amount > c.value : c.op === 'lte' ? amount <= c.value : amount === c.value));
    if (!holds) continue;
    if (best === null || RANK[r.verdict] > RANK[best]) best = r.verdict;
  }
  return best ?? fallback ?? null;
}

const toPolicy = (rules: Array<RuleValue>, fallback: V | undefined) =>
  parsePolicy({
    version: 1,
    ...(fallback ? { default: fallback } : {}),
    ...(fallback === 'allow_with_conditions' ? { defaultConditions: ['log it'] } : {}),
    rules: rules.map((r, i) => ({
      id: `r${i}`,
      ...(r.tools ? { tools: r.tools } : {}),
      ...(r.when.length ? { when: r.when } : {}),
      verdict: r.verdict,
      ...(r.verdict === 'allow_with_conditions' ? { conditions: [`condition of r${i}`] } : {}),
    })),
  });

describe('policy engine properties', () => {
  it('most-restrictive-wins holds for any rule set (deny > review > allow_with_conditions > allow, else default)', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 12 }), fc.option(verdictArb, { nil: undefined }), fc.constantFrom(...TOOLS), fc.integer({ min: 0, max: 20 }), (rules, fallback, tool, amount) => {
        const compiled = compilePolicy(toPolicy(rules, fallback));
        const args = { amount };
        const result = evaluatePolicy(compiled, { tool, args, digest: callDigest(tool, args) });
        expect(result.verdict).toBe(referenceVerdict(rules, fallback, tool, amount));
        // Adding a matching deny rule can only make the answer deny.
        const stricter = compilePolicy(toPolicy([...rules, { tools: undefined, when: [], verdict: 'deny' }], fallback));
        expect(evaluatePolicy(stricter, { tool, args, digest: callDigest(tool, args) }).verdict).toBe('deny');
      }),
      { numRuns: 300 },
    );
  });

  it('no rule set lets a default-deny gate pass an unlisted tool without asking the reviewer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(ruleArb, { maxLength: 8 }),
        fc.string({ minLength: 1, maxLength: 12 }).filter((t) => t !== 'lookup'),
        fc.integer({ min: 0, max: 20 }),
        async (rules, tool, amount) => {
          let asked = 0;
          const policy = policyReviewer(toPolicy(rules, 'deny'));
          const counting: Reviewer = { name: 'counting', review: (req, o) => (asked++, policy.review(req, o)) };
          const gate = createGate({ reviewer: counting, highStakes: { all: true, except: ['lookup'] }, telemetry: false });
          const d = await gate.review({ tool, args: { amount } });
          expect(asked).toBe(1);
          expect(d.source).not.toBe('not_high_stakes');
          // Whatever it decided, it decided what the policy says (an unmatched tool meets the default deny).
          const want = referenceVerdict(rules, 'deny', tool, amount);
          expect(d.verdict).toBe(want);
          await gate.close();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a gate never runs the reviewer for a tool it was not told is high-stakes, and always for one it was', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.constantFrom(...TOOLS), { maxLength: 4 }), fc.constantFrom(...TOOLS), async (listed, tool) => {
        let asked = 0;
        const gate = createGate({ reviewer: callbackReviewer(() => (asked++, { verdict: 'deny' })), highStakes: listed, telemetry: false });
        const d = await gate.review({ tool, args: {} });
        expect(asked).toBe(listed.includes(tool) ? 1 : 0);
        expect(d.verdict).toBe(listed.includes(tool) ? 'deny' : 'allow');
        await gate.close();
      }),
      { numRuns: 100 },
    );
  });
});

/** Reference glob matcher over UTF-16 code units: `*` any run (incl. empty), `?` one unit. */
function globMatch(glob: string, s: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (i: number, j: number): boolean => {
    const k = `${i},${j}`;
    const hit = memo.get(k);
    if (hit !== undefined) return hit;
    let r: boolean;
    if (i === glob.length) r = j === s.length;
    else if (glob[i] === '*') r = go(i + 1, j) || (j < s.length && go(i, j + 1));
    else if (j < s.length && (glob[i] === '?' || glob[i] === s[j])) r = go(i + 1, j + 1);
    else r = false;
    memo.set(k, r);
    return r;
  };
  return go(0, 0);
}

describe('matcher properties', () => {
  const alphabet = fc.constantFrom('a', 'b', '.', '_', '-', '$', '(', '[', '+', '\\', 'é', '💸', '\n');
  const name = fc.array(alphabet, { maxLength: 8 }).map((a) => a.join(''));
  const glob = fc.array(fc.oneof(alphabet, fc.constant('*'), fc.constant('?')), { maxLength: 8 }).map((a) => a.join(''));

  it('globToRegExp agrees with a reference glob implementation', () => {
    fc.assert(
      fc.property(glob, name, (g, s) => {
        expect(globToRegExp(g).test(s)).toBe(globMatch(g, s));
      }),
      { numRuns: 2_000 },
    );
  });

  it('compileHighStakes(list) matches exactly the names some entry matches, on every call (cache included)', () => {
    fc.assert(
      fc.property(fc.array(glob.filter((g) => g.length > 0), { maxLength: 5 }), fc.array(name.filter((n) => n.length > 0), { maxLength: 10 }), (globs, names) => {
        const matches = compileHighStakes(globs);
        for (const n of [...names, ...names]) expect(matches(n)).toBe(globs.some((g) => globMatch(g, n)));
      }),
      { numRuns: 500 },
    );
  });

  it('{ all: true, except } is exactly the complement of the except list', () => {
    fc.assert(
      fc.property(fc.array(glob.filter((g) => g.length > 0), { maxLength: 4 }), name.filter((n) => n.length > 0), (except, n) => {
        expect(compileHighStakes({ all: true, except })(n)).toBe(!except.some((g) => globMatch(g, n)));
      }),
      { numRuns: 500 },
    );
  });
});
