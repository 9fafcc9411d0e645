import { describe, expect, it } from 'vitest';
import { McpGovernanceOptionsError } from '../errors';
import { parseProxyArgs } from './parse-proxy-args';

describe('parseProxyArgs', () => {
  it('reads the options and the upstream command after --', () => {
    const o = parseProxyArgs(['--policy', 'p.yaml', '--high-stakes', 'a,db.*', '--high-stakes', 'b', '--audit', 'a.jsonl', '--', 'npx', '-y', 'server', '--port', '1'], {});
    expect(o).toMatchObject({ policy: 'p.yaml', highStakes: ['a', 'db.*', 'b'], failMode: 'closed', onReview: 'pause', audit: 'a.jsonl', upstreams: [{ prefix: '', command: 'npx', args: ['-y', 'server', '--port', '1'] }] });
  });

  it('reads --listen (loopback only) and --upstream-url instead of a command', () => {
    expect(parseProxyArgs(['--policy', 'p', '--listen', '127.0.0.1:0', '--upstream-url', 'http://127.0.0.1:9/mcp'], {})).toMatchObject({
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: [{ prefix: '', url: 'http://127.0.0.1:9/mcp' }],
    });
    expect(parseProxyArgs(['--policy', 'p', '--listen', '[::1]:8765', '--', 'x'], {}).listen).toEqual({ host: '::1', port: 8765 });
  });

  it('takes the API key from TOOLGATE_API_KEY', () => {
    expect(parseProxyArgs(['--reviewer-url', 'http://127.0.0.1:7070', '--', 'x'], { TOOLGATE_API_KEY: 'k1' }).apiKey).toBe('k1');
  });

  it.each([
    [['--policy', 'p'], /after --/],
    [['--policy', 'p', '--'], /after --/],
    [['--policy', 'p', '--upstream-url', 'http://127.0.0.1:1/mcp', '--', 'x'], /not both/],
    [['--policy', 'p', '--upstream-url', 'file:///etc/passwd'], /http\(s\) URL/],
    [['--policy', 'p', '--listen', '0.0.0.0:8765', '--', 'x'], /loopback/],
    [['--policy', 'p', '--listen', '8765', '--', 'x'], /loopback/],
    [['--policy', 'p', '--listen', '127.0.0.1:99999', '--', 'x'], /loopback/],
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
