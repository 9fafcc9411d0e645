// The edge build swaps each module below for its `.edge.ts` twin (scripts/edge-build.ts), while
// TypeScript and the published .d.ts only know the Node module: each twin must fit wherever the
// Node module is used.
import { describe, expectTypeOf, it } from 'vitest';

type Twins = [
  [typeof import('./sha256.edge'), typeof import('./sha256')],
  [typeof import('./random-uuid.edge'), typeof import('./random-uuid')],
  [typeof import('./http-client.edge'), typeof import('./http-client')],
  [typeof import('./node-crypto.edge'), typeof import('./node-crypto')],
  [typeof import('../audit/jsonl-audit.edge'), typeof import('../audit/jsonl-audit')],
  [typeof import('../audit/verify-audit-log.edge'), typeof import('../audit/verify-audit-log')],
  [typeof import('../policy/load-policy.edge'), typeof import('../policy/load-policy')],
];

describe('edge twins', () => {
  it('export what their Node modules export, with compatible types', () => {
    expectTypeOf<Twins[0][0]>().toExtend<Twins[0][1]>();
    expectTypeOf<Twins[1][0]>().toExtend<Twins[1][1]>();
    expectTypeOf<Twins[2][0]>().toExtend<Twins[2][1]>();
    expectTypeOf<Twins[3][0]>().toExtend<Twins[3][1]>();
    expectTypeOf<Twins[4][0]>().toExtend<Twins[4][1]>();
    expectTypeOf<Twins[5][0]>().toExtend<Twins[5][1]>();
    expectTypeOf<Twins[6][0]>().toExtend<Twins[6][1]>();
  });
});
