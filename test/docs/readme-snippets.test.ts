import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { allSnippets, type Snippet } from './snippets';

/**
 * Every TypeScript snippet of every README and doc is type-checked against the workspace sources
 * (the tsconfig's paths), and the complete programs among them are run, so a snippet cannot rot.
 * How a snippet is marked: see snippets.ts.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Virtual files beside this test, so bare imports resolve through test/node_modules (every framework) and the workspace paths. */
const VIRTUAL_DIR = join(HERE, '__snippets__');
const RUN_DIR = join(HERE, '.run');
const snippets = allSnippets(ROOT);

function nameOf(s: Snippet): string {
  return `${s.file.replace(/[^a-zA-Z0-9]+/g, '-')}-L${s.line}`;
}

function sourceOf(s: Snippet): string {
  const prelude = s.prelude ? `${s.prelude}\n` : '';
  // `export {}` keeps each snippet in its own module scope.
  return `${prelude}${s.code}\nexport {};\n`;
}

let checked: Map<Snippet, string[]> | undefined;

/** One program for every checked snippet; returns each snippet's errors as `file:line: message`. */
function typeCheck(): Map<Snippet, string[]> {
  if (checked) return checked;
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } });
  if (!config) throw new Error('cannot read tsconfig.json');
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, noUnusedLocals: false, noUnusedParameters: false };
  const files = new Map<string, Snippet>();
  for (const s of snippets) if (s.mode !== 'skip') files.set(join(VIRTUAL_DIR, `${nameOf(s)}.ts`), s);
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => (files.has(f) ? sourceOf(files.get(f)!) : readFile.call(host, f));
  host.getSourceFile = (f, lang, ...rest) => {
    const s = files.get(f);
    return s ? ts.createSourceFile(f, sourceOf(s), lang) : getSourceFile.call(host, f, lang, ...rest);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  checked = new Map();
  for (const [f, s] of files) {
    const sf = program.getSourceFile(f)!;
    const preludeLines = s.prelude ? s.prelude.split('\n').length : 0;
    const diags = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    checked.set(
      s,
      diags.map((d) => {
        const at = d.start === undefined ? undefined : sf.getLineAndCharacterOfPosition(d.start);
        const inCode = at && at.line >= preludeLines ? `${s.file}:${s.line + 1 + at.line - preludeLines}` : `${s.file}:${s.line} (prelude)`;
        return `${inCode}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      }),
    );
  }
  return checked;
}

afterAll(() => rmSync(RUN_DIR, { recursive: true, force: true }));

describe('every TypeScript snippet in the READMEs and docs', () => {
  it('finds the snippets, and every exemption says why', () => {
    expect(snippets.length).toBeGreaterThan(10);
    const skipped = snippets.filter((s) => s.mode === 'skip');
    const count = (m: Snippet['mode']) => snippets.filter((s) => s.mode === m).length;
    console.log(
      `doc snippets: ${snippets.length} (${count('check')} type-checked, ${count('fragment')} fragments type-checked with declared placeholders, ${count('run')} run, ${skipped.length} not type-checked)` +
        skipped.map((s) => `\n  not type-checked: ${s.file}:${s.line} — ${s.reason}`).join(''),
    );
    for (const s of skipped) expect(s.reason, `${s.file}:${s.line} skip-typecheck needs a reason`).not.toBe('');
  });

  for (const s of snippets.filter((x) => x.mode !== 'skip')) {
    it(`${s.file}:${s.line} type-checks${s.mode === 'fragment' ? ' (fragment)' : ''}`, () => {
      expect(typeCheck().get(s)).toEqual([]);
    }, 180_000);
  }

  for (const s of snippets.filter((x) => x.mode === 'run')) {
    it(`${s.file}:${s.line} runs`, async () => {
      mkdirSync(RUN_DIR, { recursive: true });
      const file = join(RUN_DIR, `${nameOf(s)}.ts`);
      writeFileSync(file, sourceOf(s));
      await import(pathToFileURL(file).href);
    }, 60_000);
  }
});
