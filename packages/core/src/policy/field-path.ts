import type { AgentInfo, CallContext } from '../types';

/** What a field path reads from. */
export interface FieldSource {
  tool: string;
  args: unknown;
  agent?: AgentInfo | undefined;
  context?: CallContext | undefined;
  digest: string;
}

/** A field path split once at compile time: `args.items.0.sku` → root `args`, segments, indexes. */
export interface CompiledField {
  readonly path: string;
  readonly root: 'tool' | 'digest' | 'args' | 'agent' | 'context';
  readonly segments: ReadonlyArray<string>;
  /** Per segment: its array index, or -1 when it is not a canonical non-negative integer. */
  readonly indexes: ReadonlyArray<number>;
}

/** Splits a field path (already validated by the schema) into its parts. */
export function compileField(path: string): CompiledField {
  const [root, ...segments] = path.split('.');
  const indexes = segments.map((s) => (/^(0|[1-9]\d{0,8})$/.test(s) ? Number(s) : -1));
  return { path, root: root as CompiledField['root'], segments, indexes };
}

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Reads a field from the call. Only OWN properties are followed, so `__proto__`, `constructor`
 * and `prototype` never resolve through the prototype chain; arrays are indexed by number only.
 * A missing segment (or a getter that throws) reads as `undefined`. Never throws.
 */
export function readField(field: CompiledField, source: FieldSource): unknown {
  let cur: unknown;
  switch (field.root) {
    case 'tool':
      return source.tool;
    case 'digest':
      return source.digest;
    case 'args':
      cur = source.args;
      break;
    case 'agent':
      cur = source.agent;
      break;
    default:
      cur = source.context;
  }
  const segs = field.segments;
  try {
    for (let i = 0; i < segs.length; i++) {
      if (cur === null || typeof cur !== 'object') return undefined;
      if (Array.isArray(cur)) {
        const idx = field.indexes[i] ?? -1;
        if (idx < 0 || idx >= cur.length) return undefined;
        cur = cur[idx];
        continue;
      }
      const seg = segs[i] as string;
      if (!hasOwn.call(cur, seg)) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
  } catch {
    return undefined;
  }
  return cur;
}
