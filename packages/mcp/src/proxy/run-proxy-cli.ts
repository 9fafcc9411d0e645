import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { GateOptions } from '@toolgate/core';
import { httpReviewer, jsonlAudit, policyReviewer, ToolgateError } from '@toolgate/core';
import { listenStreamableHttp } from './http-listener';
import { startMcpProxy, type McpProxy } from './mcp-proxy';
import { parseProxyArgs, PROXY_USAGE, type ProxyCliOptions } from './parse-proxy-args';

/** Builds the gate's options from the command line. */
export function gateOptionsFrom(o: ProxyCliOptions): GateOptions {
  const url = o.reviewerUrl?.replace(/\/+$/, '');
  return {
    reviewer: url ? httpReviewer({ url, apiKey: o.apiKey ?? '' }) : policyReviewer(o.policy ?? ''),
    ...(url ? { jwksUrl: `${url}/.well-known/jwks.json` } : {}),
    highStakes: o.highStakes.length > 0 ? o.highStakes : { all: true },
    failMode: o.failMode,
    onReview: o.onReview,
    ...(o.audit ? { audit: jsonlAudit(o.audit) } : {}),
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.reviewTimeoutMs ? { reviewTimeoutMs: o.reviewTimeoutMs } : {}),
    agent: 'mcp-proxy',
  };
}

/**
 * Runs the proxy until the client closes stdin. Problems go to stderr (stdout is the MCP channel)
 * and end the process with a non-zero code: the proxy never dies silently.
 */
export async function runProxyCli(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    process.stderr.write(PROXY_USAGE);
    process.exitCode = argv.length === 0 ? 2 : 0;
    return;
  }
  let proxy: McpProxy | undefined;
  let listen: ProxyCliOptions['listen'];
  const fail = (message: string, code: number) => {
    process.stderr.write(`${message.startsWith('toolgate-mcp:') ? '' : 'toolgate-mcp: '}${message}\n`);
    process.exitCode = code;
  };
  try {
    const options = parseProxyArgs(argv);
    listen = options.listen;
    proxy = await startMcpProxy({
      upstreams: options.upstreams,
      gate: gateOptionsFrom(options),
      ...(options.highStakesAnnotations ? { highStakesAnnotations: options.highStakesAnnotations } : {}),
    });
  } catch (error) {
    fail(error instanceof ToolgateError ? error.message : `cannot start: ${error instanceof Error ? error.message : String(error)}`, 2);
    await proxy?.close();
    return;
  }
  const started = proxy;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await started.close().catch((error: unknown) => fail(`closing: ${error instanceof Error ? error.message : String(error)}`, 1));
    process.exit(process.exitCode ?? code);
  };
  process.once('SIGTERM', () => void stop(0));
  process.once('SIGINT', () => void stop(0));
  process.on('uncaughtException', (error) => {
    fail(`unexpected error: ${error.stack ?? error.message}`, 1);
    void stop(1);
  });
  if (listen) {
    try {
      const listener = await listenStreamableHttp(started, listen.host, listen.port, (line) => process.stderr.write(`toolgate-mcp: ${line}\n`));
      process.stderr.write(`toolgate-mcp: listening on ${listener.url}\n`);
    } catch (error) {
      fail(`cannot listen on ${listen.host}:${listen.port}: ${error instanceof Error ? error.message : String(error)}`, 2);
      await stop(2);
    }
    return;
  }
  // Over stdio, the client closing stdin is the end of the session.
  process.stdin.once('end', () => void stop(0));
  const transport = new StdioServerTransport();
  transport.onclose = () => void stop(0);
  await started.connect(transport);
}
