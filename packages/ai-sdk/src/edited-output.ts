import type { Decision } from '@toolgate/core';

/**
 * What a governed tool returns when it ran with input a human edited: the tool's own output, and the
 * notice the model reads with it (`editNotice(decision)`: "The call ran with edited arguments: {…}.
 * Do not repeat the original call."). The wrapped `toModelOutput` turns it into the tool's model
 * output plus the notice. A string marker (not a Symbol) so it survives JSON round trips through UI
 * messages: a `useChat` UI shows it in the tool part's `output`, and a later `convertToModelMessages`
 * still gives the model the notice. Check it with `isEditedOutput(output)`.
 */
export interface EditedToolOutput<OUTPUT = unknown> {
  __toolgate: 'edited';
  /** The tool's own output, from the run with the edited input. */
  output: OUTPUT;
  /** What the model is told about the edit. */
  notice: string;
  /** The edit: the digest asked about, the edited call's digest, the edited input (redacted copy). */
  edited: NonNullable<Decision['edited']>;
}

/** True when a governed tool's output is the result of a run with human-edited input. */
export function isEditedOutput(output: unknown): output is EditedToolOutput {
  return (
    typeof output === 'object' &&
    output !== null &&
    (output as { __toolgate?: unknown }).__toolgate === 'edited' &&
    typeof (output as { notice?: unknown }).notice === 'string'
  );
}

export function editedOutput(output: unknown, notice: string, edited: NonNullable<Decision['edited']>): EditedToolOutput {
  return { __toolgate: 'edited', output, notice, edited };
}

type ModelOutput =
  | { type: 'text'; value: string }
  | { type: 'json'; value: unknown }
  | { type: 'error-text'; value: string }
  | { type: 'error-json'; value: unknown }
  | { type: 'content'; value: Array<{ type: string; [k: string]: unknown }> }
  | { type: string; [k: string]: unknown };

/** The tool's model output with the edit notice added, keeping its kind where it has text. */
export function withNotice(out: unknown, notice: string): unknown {
  const o = out as ModelOutput | undefined;
  if (!o || typeof o !== 'object') return { type: 'text', value: notice };
  switch (o.type) {
    case 'text':
    case 'error-text':
      return { ...o, value: `${String(o.value)}\n\n${notice}` };
    case 'json':
    case 'error-json':
      return { type: o.type === 'json' ? 'text' : 'error-text', value: `${JSON.stringify(o.value) ?? 'null'}\n\n${notice}` };
    case 'content':
      return { ...o, value: [...(Array.isArray(o.value) ? o.value : []), { type: 'text', text: notice }] };
    default:
      return { type: 'text', value: `${JSON.stringify(o) ?? ''}\n\n${notice}` };
  }
}
