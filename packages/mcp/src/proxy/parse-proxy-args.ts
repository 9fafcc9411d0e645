import { parseArgs } from 'node:util';
import { McpGovernanceOptionsError } from '../errors';
import { loadProxyConfig, type FlagValues } from './proxy-config';
import type { PrefixedUpstream } from './upstream-router';

export interface ProxyCliOptions {
  policy?: string;
  highStakes: string[];
  reviewerUrl?: string;
  apiKey?: string;
  failMode: 'closed' | 'open';
  onReview: 'pause' | 'wait' | 'deny';
  audit?: string;
  highStakesAnnotations?: 'destructive';
  timeoutMs?: number;
  reviewTimeoutMs?: number;
  /** The upstream servers: one without a prefix from the command line, any number from --config. */
  upstreams: PrefixedUpstream[];
  /** `--listen 127.0.0.1:PORT`: serve Streamable HTTP instead of stdio. */
  listen?: { host: string; port: number };
}

export const PROXY_USAGE = `Usage: toolgate-mcp [options] -- <upstream command> [args...]
       toolgate-mcp [options] --upstream-url URL
       toolgate-mcp --config toolgate.mcp.yaml

Speaks MCP over stdio to its client and runs the upstream MCP server over stdio. tools/call of a
high-stakes tool goes through the toolgate gate first; everything else passes through.

  --policy FILE                 a toolgate policy (JSON or YAML) decides
  --reviewer-url URL            an HTTP reviewer decides (proofs verified against URL/.well-known/jwks.json)
  --api-key KEY                 its eval key (or TOOLGATE_API_KEY)
  --high-stakes 'a,db.*'        high-stakes tool names and globs (repeatable; default: every tool)
  --high-stakes-annotations destructive
                                also gate tools annotated as destructive (annotations only add)
  --fail-mode closed|open       when the reviewer is down (default closed)
  --on-review pause|wait|deny   a 'review' verdict: ask the user through MCP elicitation (pause,
                                default; denied when the client cannot elicit), wait for a human
                                on the reviewer, or deny
  --audit FILE                  append the hash-chained audit trail (JSON lines) to FILE
  --timeout-ms N                the gate's deadline per review (default 5000)
  --review-timeout-ms N         how long a human may take (default 300000)
  --listen 127.0.0.1:PORT       serve MCP over Streamable HTTP at http://127.0.0.1:PORT/mcp instead of stdio
  --upstream-url URL            the upstream is a Streamable HTTP MCP server (instead of a command after --)
  --config FILE                 every option from a YAML/JSON file, which can front several servers
                                (servers: [{ prefix, command, args, env } | { prefix, url }])
`;

/** Parses `toolgate-mcp` arguments. Throws McpGovernanceOptionsError with what to fix. */
export function parseProxyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ProxyCliOptions {
  const found = argv.indexOf('--');
  const dash = found === -1 ? argv.length : found;
  let values: FlagValues;
  try {
    ({ values } = parseArgs({
      args: argv.slice(0, dash),
      strict: true,
      allowPositionals: false,
      options: {
        policy: { type: 'string' },
        'high-stakes': { type: 'string', multiple: true },
        'reviewer-url': { type: 'string' },
        'api-key': { type: 'string' },
        'fail-mode': { type: 'string' },
        'on-review': { type: 'string' },
        audit: { type: 'string' },
        'high-stakes-annotations': { type: 'string' },
        'timeout-ms': { type: 'string' },
        'review-timeout-ms': { type: 'string' },
        'upstream-url': { type: 'string' },
        listen: { type: 'string' },
        config: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new McpGovernanceOptionsError(`toolgate-mcp: ${error instanceof Error ? error.message : String(error)}`);
  }
  let fromFile: PrefixedUpstream[] | undefined;
  if (values.config !== undefined) {
    if (Object.keys(values).length > 1 || found !== -1) throw new McpGovernanceOptionsError('toolgate-mcp: with --config, put every option in the file (no other options, no upstream command after --)');
    const file = loadProxyConfig(values.config);
    values = file.values;
    fromFile = file.upstreams;
  }
  const failMode = values['fail-mode'] ?? 'closed';
  if (failMode !== 'closed' && failMode !== 'open') throw new McpGovernanceOptionsError(`toolgate-mcp: --fail-mode must be closed or open (got ${failMode})`);
  const onReview = values['on-review'] ?? 'pause';
  if (onReview !== 'pause' && onReview !== 'wait' && onReview !== 'deny') throw new McpGovernanceOptionsError(`toolgate-mcp: --on-review must be pause, wait or deny (got ${onReview})`);
  const annotations = values['high-stakes-annotations'];
  if (annotations !== undefined && annotations !== 'destructive') throw new McpGovernanceOptionsError(`toolgate-mcp: --high-stakes-annotations accepts only destructive (got ${annotations})`);
  const apiKey = values['api-key'] ?? env.TOOLGATE_API_KEY;
  if (values.policy === undefined && values['reviewer-url'] === undefined) throw new McpGovernanceOptionsError('toolgate-mcp: pass --policy FILE or --reviewer-url URL (who decides)');
  if (values.policy !== undefined && values['reviewer-url'] !== undefined) throw new McpGovernanceOptionsError('toolgate-mcp: pass either --policy or --reviewer-url, not both (put the policy on the review server)');
  if (values['reviewer-url'] !== undefined && !apiKey) throw new McpGovernanceOptionsError('toolgate-mcp: --reviewer-url needs --api-key KEY (or TOOLGATE_API_KEY)');
  const highStakes = (values['high-stakes'] ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  const rest = argv.slice(dash + 1);
  const upstreamUrl = values['upstream-url'];
  if (upstreamUrl !== undefined && rest.length > 0) throw new McpGovernanceOptionsError('toolgate-mcp: pass either --upstream-url or an upstream command after --, not both');
  if (upstreamUrl === undefined && rest.length === 0 && !fromFile) {
    throw new McpGovernanceOptionsError('toolgate-mcp: give the upstream server command after -- (e.g. toolgate-mcp --policy policy.yaml -- npx -y @modelcontextprotocol/server-filesystem /tmp), or --upstream-url URL');
  }
  if (upstreamUrl !== undefined && !/^https?:\/\//.test(upstreamUrl)) throw new McpGovernanceOptionsError(`toolgate-mcp: --upstream-url must be an http(s) URL (got ${upstreamUrl})`);
  const [command, ...args] = rest as [string, ...string[]];
  return {
    ...(values.policy !== undefined ? { policy: values.policy } : {}),
    highStakes,
    ...(values['reviewer-url'] !== undefined ? { reviewerUrl: values['reviewer-url'] } : {}),
    ...(apiKey ? { apiKey } : {}),
    failMode,
    onReview,
    ...(values.audit !== undefined ? { audit: values.audit } : {}),
    ...(annotations ? { highStakesAnnotations: annotations } : {}),
    ...(values['timeout-ms'] !== undefined ? { timeoutMs: positiveInt(values['timeout-ms'], '--timeout-ms') } : {}),
    ...(values['review-timeout-ms'] !== undefined ? { reviewTimeoutMs: positiveInt(values['review-timeout-ms'], '--review-timeout-ms') } : {}),
    upstreams: fromFile ?? [upstreamUrl !== undefined ? { prefix: '', url: upstreamUrl } : { prefix: '', command, args }],
    ...(values.listen !== undefined ? { listen: parseListen(values.listen) } : {}),
  };
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new McpGovernanceOptionsError(`toolgate-mcp: ${flag} must be a positive whole number of milliseconds (got ${text})`);
  return n;
}

/** `127.0.0.1:8765`, `localhost:8765`, `[::1]:8765`: loopback only (port 0 picks a free one). */
function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const host = m ? (m[1] ?? m[2] ?? '') : '';
  const port = m ? Number(m[3]) : NaN;
  if (!m || !['127.0.0.1', 'localhost', '::1'].includes(host) || port > 65535) {
    throw new McpGovernanceOptionsError(`toolgate-mcp: --listen takes a loopback address and port, e.g. 127.0.0.1:8765 (got ${text}); the proxy serves this machine only`);
  }
  return { host, port };
}
