import { describe, expect, it } from 'vitest';
import { compileHighStakes } from './high-stakes';

describe('compileHighStakes', () => {
  it('matches exact names, globs and RegExps, and nothing else', () => {
    const m = compileHighStakes(['transfer', 'db.*', '*_delete', /^deploy(:|$)/, 'shel?']);
    for (const t of ['transfer', 'db.drop', 'db.users.drop', 'user_delete', 'deploy', 'deploy:prod', 'shell']) {
      expect(m(t), t).toBe(true);
    }
    for (const t of ['transfers', 'mydb.drop', 'user_deleted', 'redeploy', 'search', 'db', 'shells']) {
      expect(m(t), t).toBe(false);
    }
  });

  it('a glob spans line breaks: a tool name with a trailing newline cannot step around db.*', () => {
    const m = compileHighStakes(['db.*', '*_delete', 'shel?']);
    expect(m('db.drop\n')).toBe(true);
    expect(m('db.\ndrop')).toBe(true);
    expect(m('user\n_delete')).toBe(true);
    expect(m('shel\n')).toBe(true);
  });

  it('matches many-star globs without backtracking on an agent-chosen name', () => {
    // As a RegExp (^a.*a.*a.*a.*a.*a.*b$) this name takes ~n^6 steps and never returns.
    const m = compileHighStakes(['a*a*a*a*a*a*b']);
    expect(m('a'.repeat(5_000))).toBe(false);
    expect(m(`${'a'.repeat(5_000)}b`)).toBe(true);
  });

  it('treats regex metacharacters in names literally', () => {
    const m = compileHighStakes(['a+b', 'x.y']);
    expect(m('a+b')).toBe(true);
    expect(m('aab')).toBe(false);
    expect(m('xzy')).toBe(false);
  });

  it('answers the same on every call for global RegExps', () => {
    const m = compileHighStakes([/deploy/g]);
    expect([m('deploy'), m('deploy'), m('deploy')]).toEqual([true, true, true]);
  });

  it('evaluates { tool, when } predicates on the args, and a throwing predicate is high-stakes', () => {
    const m = compileHighStakes([
      { tool: 'transfer', when: (a) => (a as { amount: number }).amount > 100 },
      { tool: 'http.*', when: () => { throw new Error('boom'); } },
    ]);
    expect(m('transfer', { amount: 500 })).toBe(true);
    expect(m('transfer', { amount: 5 })).toBe(false);
    expect(m('http.get', {})).toBe(true);
    expect(m('search', {})).toBe(false);
  });

  it('default-deny form makes unknown tools high-stakes', () => {
    const m = compileHighStakes({ all: true, except: ['search', 'read.*'] });
    expect(m('search')).toBe(false);
    expect(m('read.file')).toBe(false);
    expect(m('never_heard_of_it')).toBe(true);
    expect(m('')).toBe(true);
  });

  it('refuses malformed specs with OPTIONS_INVALID', () => {
    expect(() => compileHighStakes([42 as unknown as string])).toThrow(
      expect.objectContaining({ code: 'OPTIONS_INVALID' }),
    );
    expect(() => compileHighStakes({ all: false } as never)).toThrow(/all: true/);
    expect(() => compileHighStakes([''])).toThrow(/empty/);
  });
});
