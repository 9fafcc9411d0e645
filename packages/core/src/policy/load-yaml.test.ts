import { describe, expect, it, vi } from 'vitest';

// Counts every import of `yaml` through the module graph (a static import in any core module would show here).
const yamlImports = vi.hoisted(() => ({ count: 0 }));
vi.mock('yaml', async (importOriginal) => {
  yamlImports.count++;
  return importOriginal();
});

describe('yaml is loaded only when YAML policy text is read', () => {
  it('importing @toolgate/core and running a gate with an inline policy does not import yaml', async () => {
    const core = await import('@toolgate/core');
    const gate = core.createGate({
      reviewer: core.policyReviewer({ version: 1, default: 'deny', rules: [{ id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow' }] }),
      highStakes: ['transfer'],
    });
    expect((await gate.review({ tool: 'transfer', args: { amount: 5 }, callId: 'c1' })).verdict).toBe('allow');
    expect(core.parsePolicyText('{"version":1,"default":"deny","rules":[]}').default).toBe('deny');
    await gate.close();
    expect(yamlImports.count).toBe(0);
  });

  it('YAML text still parses, through the lazily loaded package', async () => {
    const { parsePolicyText } = await import('@toolgate/core');
    const policy = parsePolicyText('version: 1\ndefault: review\nrules:\n  - { id: no-shell, tools: [shell], verdict: deny }\n');
    expect(policy.rules[0]).toMatchObject({ id: 'no-shell', verdict: 'deny' });
    expect(() => parsePolicyText('version: 1\nversion: 2\n')).toThrow(/yaml line/);
  });
});
