// Every package through require() (the CJS builds), on the lowest declared Node.
const assert = require('node:assert/strict');
const expected = {
  '@toolgate/core': ['createGate', 'policyReviewer', 'httpReviewer'],
  '@toolgate/openai-agents': ['GovernanceHooks', 'governTool'],
  '@toolgate/langgraph': ['governanceNode', 'addGovernance'],
  '@toolgate/langgraph/middleware': ['governanceMiddleware'],
  '@toolgate/ai-sdk': ['withGovernance', 'toolApproval'],
  '@toolgate/reviewer': ['createReviewServer', 'runCli'],
  '@toolgate/mcp': ['governMcpClient', 'startMcpProxy'],
};
for (const [name, exports] of Object.entries(expected)) {
  const mod = require(name);
  for (const e of exports) assert.equal(typeof mod[e], 'function', `${name} exports ${e}`);
}
console.log(`require(): ${Object.keys(expected).length} entry points load`);
