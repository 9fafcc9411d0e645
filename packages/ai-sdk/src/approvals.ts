import type { ModelMessage } from 'ai';

/** A `tool-approval-request` and the human's `tool-approval-response` to it, found in messages. */
export interface ApprovalPair {
  approvalId: string;
  signature: string | undefined;
  approved: boolean;
  reason: string | undefined;
}

interface Part {
  type?: unknown;
  approvalId?: unknown;
  toolCallId?: unknown;
  signature?: unknown;
  approved?: unknown;
  reason?: unknown;
}

const partsOf = (m: ModelMessage): Part[] => (Array.isArray(m.content) ? (m.content as Part[]) : []);

/**
 * The latest approval response for `toolCallId` in `messages` (what the SDK hands `execute` and
 * `needsApproval` on an approval continuation), or undefined.
 */
export function findApproval(messages: ReadonlyArray<ModelMessage> | undefined, toolCallId: string): ApprovalPair | undefined {
  if (!Array.isArray(messages)) return undefined;
  const requests = new Map<string, Part>();
  for (const m of messages) {
    if (m.role !== 'assistant') continue;
    for (const p of partsOf(m)) {
      if (p.type === 'tool-approval-request' && p.toolCallId === toolCallId && typeof p.approvalId === 'string') {
        requests.set(p.approvalId, p);
      }
    }
  }
  if (requests.size === 0) return undefined;
  let found: ApprovalPair | undefined;
  for (const m of messages) {
    if (m.role !== 'tool') continue;
    for (const p of partsOf(m)) {
      if (p.type !== 'tool-approval-response' || typeof p.approvalId !== 'string') continue;
      const request = requests.get(p.approvalId);
      if (!request) continue;
      found = {
        approvalId: p.approvalId,
        signature: typeof request.signature === 'string' ? request.signature : undefined,
        approved: p.approved === true,
        reason: typeof p.reason === 'string' ? p.reason : undefined,
      };
    }
  }
  return found;
}

/**
 * True when the last message is a tool message with an approval response: the only shape in which
 * the SDK executes approved calls (it collects approvals from the last message alone). A cheap
 * check for the allowed path, which must not scan the whole history on every call.
 */
export function endsWithApprovalResponse(messages: ReadonlyArray<ModelMessage> | undefined): boolean {
  const last = Array.isArray(messages) ? messages[messages.length - 1] : undefined;
  return last?.role === 'tool' && partsOf(last).some((p) => p.type === 'tool-approval-response');
}

const encoder = new TextEncoder();

/** The AI SDK's canonical JSON for approval signatures: sorted keys, JSON.stringify leaves. */
function sdkCanonicalJson(value: unknown): string {
  if (value === null || value === undefined || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : sdkCanonicalJson(v))).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${sdkCanonicalJson(record[k])}`)
    .join(',')}}`;
}

function toBase64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/g, '');
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const b = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(b.length);
    for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Verifies the HMAC-SHA256 signature the AI SDK puts on a `tool-approval-request` when
 * `experimental_toolApprovalSecret` is set. Accepts the ai@7 payload
 * (`JSON.stringify(['ai-sdk-tool-approval-v1', approvalId, toolCallId, toolName, digest])`) and the
 * ai@6 one (the same fields joined by newlines). `input` must be the input about to run.
 */
export async function verifyApprovalSignature(args: {
  secret: string | Uint8Array;
  signature: string;
  approvalId: string;
  toolCallId: string;
  toolName: string;
  input: unknown;
}): Promise<boolean> {
  const sig = fromBase64url(args.signature);
  if (!sig || sig.length === 0) return false;
  const subtle = globalThis.crypto.subtle;
  const keyData = typeof args.secret === 'string' ? encoder.encode(args.secret) : new Uint8Array(args.secret);
  const key = await subtle.importKey('raw', keyData, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  const digest = toBase64url(new Uint8Array(await subtle.digest('SHA-256', encoder.encode(sdkCanonicalJson(args.input)))));
  const { approvalId, toolCallId, toolName } = args;
  const v7 = encoder.encode(JSON.stringify(['ai-sdk-tool-approval-v1', approvalId, toolCallId, toolName, digest]));
  if (await subtle.verify('HMAC', key, sig, v7)) return true;
  if ([approvalId, toolCallId, toolName].some((s) => s.includes('\n'))) return false;
  return subtle.verify('HMAC', key, sig, encoder.encode(`${approvalId}\n${toolCallId}\n${toolName}\n${digest}`));
}
