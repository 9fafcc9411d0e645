import { describe, expect, it } from 'vitest';
import { McpGovernanceOptionsError } from '../errors';
import { parseProxyArgs } from './parse-proxy-args';

describe('parseProxyArgs', () => {
  it('reads the options and the upstream command after --', () => {
    const o = parseProxyArgs(['--policy', 'p.yaml', '--high-stakes', 'a,db.*', '--high-stakes', 'b', '--audit', 'a.jsonl', '--', 'npx', '-y', 'server', '--port', '1'], {});
    expect(o).toMatchObject({ policy: 'p.yaml', highStakes: ['a', 'db.*', 'b'], failMode: 'closed', onReview: 'pause', audit: 'a.jsonl', upstream: { command: 'npx', args: ['-y', 'server', '--port', '1'] } });
  });

  it('takes the API key from TOOLGATE_API_KEY', () => {
    expect(parseProxyArgs(['--reviewer-url', 'http://127.0.0.1:7070', '--', 'x'], { TOOLGATE_API_KEY: 'k1' }).apiKey).toBe('k1');
  });

  it.each([
    [['--policy', 'p'], /after --/],
    [['--policy', 'p', '--'], /after --/],
    [['--', 'x'], /--policy FILE or --reviewer-url/],
    [['--policy', 'p', '--reviewer-url', 'http://h', '--api-key', 'k', '--', 'x'], /not both/],
    [['--reviewer-url', 'http://h', '--', 'x'], /needs --api-key/],
    [['--policy', 'p', '--fail-mode', 'maybe', '--', 'x'], /--fail-mode must be closed or open/],
    [['--policy', 'p', '--on-review', 'later', '--', 'x'], /--on-review must be/],
    [['--policy', 'p', '--high-stakes-annotations', 'readonly', '--', 'x'], /only destructive/],
    [['--policy', 'p', '--timeout-ms', '1.5', '--', 'x'], /positive whole number/],
    [['--policy', 'p', '--bogus', '--', 'x'], /bogus/],
  ])('refuses %j with a typed error', (argv, message) => {
    let error: unknown;
    try {
      parseProxyArgs(argv, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(McpGovernanceOptionsError);
    expect((error as Error).message).toMatch(message);
  });
});
