/**
 * The consumer-app check: what a user gets from the registry, proven before we publish.
 *
 * 1. `pnpm pack` every package (built first: `pnpm build`) into a temp dir.
 * 2. A fresh app in another temp dir installs the tarballs with **npm** (what our users use) plus
 *    the latest release of every framework (`@openai/agents`, `@langchain/langgraph`,
 *    `@langchain/core`, `langchain`, `ai`, `zod`, `@modelcontextprotocol/sdk`) and the `node`
 *    package at the lowest Node the packages declare. Any ERESOLVE (a peer range that shuts out a framework release) fails.
 * 3. On that Node: each package is imported (ESM and require), a gate with a policy allows one call
 *    and denies one through each adapter, and the `toolgate` CLI answers `--version` and `--help`.
 *    `mcp.mjs` is an MCP client starting the installed `toolgate-mcp` bin in front of a stdio MCP
 *    server (a denied call never reaches it); `toolgate-mcp` answers `--version` and `--help`.
 *    `edge.mjs` bundles core and ai-sdk as an edge route would (conditions edge-light, worker,
 *    browser) and runs them in `edge-runtime`'s EdgeRuntime (web APIs only).
 *
 * Run: `node test/consumer/check.ts` (after `pnpm build`). Needs the npm registry; bounded in time.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP_FILES = fileURLToPath(new URL('./app', import.meta.url));
const PACKAGES = ['core', 'openai-agents', 'langgraph', 'ai-sdk', 'reviewer', 'mcp'];
const FRAMEWORKS = ['@openai/agents', '@langchain/langgraph', '@langchain/core', 'langchain', 'ai', 'zod', '@modelcontextprotocol/sdk'];
const SCRIPTS = ['core.mjs', 'core.cjs', 'require-all.cjs', 'openai-agents.mjs', 'langgraph.mjs', 'ai-sdk.mjs', 'reviewer.mjs', 'mcp.mjs', 'edge.mjs'];
/** What edge.mjs bundles and runs with: an edge bundler's resolution (esbuild) and a web-standard runtime. */
const EDGE_TOOLS = ['esbuild', 'edge-runtime'];
const MINUTE = 60_000;

class ConsumerCheckError extends Error {
  readonly code = 'CONSUMER_CHECK_FAILED';
}

/** The environment for npm and the app: without the npm_* variables a pnpm script sets (they would steer npm). */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_|^PNPM_|^pnpm_/i.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], options: SpawnSyncOptions & { timeout: number }): string {
  const started = Date.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  const out = `${String(r.stdout ?? '')}${String(r.stderr ?? '')}`;
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new ConsumerCheckError(`${cmd} ${args.join(' ')} failed (${why}, ${took}s):\n${out.trim()}`);
  }
  return out;
}

function lowestNode(): string {
  const versions = PACKAGES.map((p) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages', p, 'package.json'), 'utf8')) as { name: string; engines?: { node?: string } };
    const m = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines?.node ?? '');
    if (!m?.[1]) throw new ConsumerCheckError(`${pkg.name}: engines.node must be ">=x.y.z" (is ${JSON.stringify(pkg.engines?.node)})`);
    return m[1];
  });
  const unique = [...new Set(versions)];
  if (unique.length !== 1) throw new ConsumerCheckError(`the packages declare different lowest Nodes: ${unique.join(', ')}`);
  return unique[0]!;
}

function main(): void {
  const node = lowestNode();
  for (const p of PACKAGES) {
    if (!existsSync(join(ROOT, 'packages', p, 'dist', 'index.js'))) throw new ConsumerCheckError(`packages/${p}/dist is missing: run pnpm build first`);
  }
  const work = mkdtempSync(join(tmpdir(), 'toolgate-consumer-'));
  const packs = join(work, 'packs');
  const app = join(work, 'app');
  try {
    console.log(`consumer check in ${work} (lowest declared Node: ${node})`);
    for (const p of PACKAGES) run('pnpm', ['pack', '--pack-destination', packs], { cwd: join(ROOT, 'packages', p), timeout: 2 * MINUTE });
    const tarballs = readdirSync(packs).filter((f) => f.endsWith('.tgz')).map((f) => join(packs, f));
    if (tarballs.length !== PACKAGES.length) throw new ConsumerCheckError(`expected ${PACKAGES.length} tarballs, got ${tarballs.join(', ')}`);

    cpSync(APP_FILES, app, { recursive: true });
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'toolgate-consumer-check', version: '0.0.0', private: true }, null, 2)}\n`);
    const install = ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs, ...FRAMEWORKS.map((f) => `${f}@latest`), ...EDGE_TOOLS.map((t) => `${t}@latest`), `node@${node}`];
    console.log(`npm ${install.join(' ').replaceAll(`${packs}/`, '')}`);
    run('npm', install, { cwd: app, env: cleanEnv(), timeout: 8 * MINUTE });

    const bin = join(app, 'node_modules', '.bin');
    const env = cleanEnv({ PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` });
    const nodeBin = join(bin, 'node');
    const version = run(nodeBin, ['--version'], { cwd: app, env, timeout: MINUTE }).trim();
    if (version !== `v${node}`) throw new ConsumerCheckError(`the app's Node is ${version}, expected v${node}`);
    const installed = FRAMEWORKS.map((f) => {
      const pkg = JSON.parse(readFileSync(join(app, 'node_modules', f, 'package.json'), 'utf8')) as { version: string };
      return `${f}@${pkg.version}`;
    });
    console.log(`installed with npm: ${installed.join(' ')}`);

    for (const script of SCRIPTS) {
      process.stdout.write(run(nodeBin, ['--disable-warning=ExperimentalWarning', script], { cwd: app, env, timeout: 2 * MINUTE }));
    }
    // The CLI through its bin link: `#!/usr/bin/env node` finds the app's Node first on PATH.
    const cliVersion = run(join(bin, 'toolgate'), ['--version'], { cwd: app, env, timeout: MINUTE }).trim();
    const reviewerVersion = (JSON.parse(readFileSync(join(ROOT, 'packages/reviewer/package.json'), 'utf8')) as { version: string }).version;
    if (!cliVersion.includes(reviewerVersion)) throw new ConsumerCheckError(`toolgate --version printed ${JSON.stringify(cliVersion)}, expected ${reviewerVersion}`);
    const help = run(join(bin, 'toolgate'), ['--help'], { cwd: app, env, timeout: MINUTE });
    if (!/serve/.test(help)) throw new ConsumerCheckError(`toolgate --help does not list serve:\n${help}`);
    console.log(`toolgate --version: ${cliVersion}; --help lists the commands`);
    // The MCP proxy's bin, as an MCP client's configuration starts it (both print on stderr: stdout is the MCP channel).
    const mcpVersion = (JSON.parse(readFileSync(join(ROOT, 'packages/mcp/package.json'), 'utf8')) as { version: string }).version;
    const proxyVersion = run(join(bin, 'toolgate-mcp'), ['--version'], { cwd: app, env, timeout: MINUTE }).trim();
    if (!proxyVersion.includes(mcpVersion)) throw new ConsumerCheckError(`toolgate-mcp --version printed ${JSON.stringify(proxyVersion)}, expected ${mcpVersion}`);
    const proxyHelp = run(join(bin, 'toolgate-mcp'), ['--help'], { cwd: app, env, timeout: MINUTE });
    if (!/--policy/.test(proxyHelp) || !/--high-stakes/.test(proxyHelp)) throw new ConsumerCheckError(`toolgate-mcp --help does not list --policy and --high-stakes:\n${proxyHelp}`);
    console.log(`toolgate-mcp --version: ${proxyVersion}; --help lists the options`);
    console.log(`consumer check on Node ${version}: ${PACKAGES.length} packed packages installed with npm beside the latest frameworks`);
    console.log(`consumer: ${SCRIPTS.length + 4} passed, 0 failed`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  console.error(err instanceof ConsumerCheckError ? `consumer check FAILED: ${err.message}` : err);
  process.exit(1);
}
