import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { callDigest } from '../digest/call-digest';
import { createGate } from '../gate/create-gate';
import { runGoverned } from '../gate/governed';
import type { Decision } from '../types';
import { httpReviewer } from './http-reviewer';

// A review server on 127.0.0.1 that leaves the review pending on POST and answers the long-poll
// with what the test scripts (the fields a protocol v1 server sends for a human's answer).
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(decided: (asked: { digest: string }) => Record<string, unknown>): Promise<string> {
  let asked: { digest: string } | undefined;
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/v1/reviews') {
        asked = { digest: (JSON.parse(body) as { digest: string }).digest };
        res.statusCode = 202;
        res.end(JSON.stringify({ id: 'rv_1', status: 'pending', verdict: 'review', digest: asked.digest, tool: 'transfer' }));
      } else if (req.method === 'GET' && req.url?.startsWith('/v1/reviews/rv_1')) {
        res.end(JSON.stringify({ id: 'rv_1', status: 'decided', tool: 'transfer', conditions: [], evaluated: [], ...decided(asked!) }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const call = { tool: 'transfer', args: { amount: 500, to: 'bob' }, callId: 'c1', runId: 'r1' };
const editedArgs = { amount: 300, to: 'bob' };
const editedDigest = callDigest('transfer', editedArgs);

async function attempt(url: string, failMode: 'open' | 'closed' = 'closed') {
  const gate = createGate({ reviewer: httpReviewer({ url, apiKey: 'k' }), highStakes: ['transfer'], onReview: 'wait', failMode, telemetry: false });
  const runs: unknown[] = [];
  const d: Decision = await gate.review(call);
  if (d.verdict === 'allow') await runGoverned(gate, d, (args) => runs.push(args)).catch(() => undefined);
  await gate.close();
  return { d, runs };
}

describe('httpReviewer: a human answer on the review server (onReview wait)', () => {
  it('expired: true is REVIEW_EXPIRED at the gate, not a rejection, even with failMode open', async () => {
    const url = await serve(({ digest }) => ({ verdict: 'deny', digest, decidedBy: 'expiry', reason: 'expired', expired: true }));
    const { d, runs } = await attempt(url, 'open');
    expect(d).toMatchObject({ verdict: 'deny', decidedBy: 'expiry', error: { code: 'REVIEW_EXPIRED' } });
    expect(runs).toHaveLength(0);
  });

  it('edited: the body runs once with the edited arguments, the Decision names both digests and the approvers', async () => {
    const url = await serve(({ digest }) => ({
      verdict: 'allow',
      digest: editedDigest,
      decidedBy: 'human:alice, bob',
      edited: { args: editedArgs, digest: editedDigest, originalDigest: digest },
      approvals: { required: 2, approvers: ['alice', 'bob'] },
    }));
    const { d, runs } = await attempt(url);
    expect(d).toMatchObject({ verdict: 'allow', source: 'human', digest: editedDigest, edited: { digest: editedDigest, originalDigest: callDigest('transfer', call.args) }, approvals: { approvers: ['alice', 'bob'] } });
    expect(runs).toEqual([editedArgs]);
  });

  it('edited arguments the digest does not cover (e.g. redacted by the server) are a deny whatever the fail mode', async () => {
    const url = await serve(({ digest }) => ({ verdict: 'allow', digest: editedDigest, decidedBy: 'human:alice', edited: { args: { amount: '[REDACTED]', to: 'bob' }, digest: editedDigest, originalDigest: digest } }));
    const { d, runs } = await attempt(url, 'open');
    expect(d).toMatchObject({ verdict: 'deny', error: { code: 'INPUT_INVALID' } });
    expect(runs).toHaveLength(0);
  });
});
