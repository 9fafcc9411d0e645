import type { Gate } from '@toolgate/core';

/** Why human approvals through the SDK cannot work, each warned about once per gate. */
export type SecretProblem = 'no-secret' | 'unsigned-request';

const MESSAGES: Record<SecretProblem, string> = {
  'no-secret':
    'toolgate: a tool call needs a human approval, but no `approvalSecret` was given to withGovernance / toolApproval, ' +
    'so every approval given through the AI SDK will be refused and the call stays denied. Set it once: ' +
    '`generateText({ model, ...governedOptions(tools, gate, { approvalSecret }), messages })` passes the same secret ' +
    'to the SDK as `experimental_toolApprovalSecret`.',
  'unsigned-request':
    'toolgate: a human approval arrived for a `tool-approval-request` without a signature, so it is refused and the ' +
    'call stays denied: generateText / streamText / ToolLoopAgent got no `experimental_toolApprovalSecret`. Spread ' +
    '`governedOptions(tools, gate, { approvalSecret })` into the call instead of passing the secret twice.',
};

const warned = new WeakMap<Gate, Set<SecretProblem>>();

/** `console.warn`s once per gate and problem: approvals that silently fail are the worst kind. */
export function warnSecretProblem(gate: Gate, problem: SecretProblem): void {
  let seen = warned.get(gate);
  if (!seen) {
    seen = new Set();
    warned.set(gate, seen);
  }
  if (seen.has(problem)) return;
  seen.add(problem);
  console.warn(MESSAGES[problem]);
}
