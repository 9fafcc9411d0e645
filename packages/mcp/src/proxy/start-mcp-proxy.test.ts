import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { policyReviewer } from '@toolgate/core';
import { describe, expect, it } from 'vitest';
import { McpGovernanceOptionsError } from '../errors';
import { tempDir, testPolicy, TS_FLAGS, UPSTREAM_SERVER } from '../testing/fixture';
import { startMcpProxy } from './mcp-proxy';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startMcpProxy', () => {
  it('a proxy that cannot start stops the upstream it already started', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'pid');
    const env = { ...(process.env as Record<string, string>), COUNTER_FILE: join(dir, 'calls.log'), PID_FILE: pidFile };
    await expect(
      startMcpProxy({
        upstream: { command: process.execPath, args: [...TS_FLAGS, UPSTREAM_SERVER], env },
        gate: { reviewer: policyReviewer(testPolicy), highStakes: ['transfer'], timeoutMs: -1 },
        log: () => {},
      }),
    ).rejects.toMatchObject({ code: 'OPTIONS_INVALID' });
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await expect.poll(() => alive(pid)).toBe(false);
  });

  it('refuses no upstream, and overlapping prefixes', async () => {
    const gate = { reviewer: policyReviewer(testPolicy), highStakes: ['transfer'] };
    await expect(startMcpProxy({ gate })).rejects.toBeInstanceOf(McpGovernanceOptionsError);
    await expect(
      startMcpProxy({ gate, upstreams: [{ prefix: 'gh_', command: 'x' }, { prefix: 'gh_admin_', command: 'y' }] }),
    ).rejects.toThrow(/overlap/);
    await expect(startMcpProxy({ gate, upstreams: [{ prefix: '', command: 'x' }, { prefix: 'b_', command: 'y' }] })).rejects.toThrow(/non-empty prefix/);
  });
});
