import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../errors';
import { loadPolicy, loadPolicySync } from './load-policy';

const dir = mkdtempSync(join(tmpdir(), 'toolgate-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expected = {
  version: 1,
  default: 'review',
  rules: [{ id: 'no-drop', tools: ['db.drop*'], verdict: 'deny' }],
};

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadPolicy / loadPolicySync', () => {
  const yaml = 'version: 1\ndefault: review\nrules:\n  - id: no-drop\n    tools: ["db.drop*"]\n    verdict: deny\n';
  const json = JSON.stringify(expected, null, 2);

  it('reads .yaml, .yml and .json by extension', async () => {
    expect(await loadPolicy(file('p.yaml', yaml))).toEqual(expected);
    expect(await loadPolicy(file('p.yml', yaml))).toEqual(expected);
    expect(await loadPolicy(file('p.json', json))).toEqual(expected);
    expect(loadPolicySync(file('s.yaml', yaml))).toEqual(expected);
    expect(loadPolicySync(file('s.json', json))).toEqual(expected);
  });

  it('sniffs other extensions', async () => {
    expect(await loadPolicy(file('policy.conf', json))).toEqual(expected);
    expect(await loadPolicy(file('policy', yaml))).toEqual(expected);
  });

  it('names the file in errors', async () => {
    const bad = file('bad.yaml', 'version: 1\nrules:\n  - id: x\n    verdict: nope\n');
    await expect(loadPolicy(bad)).rejects.toThrow(PolicyError);
    await expect(loadPolicy(bad)).rejects.toThrow(`invalid toolgate policy in ${bad}`);
    expect(() => loadPolicySync(bad)).toThrow(/rules\[0\]\.verdict: expected one of/);
    // A .json file is read as JSON, even if it would be valid YAML.
    expect(() => loadPolicySync(file('yaml-in.json', yaml))).toThrow(/\(json\)/);
  });

  it('reports a missing file as a PolicyError', async () => {
    const missing = join(dir, 'nope.yaml');
    await expect(loadPolicy(missing)).rejects.toMatchObject({ code: 'POLICY_INVALID', message: expect.stringContaining('no such file') });
    expect(() => loadPolicySync(missing)).toThrow(PolicyError);
  });
});
