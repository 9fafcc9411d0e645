import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleDashboardScript, dashboardAssetsPlugin, readDashboardCss } from './bundle-dashboard';
import { DASHBOARD_CSS } from './dashboard-css';
import { DASHBOARD_JS } from './dashboard-js';

describe('dashboard assets', () => {
  it('the script is browser/dashboard.ts bundled into one classic strict-mode script that compiles', () => {
    const js = bundleDashboardScript();
    expect(DASHBOARD_JS).toBe(js);
    expect(js.startsWith('"use strict";\n(() => {\n')).toBe(true);
    expect(() => new Function(js)).not.toThrow();
    // No module syntax and nothing of Node: the page loads it with a plain <script src>.
    expect(js).not.toMatch(/^\s*(import|export)\b|\brequire\(|\bprocess\./m);
    // visible.ts is bundled in and the page's elements go through it.
    expect(js).toContain('function visible(text)');
    expect(js).toContain('else if (k === "text") e.textContent = visible(v);');
    // Type annotations are gone (esbuild strips them; a stray one would be a syntax error above).
    expect(js).not.toContain('HTMLElementTagNameMap');
  });

  it('the stylesheet is dashboard.css as it is on disk', () => {
    const file = readFileSync(fileURLToPath(new URL('./dashboard.css', import.meta.url)), 'utf8');
    expect(DASHBOARD_CSS).toBe(file);
    expect(readDashboardCss()).toBe(file);
    expect(file).toContain('.card');
  });

  it('the build plugin replaces both loaders with their text, so the bundle holds no esbuild and reads no file', async () => {
    const out = await build({
      stdin: { contents: "export { DASHBOARD_JS } from './dashboard-js';\nexport { DASHBOARD_CSS } from './dashboard-css';\n", resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      plugins: [dashboardAssetsPlugin()],
      logLevel: 'silent',
    });
    const text = out.outputFiles[0]!.text;
    expect(text).not.toContain('esbuild');
    expect(text).not.toContain('readFileSync');
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`)) as { DASHBOARD_JS: string; DASHBOARD_CSS: string };
    expect(mod.DASHBOARD_JS).toBe(DASHBOARD_JS);
    expect(mod.DASHBOARD_CSS).toBe(DASHBOARD_CSS);
  });
});
