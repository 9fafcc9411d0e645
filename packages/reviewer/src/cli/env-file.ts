import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { ConfigError } from './serve-config';

/**
 * Takes `--env-file FILE` (or `--env-file=FILE`, any position, repeatable) out of `argv`. The CLI
 * reads no `.env` on its own: only the files named here.
 */
export function takeEnvFileFlags(argv: readonly string[]): { argv: string[]; files: string[] } {
  const rest: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === '--env-file') {
      const file = argv[i + 1];
      if (file === undefined || file.startsWith('-')) throw new ConfigError('--env-file needs a file, e.g. --env-file .env (`toolgate init` writes one)');
      files.push(file);
      i++;
    } else if (a.startsWith('--env-file=')) {
      files.push(a.slice('--env-file='.length));
    } else {
      rest.push(a);
    }
  }
  return { argv: rest, files };
}

/**
 * The environment with the files' variables added underneath it: a variable already set in the
 * process environment wins over the file (as with `node --env-file`), and a flag wins over both.
 * A later file wins over an earlier one.
 */
export function withEnvFiles(env: Record<string, string | undefined>, files: readonly string[], cwd: string): Record<string, string | undefined> {
  const fromFiles: Record<string, string> = {};
  for (const file of files) {
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`--env-file ${file}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); \`toolgate init\` writes a .env, or leave the flag out`);
    }
    Object.assign(fromFiles, parseEnv(text));
  }
  const merged: Record<string, string | undefined> = { ...fromFiles };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}
