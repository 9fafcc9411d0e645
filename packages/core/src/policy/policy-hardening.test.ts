import { describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { compilePolicy } from './compile-policy';
import { evaluatePolicy } from './evaluate-policy';
import { globMatch } from './glob-match';
import { memoryPolicyState } from './memory-policy-state';
import { parsePolicy } from './parse-policy';

const compile = (rules: unknown[], extra: Record<string, unknown> = {}) => compilePolicy(parsePolicy({ rules, ...extra }));

describe('policy: inputs an attacker chooses', () => {
  it('tool and agent globs match in linear time and across line breaks', () => {
    const compiled = compile(
      [
        { id: 'drop', tools: ['db.*'], verdict: 'deny' },
        { id: 'many-stars', tools: ['*a*a*a*a*a*a*b'], verdict: 'deny' },
        { id: 'bots', agents: ['bot-*-?'], tools: ['search'], verdict: 'review' },
      ],
      { default: 'allow' },
    );
    const run = (tool: string, agent?: string) => evaluatePolicy(compiled, { tool, args: {}, agent: agent ? { id: agent } : undefined, digest: 'sha256:x' });
    // A RegExp's `.` stops at a line break: `db.*` used to let "db.drop\n" through.
    expect(run('db.drop\n').verdict).toBe('deny');
    expect(run('db.drop').verdict).toBe('deny');
    expect(run('dbxdrop').verdict).toBe('allow');
    // `^.*a.*a.*a.*a.*a.*a.*b$` backtracks polynomially on 256 × "a"; globMatch is one pass.
    expect(run('a'.repeat(256)).verdict).toBe('allow');
    expect(run(`${'a'.repeat(250)}b`).verdict).toBe('deny');
    expect(run('search', 'bot-eu-1').verdict).toBe('review');
    expect(run('search', 'bot-eu-12').verdict).toBe('allow');
    expect(run('search', `bot-${'-'.repeat(100_000)}x!`).verdict).toBe('allow');
  });

  it('globMatch: * any run, ? one character, the rest literal', () => {
    expect(globMatch('*_delete', 'user_delete')).toBe(true);
    expect(globMatch('*_delete', 'user_delete_x')).toBe(false);
    expect(globMatch('a?c', 'abc')).toBe(true);
    expect(globMatch('a?c', 'ac')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a.b', 'axb')).toBe(false);
    expect(globMatch('**x', 'yyx')).toBe(true);
  });

  it('counters key on a trusted principal, so renaming agent.id per call does not reset them', () => {
    const compiled = compile([{ id: 'rate', tools: ['transfer'], limit: { max: 3, windowMs: 60_000, per: 'agent' }, verdict: 'deny' }], { default: 'allow' });
    const state = memoryPolicyState();
    const verdicts = Array.from({ length: 6 }, (_, i) => {
      const args = { amount: 1, n: i };
      return evaluatePolicy(
        compiled,
        { tool: 'transfer', args, agent: { id: `renamed-${i}` }, principal: 'key_abc', digest: callDigest('transfer', args) },
        { state, now: 1_000 },
      ).verdict;
    });
    expect(verdicts).toEqual(['allow', 'allow', 'allow', 'deny', 'deny', 'deny']);
    // Without a principal the claimed agent id keys the counter (in-process use, unchanged).
    const other = evaluatePolicy(compiled, { tool: 'transfer', args: {}, agent: { id: 'fresh' }, digest: 'sha256:y' }, { state, now: 1_000 });
    expect(other.verdict).toBe('allow');
  });

  it('arguments sent as a JSON text are read as what they encode', () => {
    const compiled = compile([{ id: 'big', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 100 }], verdict: 'deny' }], { default: 'allow' });
    const run = (args: unknown) => evaluatePolicy(compiled, { tool: 'transfer', args, digest: 'sha256:x' });
    expect(run('{"amount":5000}').verdict).toBe('deny');
    expect(run('  {"amount":5}').verdict).toBe('allow');
    expect(run('{"amount":').verdict).toBe('allow'); // not JSON: no field to read (a gate refuses such args earlier)
  });
});
