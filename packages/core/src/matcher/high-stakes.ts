import { canonicalJson } from '../digest/canonical-json';
import { OptionsError } from '../errors';
import { globMatch } from '../policy/glob-match';
import type { HighStakesEntry, HighStakesSpec } from '../types';

/** A compiled high-stakes matcher: `(tool, args) => boolean`. */
export type HighStakesMatcher = (tool: string, args?: unknown) => boolean;

const MAX_CACHED = 4096;

/**
 * Turns a glob (`db.*`, `*_delete`, `tool?`) into an anchored RegExp. `*` spans any characters,
 * line breaks included. The gate itself does not use it: it matches globs with `globMatch`, which
 * cannot backtrack on an agent-chosen name; this stays for callers that need a RegExp.
 */
export function globToRegExp(glob: string): RegExp {
  let src = '';
  for (const ch of glob) {
    if (ch === '*') src += '[\\s\\S]*';
    else if (ch === '?') src += '[\\s\\S]';
    else src += ch.replace(/[.+^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${src}$`);
}

const isGlob = (s: string) => s.includes('*') || s.includes('?');

/** A compiled spec taken apart, for the gate: it parses and canonicalises arguments itself. */
export interface HighStakesParts {
  /** True when the name alone makes the tool high-stakes (a name, glob, RegExp or default-deny). */
  byName(tool: string): boolean;
  /** True when some `{ tool, when }` predicate applies to this name (its arguments must be read). */
  judged(tool: string): boolean;
  /** Runs the predicates for `tool` on already parsed arguments; a throwing predicate is high-stakes. */
  when(tool: string, args: unknown): boolean;
}

/**
 * Compiles a HighStakes spec once. For names and patterns the answer per tool name is cached, so
 * matching a tool that is not high-stakes costs a Map lookup. Predicates (`{ tool, when }`) run per
 * call, on parsed arguments: a JSON string is parsed first (frameworks hand arguments over as
 * strings), an object is passed as a copy read from its canonical JSON (what the digest covers, so
 * a getter or `toJSON` cannot show the predicate one value and the reviewer another). Arguments
 * that do not parse, and a predicate that throws, count as high-stakes (the safe answer). Tools no
 * predicate names never have their arguments read.
 */
export function compileHighStakes(spec: HighStakesSpec): HighStakesMatcher {
  return highStakesMatcher(compileHighStakesParts(spec));
}

/** The `(tool, args) => boolean` matcher over compiled parts (see compileHighStakes). */
export function highStakesMatcher(parts: HighStakesParts): HighStakesMatcher {
  return (tool, args) => {
    if (parts.byName(tool)) return true;
    if (!parts.judged(tool)) return false;
    let parsed: unknown;
    try {
      parsed = typeof args === 'string' ? (args.trim() === '' ? {} : JSON.parse(args)) : JSON.parse(canonicalJson(args ?? {}));
    } catch {
      return true;
    }
    return parts.when(tool, parsed);
  };
}

/** Compiles a HighStakes spec into its parts (see HighStakesParts). Throws OptionsError for a bad spec. */
export function compileHighStakesParts(spec: HighStakesSpec): HighStakesParts {
  const never = () => false;
  if (!Array.isArray(spec)) {
    const all = spec as { all?: unknown; except?: ReadonlyArray<string | RegExp> };
    if (all?.all !== true) {
      throw new OptionsError(
        'highStakes must be a list of tool names/globs/RegExps/{ tool, when } entries, or { all: true, except: [...] }',
      );
    }
    const except = compileNames(all.except ?? [], 'highStakes.except');
    return { byName: (tool) => !except(tool), judged: never, when: never };
  }
  const entries = spec as ReadonlyArray<HighStakesEntry>;
  const plain: Array<string | RegExp> = [];
  const predicates: Array<{ matches: (tool: string) => boolean; when: (args: unknown) => boolean }> = [];
  entries.forEach((entry, i) => {
    if (typeof entry === 'string' || entry instanceof RegExp) {
      plain.push(entry);
    } else if (entry && typeof entry === 'object' && typeof entry.when === 'function') {
      predicates.push({ matches: compileNames([entry.tool], `highStakes[${i}].tool`), when: entry.when });
    } else {
      throw new OptionsError(
        `highStakes[${i}] is not a tool name, glob, RegExp or { tool, when(args) } predicate`,
      );
    }
  });
  const byName = compileNames(plain, 'highStakes');
  if (predicates.length === 0) return { byName, judged: never, when: never };
  return {
    byName,
    judged: (tool) => predicates.some((p) => p.matches(tool)),
    when(tool, args) {
      for (const p of predicates) {
        if (!p.matches(tool)) continue;
        try {
          if (p.when(args)) return true;
        } catch {
          return true;
        }
      }
      return false;
    },
  };
}

function compileNames(list: ReadonlyArray<string | RegExp>, where: string): (tool: string) => boolean {
  const exact = new Set<string>();
  const patterns: Array<{ test(tool: string): boolean }> = [];
  list.forEach((item, i) => {
    if (typeof item === 'string') {
      if (item.length === 0) throw new OptionsError(`${where}[${i}] is an empty tool name`);
      // globMatch, not a RegExp: linear for one star, never backtracking, and `*` spans line breaks.
      if (isGlob(item)) patterns.push({ test: (tool) => globMatch(item, tool) });
      else exact.add(item);
    } else if (item instanceof RegExp) {
      // Drop g/y flags: lastIndex state would make .test() answer differently on each call.
      patterns.push(new RegExp(item.source, item.flags.replace(/[gy]/g, '')));
    } else {
      throw new OptionsError(`${where}[${i}] must be a string or RegExp`);
    }
  });
  if (patterns.length === 0) return (tool) => exact.has(tool);
  const cache = new Map<string, boolean>();
  return (tool) => {
    if (exact.has(tool)) return true;
    const hit = cache.get(tool);
    if (hit !== undefined) return hit;
    let result = false;
    for (const re of patterns) {
      if (re.test(tool)) {
        result = true;
        break;
      }
    }
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(tool, result);
    return result;
  };
}
