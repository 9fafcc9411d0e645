import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  name: string;
  version: string;
}

const NAME = '@toolgate/reviewer';

/**
 * The reviewer's package.json, found by walking up from `from` (this module: `src/cli/` in the
 * workspace, `dist/` once built), so `toolgate --version` tells the truth from both.
 */
export function packageInfo(from: string | URL = import.meta.url): PackageInfo {
  const start = typeof from === 'string' && !from.startsWith('file:') ? from : fileURLToPath(from);
  let dir = dirname(start);
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as Partial<PackageInfo>;
      if (pkg.name === NAME && typeof pkg.version === 'string') return { name: pkg.name, version: pkg.version };
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the package.json of ${NAME} above ${start}`);
    dir = up;
  }
}

/** What `toolgate --version` prints (the bin shim prints the same line without loading the CLI). */
export function versionLine(info: PackageInfo = packageInfo()): string {
  return `toolgate ${info.version} (${info.name}, Node ${process.versions.node})`;
}
