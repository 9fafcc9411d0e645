/**
 * Validates a human's edited input against the tool's `inputSchema`, as the SDK validates the
 * model's input: the body must never get input its schema rejects just because a human typed it.
 * Reads the schema kinds the AI SDK accepts without importing `ai` at run time: Standard Schema
 * (zod 3.24+, zod 4, valibot, arktype), an AI SDK `Schema` with `validate` (`jsonSchema(…, { validate })`,
 * `zodSchema(…)`), and a lazy schema (a function returning one). A schema that cannot validate (a
 * bare JSON schema) accepts the input as it is — as the SDK does for the model's input.
 */
export type EditCheck = { ok: true; value: unknown } | { ok: false; problem: string };

interface StandardResult {
  value?: unknown;
  issues?: ReadonlyArray<{ message?: unknown; path?: ReadonlyArray<unknown> }>;
}

export async function validateEditedInput(schema: unknown, input: unknown): Promise<EditCheck> {
  try {
    let s = schema;
    if (typeof s === 'function' && !(s as { '~standard'?: unknown })['~standard']) s = (s as () => unknown)();
    if (s == null) return { ok: true, value: input };
    const standard = (s as { '~standard'?: { validate?: unknown } })['~standard'];
    if (standard && typeof standard.validate === 'function') {
      const r = (await (standard.validate as (v: unknown) => StandardResult | PromiseLike<StandardResult>)(structuredClone(input))) ?? {};
      if (r.issues) return { ok: false, problem: issuesText(r.issues) };
      return { ok: true, value: r.value };
    }
    const validate = (s as { validate?: unknown }).validate;
    if (typeof validate === 'function') {
      const r = (await (validate as (v: unknown) => unknown).call(s, structuredClone(input))) as { success?: boolean; value?: unknown; error?: unknown };
      if (r?.success === true) return { ok: true, value: r.value };
      return { ok: false, problem: r?.error instanceof Error ? r.error.message : 'the schema rejected it' };
    }
    return { ok: true, value: input };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

function issuesText(issues: StandardResult['issues']): string {
  const list = (issues ?? []).slice(0, 5).map((i) => {
    const path = Array.isArray(i.path) ? i.path.map((p) => (typeof p === 'object' && p !== null && 'key' in p ? String((p as { key: unknown }).key) : String(p))).join('.') : '';
    return `${path ? `${path}: ` : ''}${typeof i.message === 'string' ? i.message : 'invalid'}`;
  });
  return list.join('; ') || 'the schema rejected it';
}
