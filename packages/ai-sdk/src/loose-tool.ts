import type { ModelMessage } from 'ai';

/** The options the SDK passes to `execute` (v6 and v7 share these fields). */
export interface ExecuteOptions {
  toolCallId: string;
  messages: ModelMessage[];
  abortSignal?: AbortSignal;
  [key: string]: unknown;
}

/** The options the SDK passes to `needsApproval` (v6: experimental_context, v7: context). */
export interface NeedsApprovalOptions {
  toolCallId: string;
  messages: ModelMessage[];
  [key: string]: unknown;
}

export interface InputAvailableOptions extends ExecuteOptions {
  input: unknown;
}

/** The fields of an AI SDK tool the adapter touches, typed loosely so one source serves v6 and v7. */
export interface LooseTool {
  execute?: (this: unknown, input: unknown, options: ExecuteOptions) => unknown;
  needsApproval?: boolean | ((this: unknown, input: unknown, options: NeedsApprovalOptions) => boolean | PromiseLike<boolean>);
  toModelOutput?: (this: unknown, arg: { toolCallId: string; input: unknown; output: unknown }) => unknown;
  onInputAvailable?: (this: unknown, options: InputAvailableOptions) => unknown;
  /** The tool's input schema (zod, Standard Schema, an AI SDK Schema, or a function returning one). */
  inputSchema?: unknown;
}

const AsyncGeneratorFunction = Object.getPrototypeOf(async function* () {}).constructor as FunctionConstructor;

/** `async function*` — the SDK checks the return value for Symbol.asyncIterator synchronously. */
export function isAsyncGeneratorFunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn instanceof AsyncGeneratorFunction;
}

export function isAsyncIterable(x: unknown): x is AsyncIterable<unknown> {
  return x != null && typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

/** Evaluates a tool's own `needsApproval` the way the SDK would. */
export async function ownNeedsApproval(tool: LooseTool | undefined, input: unknown, options: NeedsApprovalOptions): Promise<boolean> {
  const na = tool?.needsApproval;
  if (na === true) return true;
  if (typeof na === 'function') return Boolean(await na.call(tool, input, options));
  return false;
}
