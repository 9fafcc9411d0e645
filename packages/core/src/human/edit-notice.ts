import { isAllowed } from '../gate/governed';
import type { Decision } from '../types';

/** Longest edited-arguments JSON quoted to the model; longer text is cut with an ellipsis. */
const MAX_NOTICE_ARGS = 2_000;

/**
 * What to tell the model after a call ran with arguments a human edited, so its next turn does not
 * repeat the original call: `The call ran with edited arguments: {…}. Do not repeat the original
 * call.` (the redacted copy in `decision.edited.args`). `undefined` when the Decision does not
 * allow the call or was not edited. Adapters append it to the tool result they give the model.
 *
 * @example
 * const result = await runGoverned(gate, decision, body);
 * const notice = editNotice(decision);
 * return notice ? `${String(result)}\n${notice}` : result;
 */
export function editNotice(decision: Decision): string | undefined {
  const edited = decision?.edited;
  if (!edited || !isAllowed(decision)) return undefined;
  let json: string;
  try {
    json = JSON.stringify(edited.args) ?? '{}';
  } catch {
    json = '(unreadable)';
  }
  if (json.length > MAX_NOTICE_ARGS) json = `${json.slice(0, MAX_NOTICE_ARGS)}…`;
  return `The call ran with edited arguments: ${json}. Do not repeat the original call.`;
}
