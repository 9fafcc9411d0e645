import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { parsePolicy } from './parse-policy';
import { policyReviewer } from './policy-reviewer';

const KEY = 'sk-live-4f9a8b7c6d5e4f3a2b1c';

function evaluate(rules: unknown[], args: Record<string, unknown>) {
  const compiled = compilePolicy(parsePolicy({ version: 1, default: 'allow', rules }));
  return evaluatePolicy(compiled, { tool: 'call_api', args, digest: callDigest('call_api', args) });
}

/** Everything a decision carries that is stored or shown downstream. */
const shown = (r: ReturnType<typeof evaluate>) => JSON.stringify({ reason: r.reason, evaluated: r.evaluated });

describe('policy evaluation never reports a secret field\'s value', () => {
  it('a rule on args.api_key decides on the raw key but reports [REDACTED] in reason, actual and expected', () => {
    const r = evaluate([{ id: 'live-key', when: [{ field: 'args.api_key', op: 'eq', value: KEY }], verdict: 'deny' }], { api_key: KEY, q: 'x' });
    expect(r.verdict).toBe('deny'); // the comparison saw the real value
    expect(r.evaluated[0]).toMatchObject({ field: 'args.api_key', op: 'eq', expected: '[REDACTED]', actual: '[REDACTED]', passed: true });
    expect(r.reason).toBe('rule "live-key" (deny): args.api_key eq [REDACTED] (actual [REDACTED])');
    expect(shown(r)).not.toContain('4f9a8b7c');
  });

  it('a pattern on a secret field stays readable, the value does not; failing checks are redacted too', () => {
    const r = evaluate(
      [
        { id: 'live-pattern', when: [{ field: 'args.apiKey', op: 'matches', value: '^sk-live-' }], verdict: 'review' },
        { id: 'other', when: [{ field: 'args.AWS_SECRET_ACCESS_KEY', op: 'in', value: ['a', 'b'] }], verdict: 'deny' },
      ],
      { apiKey: KEY, AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMIK7MDENG' },
    );
    expect(r.verdict).toBe('review');
    expect(r.reason).toBe('rule "live-pattern" (review): args.apiKey matches ^sk-live- (actual [REDACTED])');
    expect(r.evaluated[1]).toMatchObject({ field: 'args.AWS_SECRET_ACCESS_KEY', expected: '[REDACTED]', actual: '[REDACTED]', passed: false });
    expect(shown(r)).not.toMatch(/4f9a8b7c|wJalrXUtn/);
  });

  it('credentials inside other values are redacted where they are shown', () => {
    const cmd = 'curl -H "Authorization: Bearer abc123def456" https://api.example.com';
    const r = evaluate(
      [
        { id: 'curl', tools: ['call_api'], when: [{ field: 'args.command', op: 'matches', value: '^curl ' }], verdict: 'review' },
        { id: 'hdrs', when: [{ field: 'args.headers', op: 'ne', value: {} }], verdict: 'review' },
      ],
      { command: cmd, headers: { 'x-session-id': 's-42', accept: 'json' } },
    );
    expect(r.verdict).toBe('review');
    expect(r.evaluated[0]!.actual).toBe('curl -H "Authorization: [REDACTED]" https://api.example.com');
    expect(r.evaluated[1]!.actual).toEqual({ 'x-session-id': '[REDACTED]', accept: 'json' });
    expect(shown(r)).not.toMatch(/abc123def456|s-42/);
  });

  it('policyReviewer answers with the redacted reason and checks', async () => {
    const reviewer = policyReviewer({ version: 1, rules: [{ id: 'key', when: [{ field: 'args.db.password', op: 'ne', value: '' }], verdict: 'deny' }] });
    const args = { db: { password: 'hunter2-very-secret' } };
    const answer = await reviewer.review({ call: { tool: 'connect', args }, digest: callDigest('connect', args) } as Parameters<typeof reviewer.review>[0], { signal: new AbortController().signal, deadline: Date.now() + 5000 });
    expect(answer.verdict).toBe('deny');
    expect(JSON.stringify(answer)).not.toContain('hunter2');
  });
});

describe('shown actual values are bounded (one agent-chosen value, many rules)', () => {
  it('a 1 MB string is cut at a word boundary, an oversized list is summarised; decisions use the whole value', () => {
    const big = `${'x'.repeat(1000)} sk-abcdefghijklmnopqrstuvwxyz0123456789 ${'y'.repeat(1024 * 1024)}`;
    const rules: unknown[] = Array.from({ length: 50 }, (_, i) => ({ id: `r${i}`, when: [{ field: 'args.cmd', op: 'contains', value: `#${i}#` }], verdict: 'deny' }));
    rules.push({ id: 'tail', when: [{ field: 'args.cmd', op: 'matches', value: 'y{1000}$' }], verdict: 'review' });
    rules.push({ id: 'list', when: [{ field: 'args.items', op: 'contains', value: 49_999 }], verdict: 'review' });
    const r = evaluate(rules, { cmd: big, items: Array.from({ length: 50_000 }, (_, i) => i) });
    expect(r.verdict).toBe('review');
    expect(r.matchedRules).toEqual(['tail', 'list']);
    const shownCmd = r.evaluated.find((c) => c.rule === 'tail')!.actual as string;
    // Cut before the token that straddles 1024 characters: no half of it is shown.
    expect(shownCmd).toMatch(/^x{1000} …\[\+\d+ chars\]$/);
    expect(r.evaluated.find((c) => c.rule === 'list')!.actual).toBe('[Array(50000)]');
    expect(JSON.stringify(r.evaluated).length).toBeLessThan(100_000);
  });
});
