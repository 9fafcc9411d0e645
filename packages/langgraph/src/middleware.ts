// Entry `@toolgate/langgraph/middleware`: needs the optional peer `langchain`.
export { governanceMiddleware, type GovernanceMiddlewareOptions } from './middleware/governance-middleware';
