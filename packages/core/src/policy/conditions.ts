import { compileField, type CompiledField } from './field-path';
import type { PolicyCondition, PolicyOp } from './schema';
import { checkTextHead } from './show-value';

/** A `when` condition compiled once: its field split, its RegExp built, its `in` list as a Set. */
export interface CompiledCondition {
  readonly field: CompiledField;
  readonly op: PolicyOp;
  /** The value as written in the policy (reported as `expected`). */
  readonly expected: unknown;
  /** True when the condition holds for `actual`. Never throws. */
  readonly test: (actual: unknown) => boolean;
  /** `exists` reports whether the field exists as `actual`, not its value. */
  readonly reportsExistence: boolean;
  /** Constant start of this check's text in a reason, built once: `args.amount gt 1000 (actual `. */
  readonly textHead: string;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/** Compiles one (schema-validated) condition. */
export function compileCondition(condition: PolicyCondition): CompiledCondition {
  const { op } = condition;
  const value = condition.value;
  const field = compileField(condition.field);
  const expected = op === 'exists' ? (value ?? true) : value;
  return { field, op, expected, test: tester(op, value, condition.flags), reportsExistence: op === 'exists', textHead: checkTextHead(field.path, op, expected) };
}

function tester(op: PolicyOp, value: unknown, flags: string | undefined): (actual: unknown) => boolean {
  switch (op) {
    case 'eq':
      return isPrimitive(value) ? (a) => a === value : (a) => deepEqual(a, value);
    case 'ne':
      return isPrimitive(value) ? (a) => a !== value : (a) => !deepEqual(a, value);
    case 'lt': {
      const v = value as number;
      return (a) => isNumber(a) && a < v;
    }
    case 'lte': {
      const v = value as number;
      return (a) => isNumber(a) && a <= v;
    }
    case 'gt': {
      const v = value as number;
      return (a) => isNumber(a) && a > v;
    }
    case 'gte': {
      const v = value as number;
      return (a) => isNumber(a) && a >= v;
    }
    case 'in':
    case 'nin': {
      const list = value as unknown[];
      const has = membership(list);
      return op === 'in' ? has : (a) => !has(a);
    }
    case 'matches': {
      const re = new RegExp(value as string, flags ?? '');
      return (a) => typeof a === 'string' && re.test(a);
    }
    case 'contains':
      return (a) => {
        if (typeof a === 'string') return typeof value === 'string' && a.includes(value);
        if (Array.isArray(a)) return isPrimitive(value) ? a.includes(value) : a.some((x) => deepEqual(x, value));
        return false;
      };
    case 'exists': {
      const want = value !== false;
      return (a) => (a !== undefined && a !== null) === want;
    }
  }
}

function membership(list: unknown[]): (a: unknown) => boolean {
  if (list.every(isPrimitive)) {
    const set = new Set<unknown>(list);
    return (a) => set.has(a);
  }
  return (a) => list.some((x) => deepEqual(a, x));
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

/** Structural equality of JSON-like values (own enumerable keys). */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  try {
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    if (Array.isArray(a)) {
      const bb = b as unknown[];
      return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
    }
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    const ob = b as Record<string, unknown>;
    const oa = a as Record<string, unknown>;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(ob, k) && deepEqual(oa[k], ob[k]));
  } catch {
    return false;
  }
}
