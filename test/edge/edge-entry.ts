// What the edge test runs inside EdgeRuntime: core and the AI SDK adapter as an edge bundler
// resolves them, plus what a route handler would use next to them.
export * as core from '@toolgate/core';
export * as aiSdk from '@toolgate/ai-sdk';
export { tool } from 'ai';
export { z } from 'zod';
