import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '@toolgate/core';
import { request } from 'undici';
import { createReviewServer, type ReviewServer, type ReviewServerOptions } from '../server/create-review-server';

/** Test policy: small transfers allowed, huge ones denied, the rest (default) to a human. */
export const TEST_POLICY: Policy = {
  version: 1,
  default: 'review',
  rules: [
    { id: 'small-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte', value: 100 }], verdict: 'allow' },
    { id: 'huge-transfer', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt', value: 10000 }], verdict: 'deny', reason: 'transfers over 10000 are never allowed' },
    { id: 'no-drops', tools: ['db.drop'], verdict: 'deny', reason: 'no drops' },
  ],
};

export interface Started {
  server: ReviewServer;
  url: string;
  dataDir: string;
  evalKey: string;
  approveKey: string;
  adminKey: string;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'toolgate-reviewer-'));
}

/** A real server on 127.0.0.1:0 with a real SQLite file in a temp dir, and one key per scope. */
export async function startServer(options: Partial<ReviewServerOptions> = {}, keys = true): Promise<Started> {
  const dataDir = options.dataDir ?? tempDir();
  const server = createReviewServer({ policy: TEST_POLICY, port: 0, defaultMetrics: false, ...options, dataDir });
  const k = keys
    ? { evalKey: server.keys.create('eval', 'agent-key'), approveKey: server.keys.create('approve', 'alice'), adminKey: server.keys.create('admin', 'root') }
    : { evalKey: '', approveKey: '', adminKey: '' };
  const url = await server.listen();
  return { server, url, dataDir, ...k };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** One JSON request: status and parsed body. */
export async function http(
  url: string,
  method: 'GET' | 'POST',
  path: string,
  key?: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await request(`${url}${path}`, { method, headers, body: payload });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics)
  }
  return { status: res.statusCode, body: parsed };
}
