import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { McpGovernanceOptionsError } from '../errors';
import { tempDir } from '../testing/fixture';
import { parseProxyArgs } from './parse-proxy-args';

function configFile(text: string): string {
  const file = join(tempDir(), 'toolgate.mcp.yaml');
  writeFileSync(file, text);
  return file;
}

describe('--config toolgate.mcp.yaml', () => {
  it('reads every option and several servers; relative paths are relative to the file', () => {
    const file = configFile(`
policy: ./policy.yaml
highStakes: [github_delete_*, files_write_*]
failMode: open
onReview: deny
audit: logs/audit.jsonl
timeoutMs: 2000
listen: 127.0.0.1:0
servers:
  - { prefix: github_, command: npx, args: [-y, server-github], env: { GITHUB_TOKEN: t } }
  - { prefix: files_, url: 'http://127.0.0.1:9000/mcp', headers: { authorization: Bearer x } }
`);
    const o = parseProxyArgs(['--config', file], {});
    const dir = file.slice(0, file.lastIndexOf('/'));
    expect(o).toMatchObject({
      policy: join(dir, 'policy.yaml'),
      audit: join(dir, 'logs/audit.jsonl'),
      highStakes: ['github_delete_*', 'files_write_*'],
      failMode: 'open',
      onReview: 'deny',
      timeoutMs: 2000,
      listen: { host: '127.0.0.1', port: 0 },
    });
    expect(o.upstreams).toHaveLength(2);
    expect(o.upstreams[0]).toMatchObject({ prefix: 'github_', command: 'npx', args: ['-y', 'server-github'], env: { GITHUB_TOKEN: 't' } });
    expect(o.upstreams[1]).toEqual({ prefix: 'files_', url: 'http://127.0.0.1:9000/mcp', headers: { authorization: 'Bearer x' } });
  });

  it.each([
    ['policy: p.yaml\nhighStake: [x]\nservers: [{ command: x }]', /unknown option "highStake"/],
    ['policy: p.yaml\nservers: []', /at least one upstream/],
    ['policy: p.yaml\nservers: [{ prefix: a_, comand: x }]', /unknown key "comand"/],
    ['policy: p.yaml\nservers: [{ prefix: a_, url: "ftp://x" }]', /http\(s\) URL/],
    ['policy: p.yaml\nservers: [{ prefix: a_, command: x, url: "http://x" }]', /not both/],
    ['policy: p.yaml\nfailMode: maybe\nservers: [{ command: x }]', /--fail-mode must be/],
    ['- just a list', /mapping/],
  ])('refuses %j', (text, message) => {
    expect(() => parseProxyArgs(['--config', configFile(text)], {})).toThrow(message);
  });

  it('takes no other option beside --config, and names a missing file', () => {
    expect(() => parseProxyArgs(['--config', 'x.yaml', '--policy', 'p'], {})).toThrow(/every option in the file/);
    expect(() => parseProxyArgs(['--config', '/nonexistent/toolgate.mcp.yaml'], {})).toThrow(McpGovernanceOptionsError);
  });
});
