/**
 * Adversarial inputs: arguments that are not JSON, 10 MB arguments, prototype-pollution keys (in
 * args and in policy fields), odd Unicode tool names. The gate must deny or decide cleanly, never
 * throw out of review(), never run a body it did not allow, and keep the audit chain intact.
 */
import { callbackReviewer, compilePolicy, createGate, evaluatePolicy, callDigest, memoryAudit, parsePolicy, policyReviewer, type FailMode } from '@toolgate/core';
import { afterEach, describe, expect, it } from 'vitest';

afterEach(() => {
  // Nothing may have polluted Object.prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).x).toBeUndefined();
});

function setup(failMode: FailMode, highStakes: Parameters<typeof createGate>[0]['highStakes'] = ['transfer']) {
  let asked = 0;
  const audit = memoryAudit();
  const gate = createGate({ reviewer: callbackReviewer(() => (asked++, { verdict: 'allow', decidedBy: 'policy' })), highStakes, failMode, audit, telemetry: false });
  return { gate, audit, asked: () => asked };
}

const circular = (): Record<string, unknown> => {
  const o: Record<string, unknown> = { amount: 1 };
  o.self = o;
  return o;
};

describe.each(['closed', 'open'] as const)('adversarial arguments (failMode %s)', (mode) => {
  const cases: Array<[string, () => unknown, string]> = [
    ['a BigInt', () => ({ amount: 10n }), 'ARGS_NOT_JSON'],
    ['a circular object', circular, 'ARGS_NOT_JSON'],
    ['a JSON string that is not JSON', () => '{"amount": 1', 'ARGS_NOT_JSON'],
    ['10 MB of arguments', () => ({ memo: 'x'.repeat(10 * 1024 * 1024) }), 'ARGS_TOO_LARGE'],
    ['a 10 MB JSON string', () => JSON.stringify({ memo: 'y'.repeat(10 * 1024 * 1024) }), 'ARGS_TOO_LARGE'],
  ];
  for (const [what, args, code] of cases) {
    it(`${what}: denied (${code}) whatever the fail mode, reviewer not asked, one audit record`, async () => {
      const { gate, audit, asked } = setup(mode);
      const d = await gate.review({ tool: 'transfer', args: args(), callId: 'c1' });
      expect(d).toMatchObject({ verdict: 'deny', error: { code } });
      expect(asked()).toBe(0);
      expect(audit.records).toHaveLength(1);
      expect(audit.records[0]!.decision?.error?.code).toBe(code);
      expect(audit.verify().ok).toBe(true);
      await expect(gate.enforce({ tool: 'transfer', args: args(), callId: 'c2' })).rejects.toMatchObject({ code: 'DENIED' });
      await gate.close();
    });
  }
});

describe('prototype-pollution keys', () => {
  const nasty = '{"amount": 5, "__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}';

  it('in args (object and JSON string): reviewed as data, digest stable, audit verifies, nothing polluted', async () => {
    const { gate, audit, asked } = setup('closed');
    const asObject = JSON.parse(nasty) as unknown;
    const d1 = await gate.review({ tool: 'transfer', args: asObject, callId: 'a' });
    const d2 = await gate.review({ tool: 'transfer', args: nasty, callId: 'b' });
    expect(asked()).toBe(2);
    expect(d1.verdict).toBe('allow');
    expect(d1.digest).toBe(d2.digest);
    expect(d1.digest).toBe(callDigest('transfer', asObject));
    expect(audit.verify().ok).toBe(true);
    expect(JSON.stringify(audit.records[0]!.call.args)).toContain('__proto__');
    await gate.close();
  });

  it('in policy fields: a condition on args.__proto__ / args.constructor never reads the prototype chain', () => {
    const policy = compilePolicy(
      parsePolicy({
        version: 1,
        default: 'deny',
        rules: [
          { id: '__proto__', tools: ['transfer'], when: [{ field: 'args.__proto__.polluted', op: 'eq', value: true }], verdict: 'allow' },
          { id: 'constructor', tools: ['transfer'], when: [{ field: 'args.constructor.name', op: 'eq', value: 'Object' }], verdict: 'allow' },
          { id: 'toString', tools: ['transfer'], when: [{ field: 'args.toString', op: 'exists' }], verdict: 'allow' },
        ],
      }),
    );
    for (const args of [{ amount: 1 }, JSON.parse(nasty) as unknown]) {
      const r = evaluatePolicy(policy, { tool: 'transfer', args, digest: callDigest('transfer', args) });
      // The inherited Object.prototype / constructor are never seen as the caller's data.
      expect(r.matchedRules).not.toContain('constructor');
      expect(r.matchedRules).not.toContain('toString');
    }
  });

  it('through policyReviewer in a gate: still denied by default, audit verifies', async () => {
    const audit = memoryAudit();
    const gate = createGate({
      reviewer: policyReviewer({ version: 1, default: 'deny', rules: [{ id: 'ctor', tools: ['transfer'], when: [{ field: 'args.constructor.name', op: 'eq', value: 'Object' }], verdict: 'allow' }] }),
      highStakes: ['transfer'],
      audit,
      telemetry: false,
    });
    const d = await gate.review({ tool: 'transfer', args: { amount: 1 }, callId: 'c' });
    expect(d.verdict).toBe('deny');
    expect(audit.verify().ok).toBe(true);
    await gate.close();
  });
});

describe('odd Unicode tool names', () => {
  const names = [
    ['RTL override', 'trans\u202Efer'],
    ['zero-width space', 'trans\u200Bfer'],
    ['zero-width joiner', 'trans\u200Dfer'],
    ['emoji', '💸transfer'],
    ['combining mark', 'transfe\u0301r'],
    ['Cyrillic look-alike a', 'tr\u0430nsfer'],
  ] as const;

  it.each(names)('%s: an exact list does not match the look-alike (only "transfer" is listed)', (_what, tool) => {
    const { gate } = setup('closed');
    expect(gate.isHighStakes(tool)).toBe(false);
    expect(gate.isHighStakes('transfer')).toBe(true);
  });

  it.each(names)('%s: default-deny reviews it, audits it and the chain verifies', async (_what, tool) => {
    const { gate, audit, asked } = setup('closed', { all: true, except: ['lookup'] });
    const d = await gate.review({ tool, args: { amount: 1 }, callId: 'u' });
    expect(asked()).toBe(1);
    expect(d.source).toBe('policy');
    expect(audit.records).toHaveLength(1);
    expect(audit.verify().ok).toBe(true);
    await gate.close();
  });

  it('a lone surrogate (not well-formed Unicode) in the tool name: denied, reviewer not asked, never thrown', async () => {
    const { gate, audit, asked } = setup('open', { all: true });
    const d = await gate.review({ tool: 'transfer\uD800', args: { amount: 1 }, callId: 'ls' });
    expect(d.verdict).toBe('deny');
    expect(d.source).toBe('fail_closed');
    expect(asked()).toBe(0);
    expect(d.error?.code).toBe('TOOL_NAME_INVALID');
    // The attempt is on record, the name with U+FFFD for the broken code unit.
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]!.call.tool).toBe('transfer\uFFFD');
    expect(audit.verify().ok).toBe(true);
    await gate.close();
  });
});
