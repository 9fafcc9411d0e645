/**
 * Fault set-ups for the reliability matrix, on top of test/support/stub-server.ts: reviewers that
 * sign their answers (with a trusted or a forged key, valid or bent), and the reference server
 * that can be restarted on the same port and data dir.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { callDigest, createProofSigner, generateSigningKey } from '@toolgate/core';
import { createReviewServer, type ReviewServer } from '@toolgate/reviewer';
import { startStub } from '../../support/stub-server';

export type SigningKey = Awaited<ReturnType<typeof generateSigningKey>>;

/**
 * A protocol v1 stub that allows and signs a proof for each call, with `key` (trusted or forged),
 * bound to the call in hand unless `tweak` bends it (other args, already expired).
 */
export async function signingStub(key: SigningKey, tweak: { args?: unknown; ttlSeconds?: number } = {}) {
  const signer = await createProofSigner({ privateJwk: key.privateJwk, kid: key.kid, issuer: 'stub', ttlSeconds: 60 });
  const proofs = new Map<string, string>();
  const stub = await startStub((req) => {
    const callId = (req.body as { call?: { callId?: string } }).call?.callId ?? '';
    return { kind: 'json', body: { id: 'rv_signed', status: 'decided', verdict: 'allow', decidedBy: 'policy', reason: 'ok', proof: proofs.get(callId) } };
  });
  return {
    ...stub,
    /** Signs the proof for a call the row is about to make (signing is async; answering is not). */
    async prepare(call: { tool: string; args: unknown; callId: string }) {
      proofs.set(
        call.callId,
        await signer.sign({
          reviewId: 'rv_signed',
          tool: call.tool,
          digest: callDigest(call.tool, tweak.args ?? call.args),
          callId: call.callId,
          verdict: 'allow',
          decidedBy: 'policy',
          ...(tweak.ttlSeconds !== undefined ? { ttlSeconds: tweak.ttlSeconds } : {}),
        }),
      );
    },
  };
}

export const RESTART_POLICY = {
  version: 1 as const,
  default: 'deny' as const,
  rules: [
    { id: 'small', tools: ['transfer'], when: [{ field: 'args.amount', op: 'lte' as const, value: 1000 }], verdict: 'allow' as const },
    { id: 'large-needs-human', tools: ['transfer'], when: [{ field: 'args.amount', op: 'gt' as const, value: 1000 }], verdict: 'review' as const },
  ],
};

/** The reference server on a fixed data dir, restartable on the same port. */
export async function restartableServer() {
  const dataDir = mkdtempSync(join(tmpdir(), 'toolgate-rel-'));
  let server: ReviewServer = createReviewServer({ dataDir, policy: RESTART_POLICY, port: 0, dashboard: false, defaultMetrics: false });
  const evalKey = server.keys.create('eval', 'agent');
  const approveKey = server.keys.create('approve', 'human');
  const url = await server.listen();
  const port = Number(new URL(url).port);
  const approver = { authorization: `Bearer ${approveKey}`, 'content-type': 'application/json' };
  return {
    url,
    dataDir,
    evalKey,
    auditPath: join(dataDir, 'audit.jsonl'),
    async pendingIds(): Promise<string[]> {
      const res = await fetch(`${url}/v1/reviews?status=pending`, { headers: approver });
      return ((await res.json()) as { reviews: Array<{ id: string }> }).reviews.map((r) => r.id);
    },
    async waitForPending(): Promise<string> {
      for (;;) {
        const [id] = await this.pendingIds();
        if (id) return id;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async restart() {
      await server.close();
      // The port is free again; a gate long-polling it sees refused connections meanwhile.
      await new Promise((r) => setTimeout(r, 150));
      server = createReviewServer({ dataDir, policy: RESTART_POLICY, port, dashboard: false, defaultMetrics: false });
      await server.listen();
    },
    async approve(id: string) {
      const res = await fetch(`${url}/v1/reviews/${id}/decision`, { method: 'POST', headers: approver, body: JSON.stringify({ verdict: 'allow', reason: 'approved after restart' }) });
      if (res.status !== 200) throw new Error(`approve answered ${res.status}: ${await res.text()}`);
    },
    close: () => server.close(),
  };
}
