import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync, type Plugin } from 'esbuild';

/**
 * Turns the dashboard's asset files into the text the server sends. One implementation for both
 * ways the package runs: from its TypeScript sources (tests, `node --import source-hooks`), where
 * `dashboard-js.ts` and `dashboard-css.ts` call these at import time; and the tsup build, whose
 * esbuild plugin (`dashboardAssetsPlugin`, used by tsup.config.ts) calls them and puts the text
 * into the bundle in place of those two modules, so nothing of this file or of esbuild is in `dist`.
 */
const BROWSER_DIR = fileURLToPath(new URL('./browser/', import.meta.url));
const CSS_FILE = fileURLToPath(new URL('./dashboard.css', import.meta.url));

/** `browser/dashboard.ts` and what it imports, as one strict-mode classic script (an IIFE, ES2020, not minified). */
export function bundleDashboardScript(): string {
  const result = buildSync({
    entryPoints: ['dashboard.ts'],
    absWorkingDir: BROWSER_DIR,
    tsconfig: 'tsconfig.json',
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no dashboard script');
  return file.text;
}

/** `dashboard.css` as it is on disk. */
export function readDashboardCss(): string {
  return readFileSync(CSS_FILE, 'utf8');
}

/**
 * For the package build (tsup.config.ts): loads `dashboard-js.ts` and `dashboard-css.ts` as modules
 * that hold the bundled script and the stylesheet as string constants.
 */
export function dashboardAssetsPlugin(): Plugin {
  return {
    name: 'toolgate-dashboard-assets',
    setup(build) {
      build.onLoad({ filter: /[\\/]dashboard[\\/]assets[\\/]dashboard-(js|css)\.ts$/ }, (args) => {
        const js = args.path.endsWith('dashboard-js.ts');
        const text = js ? bundleDashboardScript() : readDashboardCss();
        return { contents: `export const ${js ? 'DASHBOARD_JS' : 'DASHBOARD_CSS'}: string = ${JSON.stringify(text)};\n`, loader: 'ts' };
      });
    },
  };
}
