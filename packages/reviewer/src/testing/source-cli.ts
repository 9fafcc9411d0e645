import { spawn, spawnSync, type ChildProcessWithoutNullStreams, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HOOKS = fileURLToPath(new URL('./source-hooks.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

/** `node` arguments that run the `toolgate` CLI from its TypeScript sources in a real process. */
export function sourceCliArgs(...args: string[]): string[] {
  return ['--disable-warning=ExperimentalWarning', '--experimental-transform-types', '--import', HOOKS, CLI, ...args];
}

export interface CliRunOptions {
  cwd?: string;
  /** Added to a copy of this process's environment without any TOOLGATE_* variable. */
  env?: Record<string, string>;
}

function envFor(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TOOLGATE_')));
  return { ...base, ...extra };
}

/** Runs the source CLI to completion. */
export function runSourceCli(args: string[], options: CliRunOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, sourceCliArgs(...args), { encoding: 'utf8', timeout: 60_000, cwd: options.cwd, env: envFor(options.env) });
}

/** Starts the source CLI (e.g. `serve`) and leaves it running. */
export function spawnSourceCli(args: string[], options: CliRunOptions = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, sourceCliArgs(...args), { cwd: options.cwd, env: envFor(options.env) });
}
