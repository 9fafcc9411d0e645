/**
 * `tool({ name })`, `agent.asTool()`, handoffs and MCP tools pass their names through the SDK's
 * `toFunctionToolName`, which turns every character outside `[a-zA-Z0-9]` into `_`:
 * `tool({ name: 'db.drop' })` is called `db_drop` by the model, and a `highStakes: ['db.*']` list
 * written with the declared spelling would never match it. The declared name is not kept on the
 * tool, so toolgate asks the gate about the spellings that could have produced the SDK name:
 * each `_` may have been one of the separators below.
 */
const SEPARATORS = ['_', '.', '-', ' ', ':', '/'] as const;
/** Up to this many underscores every combination is tried (6^3 = 216 names); beyond it, the likely ones. */
const FULL_UP_TO = 3;
const cache = new Map<string, readonly string[]>();

/** Spellings (other than `name` itself) that the SDK would have rewritten to `name`, likeliest first. */
export function declaredSpellings(name: string): readonly string[] {
  const hit = cache.get(name);
  if (hit) return hit;
  const at: number[] = [];
  for (let i = 0; i < name.length; i++) if (name[i] === '_') at.push(i);
  const out = new Set<string>();
  if (at.length > 0) {
    const chars = [...name];
    const spell = (pick: (slot: number) => string) => {
      const c = chars.slice();
      at.forEach((pos, slot) => (c[pos] = pick(slot)));
      return c.join('');
    };
    // One separator throughout (db.users.drop), then one separator at one place (github.create_issue).
    for (const s of SEPARATORS) out.add(spell(() => s));
    at.forEach((_, i) => SEPARATORS.forEach((s) => out.add(spell((slot) => (slot === i ? s : '_')))));
    at.forEach((_, i) => SEPARATORS.forEach((s) => SEPARATORS.forEach((t) => out.add(spell((slot) => (slot <= i ? s : t))))));
    if (at.length <= FULL_UP_TO) {
      const total = SEPARATORS.length ** at.length;
      for (let n = 0; n < total; n++) out.add(spell((slot) => SEPARATORS[Math.floor(n / SEPARATORS.length ** slot) % SEPARATORS.length]!));
    }
  }
  out.delete(name);
  const list = [...out];
  if (cache.size >= 1_000) cache.clear();
  cache.set(name, list);
  return list;
}
