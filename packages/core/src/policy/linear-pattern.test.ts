import { fileURLToPath } from 'node:url';
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../errors';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { compileCondition } from './conditions';
import { evaluatePolicy } from './evaluate-policy';
import { compileLinearPattern } from './linear-pattern';
import { loadPolicySync } from './load-policy';
import { memoryPolicyState } from './memory-policy-state';
import { parsePolicy } from './parse-policy';
import { policyReviewer } from './policy-reviewer';

const EXAMPLE = fileURLToPath(new URL('./examples/example-policy.yaml', import.meta.url));
const DEMO = fileURLToPath(new URL('../../../../examples/demo/policy.yaml', import.meta.url));

/**
 * These inputs are what an attacker sends to stall a backtracking engine: with `new RegExp` the
 * evaluation below never returns (exponential) or takes tens of seconds (quadratic, 80 KB). With
 * RE2 each is a single linear pass. No wall-clock assertion: a regression hangs the test.
 */
const CATASTROPHIC = `${'a'.repeat(5000)}!`;
const RM_FLOOD = `rm -${'r'.repeat(80 * 1024)}`;

describe('policy matches: a linear-time engine (ReDoS)', () => {
  it('compiles matches patterns for RE2, once, at policy load', () => {
    const c = compileCondition({ field: 'args.command', op: 'matches', value: '(a+)+$' });
    expect(c.pattern).toBeInstanceOf(RE2JS);
    expect(compileLinearPattern('x', 'imsu')).toBeInstanceOf(RE2JS);
  });

  it('evaluates a known-catastrophic pattern on adversarial input', () => {
    const compiled = compilePolicy(
      parsePolicy({
        version: 1,
        default: 'allow',
        rules: [{ id: 'evil', tools: ['shell'], when: [{ field: 'args.command', op: 'matches', value: '(a+)+$' }], verdict: 'deny' }],
      }),
    );
    const run = (command: string) => evaluatePolicy(compiled, { tool: 'shell', args: { command }, digest: callDigest('shell', { command }) });
    expect(run(CATASTROPHIC).verdict).toBe('allow');
    expect(run('baaaa').verdict).toBe('deny');
  });

  it('the example policy stays fast on an 80 KB rm -rrrr… flood, and still denies rm -rf', () => {
    const compiled = compilePolicy(loadPolicySync(EXAMPLE));
    const run = (command: string) => {
      const args = { command };
      return evaluatePolicy(compiled, { tool: 'shell', args, agent: { id: 'a' }, digest: callDigest('shell', args) }, { state: memoryPolicyState() });
    };
    expect(run(RM_FLOOD)).toMatchObject({ verdict: 'review', matchedRules: ['shell-review'] });
    expect(run(`${RM_FLOOD}f`).matchedRules[0]).toBe('shell-rm-rf');
    for (const cmd of ['rm -rf /', 'rm -fr x', 'RM -Rvf x', 'rm -vfr x', 'rm -r -f x', 'rm --force --recursive x']) {
      expect(run(cmd).matchedRules[0], cmd).toBe('shell-rm-rf');
    }
    for (const cmd of ['rm -r x', 'rm -f x', 'rm -rv x', 'firm -rf x']) expect(run(cmd).matchedRules[0], cmd).toBe('shell-review');
  });

  it('the demo policy uses the same linear pattern', () => {
    const compiled = compilePolicy(loadPolicySync(DEMO));
    const run = (cmd: string) => {
      const args = { cmd };
      return evaluatePolicy(compiled, { tool: 'shell', args, agent: { id: 'a' }, digest: callDigest('shell', args) }, { state: memoryPolicyState() });
    };
    expect(run(`rm -${'r'.repeat(80 * 1024)}`).matchedRules[0]).toBe('shell-review');
    expect(run('sudo rm -Rvf /').matchedRules[0]).toBe('shell-rm-rf');
  });

  it('a local policyReviewer answers on adversarial input (the event loop is never held)', async () => {
    const reviewer = policyReviewer({
      version: 1,
      default: 'allow',
      rules: [{ id: 'evil', tools: ['shell'], when: [{ field: 'args.command', op: 'matches', value: '^(a|a)*$' }], verdict: 'deny' }],
    });
    const args = { command: CATASTROPHIC };
    const answer = await reviewer.review({ call: { tool: 'shell', args }, digest: callDigest('shell', args) } as Parameters<typeof reviewer.review>[0], { signal: new AbortController().signal, deadline: Date.now() + 5000 });
    expect(answer.verdict).toBe('allow');
  });

  it('a pattern RE2 cannot run in linear time is a load-time error naming the rule', () => {
    for (const value of ['(?=x)y', '(?<!x)y', '(a)\\1', '(?<q>a)\\k<q>']) {
      const load = () =>
        parsePolicy({ version: 1, rules: [{ id: 'no-lookaround', when: [{ field: 'args.s', op: 'matches', value }], verdict: 'deny' }] });
      expect(load, value).toThrow(PolicyError);
      try {
        load();
      } catch (error) {
        const issues = (error as PolicyError).issues;
        expect(issues[0]).toMatch(/^rules\[0\]\.when\[0\]\.value: rule "no-lookaround": pattern .*lookahead, lookbehind or a backreference/);
      }
    }
  });
});

describe('compileLinearPattern', () => {
  it('accepts JavaScript spellings RE2 can run, and refuses only what needs backtracking', () => {
    expect(compileLinearPattern('(?<word>\\w+)-\\u0041').test('x-A')).toBe(true);
    expect(compileLinearPattern('C:\\\\1').test('C:\\1')).toBe(true); // an escaped backslash, then 1
    expect(compileLinearPattern('[(?=]').test('=')).toBe(true);
    expect(compileLinearPattern('a.b', 's').test('a\nb')).toBe(true);
    expect(compileLinearPattern('^b', 'm').test('a\nb')).toBe(true);
    expect(() => compileLinearPattern('(?<n>a)\\k<n>')).toThrow(/backreference/);
    expect(() => compileLinearPattern('x(?!y)')).toThrow(/lookahead/);
    expect(() => compileLinearPattern('rm (')).toThrow(/invalid regular expression/);
    expect(() => compileLinearPattern('x', 'g')).toThrow(/unknown regex flag/);
  });
});
