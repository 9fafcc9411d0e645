import type { Gate } from '@toolgate/core';
import type { ToolSet } from 'ai';
import { resolveOptions, type GovernanceOptions } from './options';
import { toolApproval, type GovernedApprovalStatus, type ToolApprovalRequestInfo } from './tool-approval';
import { withGovernance } from './with-governance';

/** What `governedOptions` returns: spread it into `generateText`, `streamText` or `new ToolLoopAgent`. */
export interface GovernedCallOptions<TOOLS extends ToolSet> {
  /** `withGovernance(tools, gate, options)`. */
  tools: TOOLS;
  /** `toolApproval(gate, options)` (ai@7; ai@6 ignores it and uses the tools' `needsApproval`). */
  toolApproval: (request: ToolApprovalRequestInfo) => Promise<GovernedApprovalStatus>;
  /** `options.approvalSecret`, which the SDK signs each approval request with. Absent without a secret. */
  experimental_toolApprovalSecret?: string | Uint8Array;
}

/**
 * The tool options of an AI SDK call, governed, from one `approvalSecret`: the SDK signs approval
 * requests with the very secret the governed tools verify approvals with, so the secret is set in
 * one place instead of twice (`withGovernance({ approvalSecret })` and
 * `generateText({ experimental_toolApprovalSecret })`).
 *
 * @example
 * const governed = governedOptions({ transfer }, gate, { approvalSecret: process.env.APPROVAL_SECRET });
 * const first = await generateText({ model, ...governed, stopWhen: isStepCount(5), messages });
 * decisionsOf(governed.tools).get(first.toolCalls[0].toolCallId);
 */
export function governedOptions<TOOLS extends ToolSet>(tools: TOOLS, gate: Gate, options?: GovernanceOptions): GovernedCallOptions<TOOLS> {
  const o = resolveOptions(options, 'governedOptions');
  const out: GovernedCallOptions<TOOLS> = { tools: withGovernance(tools, gate, options), toolApproval: toolApproval(gate, options) };
  if (o.approvalSecret !== undefined) out.experimental_toolApprovalSecret = o.approvalSecret;
  return out;
}
