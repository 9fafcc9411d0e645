import { compileField, type CompiledField } from './field-path';
import { compileLinearPattern, type LinearPattern } from './linear-pattern';
import type { PolicyCondition, PolicyOp } from './schema';
import { isSecretField } from '../audit/redact';
import { checkTextHead, shownExpected } from './show-value';

/**
 * A `when` condition compiled once: its field split, its RegExp built, its `in` list as a Set.
 * Compact: no closure per condition for the ops tested inline, and the reason text built on
 * demand (large policies hold thousands of these).
 */
export interface CompiledCondition {
  readonly field: CompiledField;
  /** `field.path`, one load closer for the evaluator's hot loop. */
  readonly path: string;
  readonly op: PolicyOp;
  /**
   * The value as written in the policy, as reported in `expected` and reasons: `[REDACTED]` when
   * the field names a secret and the value is compared with it (see `shownExpected`).
   */
  readonly expected: unknown;
  /** The field names a secret (`args.api_key`): its actual value is reported as `[REDACTED]`. */
  readonly secret: boolean;
  /** True when the condition holds for `actual`. Never throws. */
  test(actual: unknown): boolean;
  /** `exists` reports whether the field exists as `actual`, not its value. */
  readonly reportsExistence: boolean;
  /** Constant start of this check's text in a reason: `args.amount gt 1000 (actual `. */
  readonly textHead: string;
  /** @internal How `conditionHolds` tests this condition inline (`OP_CALL`: through the tester in `operand`). */
  readonly code: number;
  /** @internal The operand of an inline test (a number, a primitive, a short list), or the tester for `OP_CALL`. */
  readonly operand: unknown;
  /**
   * @internal The slot of the field in an evaluation's read cache (a field several conditions of
   * the policy test is read once per evaluation), or -1: read directly.
   */
  readonly slot: number;
  /** For `matches`: the pattern, compiled once for RE2 (linear time in the input). */
  readonly pattern?: LinearPattern | undefined;
}

/** The compiled pattern of each `matches` condition (few have one: no field on every condition). */
const patterns = new WeakMap<CompiledCondition, LinearPattern>();

/** The one shape of compiled conditions (fields in the constructor, methods on the prototype). */
class Condition implements CompiledCondition {
  readonly field: CompiledField;
  readonly op: PolicyOp;
  readonly expected: unknown;
  readonly secret: boolean;
  readonly code: number;
  readonly operand: unknown;
  readonly slot: number;
  constructor(field: CompiledField, op: PolicyOp, value: unknown, slot: number) {
    this.field = field;
    this.op = op;
    this.slot = slot;
    this.secret = isSecretField(field.path);
    this.expected = shownExpected(this.secret, op, op === 'exists' ? (value ?? true) : value);
    const inlined = inline(op, value);
    this.code = inlined.code;
    this.operand = inlined.operand;
  }

  // Derived on the prototype rather than stored: a policy of 10,000 rules holds as many conditions.
  get path(): string {
    return this.field.path;
  }

  get reportsExistence(): boolean {
    return this.op === 'exists';
  }

  get pattern(): LinearPattern | undefined {
    return this.op === 'matches' ? patterns.get(this) : undefined;
  }

  test(actual: unknown): boolean {
    // The general testers, not the inline switch: the two agree (conditions.test.ts checks it).
    return this.code === OP_CALL ? (this.operand as (a: unknown) => boolean)(actual) : tester(this.op, this.operand)(actual);
  }

  get textHead(): string {
    return checkTextHead(this.path, this.op, this.expected);
  }
}

// Inline op codes. One switch in a single function keeps the evaluator's call site monomorphic:
// calling a different closure per condition costs more than the comparison itself.
const OP_CALL = 0;
const OP_EQ = 1;
const OP_NE = 2;
const OP_LT = 3;
const OP_LTE = 4;
const OP_GT = 5;
const OP_GTE = 6;
const OP_IN = 7;
const OP_NIN = 8;
/** Lists up to this length are scanned instead of hashed. */
const SCAN_MAX = 8;

/**
 * True when compiled condition `c` holds for `actual`; the same answer as `c.test(actual)`, without
 * a closure call for the common ops (comparisons, scalar eq/ne, short in/nin lists). Never throws.
 */
export function conditionHolds(c: CompiledCondition, actual: unknown): boolean {
  switch (c.code) {
    case OP_EQ:
      return actual === c.operand;
    case OP_NE:
      return actual !== c.operand;
    // NaN compares false either way, as isNumber() excludes it in `test`.
    case OP_LT:
      return typeof actual === 'number' && actual < (c.operand as number);
    case OP_LTE:
      return typeof actual === 'number' && actual <= (c.operand as number);
    case OP_GT:
      return typeof actual === 'number' && actual > (c.operand as number);
    case OP_GTE:
      return typeof actual === 'number' && actual >= (c.operand as number);
    case OP_IN:
    case OP_NIN: {
      const list = c.operand as ReadonlyArray<unknown>;
      let found = false;
      for (let i = 0; i < list.length; i++) {
        if (list[i] === actual) {
          found = true;
          break;
        }
      }
      return found === (c.code === OP_IN);
    }
    default:
      return (c.operand as (a: unknown) => boolean)(actual);
  }
}

/** The inline form of a condition, or OP_CALL when only `test` can decide it. */
function inline(op: PolicyOp, value: unknown): { code: number; operand: unknown } {
  switch (op) {
    case 'eq':
    case 'ne':
      return isPrimitive(value) ? { code: op === 'eq' ? OP_EQ : OP_NE, operand: value } : { code: OP_CALL, operand: undefined };
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte':
      return typeof value === 'number' ? { code: { lt: OP_LT, lte: OP_LTE, gt: OP_GT, gte: OP_GTE }[op], operand: value } : { code: OP_CALL, operand: undefined };
    case 'in':
    case 'nin': {
      // `===` equals the Set's SameValueZero except for NaN, so lists holding NaN use the Set.
      const ok = Array.isArray(value) && value.length <= SCAN_MAX && value.every((v) => isPrimitive(v) && !Number.isNaN(v));
      return ok ? { code: op === 'in' ? OP_IN : OP_NIN, operand: Object.freeze([...(value as unknown[])]) } : { code: OP_CALL, operand: undefined };
    }
    default:
      return { code: OP_CALL, operand: undefined };
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

/**
 * Compiles one (schema-validated) condition. `fields` shares one compiled field path among the
 * conditions of a policy; `slot` is the field's read-cache slot (see `CompiledCondition.slot`).
 */
export function compileCondition(condition: PolicyCondition, fields?: Map<string, CompiledField>, slot = -1): CompiledCondition {
  const { op } = condition;
  const value = condition.value;
  let field = fields?.get(condition.field);
  if (field === undefined) {
    field = compileField(condition.field);
    fields?.set(condition.field, field);
  }
  const c = new Condition(field, op, value, slot);
  if (op === 'matches') {
    const pattern = compileLinearPattern(value as string, condition.flags ?? '');
    patterns.set(c, pattern);
    (c as { operand: unknown }).operand = (a: unknown) => typeof a === 'string' && pattern.test(a);
  } else if (c.code === OP_CALL) {
    (c as { operand: unknown }).operand = tester(op, value);
  }
  return c;
}

function tester(op: PolicyOp, value: unknown): (actual: unknown) => boolean {
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
    case 'matches':
      // Compiled for RE2 by compileCondition: never a backtracking RegExp on agent-chosen text.
      return () => false;
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
