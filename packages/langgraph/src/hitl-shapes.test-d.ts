// toolgate's HITL shapes are LangChain's own (langchain `humanInTheLoopMiddleware`): each way assignable.
import type { ActionRequest, Decision as LcDecision, HITLRequest, HITLResponse, ReviewConfig } from 'langchain';
import { describe, expectTypeOf, it } from 'vitest';
import type { HitlActionRequest, HitlDecision, HitlRequest, HitlResponse, HitlReviewConfig, HumanReviewInterrupt } from './index';

describe('HITL shapes match langchain', () => {
  it('request side: what toolgate interrupts with is a HITLRequest', () => {
    expectTypeOf<HitlRequest>().toExtend<HITLRequest>();
    expectTypeOf<HumanReviewInterrupt>().toExtend<HITLRequest>();
    expectTypeOf<HitlActionRequest>().toExtend<ActionRequest>();
    expectTypeOf<HitlReviewConfig>().toExtend<ReviewConfig>();
  });
  it('response side: every HITLResponse langchain apps send is a toolgate HitlResponse, and back', () => {
    expectTypeOf<HITLResponse>().toExtend<HitlResponse>();
    expectTypeOf<HitlResponse>().toExtend<HITLResponse>();
    expectTypeOf<LcDecision>().toExtend<HitlDecision>();
  });
});
