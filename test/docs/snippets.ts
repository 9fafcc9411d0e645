import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The TypeScript snippets of the docs, and how each is checked.
 *
 * Every ```ts (or ```typescript) block of README.md, packages/<pkg>/README.md, docs/*.md and
 * packages/<pkg>/docs/*.md is type-checked as written. An HTML comment right before the fence
 * (invisible on GitHub and on the registry) changes that:
 *
 * - `<!-- snippet: run -->` — a complete program: type-checked, then run.
 * - `<!-- snippet: fragment` + lines of TypeScript + `-->` — a piece of a larger program: the lines
 *   in the comment (imports, `declare const model: LanguageModel;`) are put before it, then it is
 *   type-checked.
 * - `<!-- snippet: skip-typecheck REASON -->` — not TypeScript (a signature listing, pseudo-code):
 *   not checked. Keep these rare; the test lists them.
 */
export type SnippetMode = 'check' | 'run' | 'fragment' | 'skip';

export interface Snippet {
  /** Repository-relative path of the Markdown file. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  mode: SnippetMode;
  /** Declarations put before a fragment. */
  prelude: string;
  /** Why a skipped snippet is not checked. */
  reason: string;
  code: string;
}

const FENCE = /^```(ts|typescript)\s*$/;
const MARKER = /^<!--\s*snippet:\s*(run|fragment|skip-typecheck)\b([\s\S]*?)-->\s*$/;

/** The Markdown files whose snippets are under test. */
export function docFiles(root: string): string[] {
  const md = (dir: string): string[] => {
    try {
      return readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.md'))
        .sort()
        .map((f) => join(dir, f));
    } catch {
      return [];
    }
  };
  const packages = readdirSync(join(root, 'packages')).sort();
  return ['README.md', ...md('docs'), ...packages.flatMap((p) => [join('packages', p, 'README.md'), ...md(join('packages', p, 'docs'))])].filter((f) => {
    try {
      readFileSync(join(root, f));
      return true;
    } catch {
      return false;
    }
  });
}

/** Extracts the snippets of one Markdown text. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const out: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i]!.trim())) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
    // The marker: the HTML comment that ends on the last non-blank line before the fence.
    let j = start - 1;
    while (j >= 0 && lines[j]!.trim() === '') j--;
    let mode: SnippetMode = 'check';
    let prelude = '';
    let reason = '';
    if (j >= 0 && lines[j]!.trim().endsWith('-->')) {
      let k = j;
      while (k > 0 && !lines[k]!.includes('<!--')) k--;
      const comment = lines.slice(k, j + 1).join('\n').trim();
      const m = MARKER.exec(comment);
      if (m) {
        const kind = m[1]!;
        const rest = m[2] ?? '';
        if (kind === 'run') mode = 'run';
        else if (kind === 'fragment') {
          mode = 'fragment';
          prelude = rest.trim();
        } else {
          mode = 'skip';
          reason = rest.trim();
        }
      }
    }
    out.push({ file, line: start + 1, mode, prelude, reason, code: body.join('\n') });
  }
  return out;
}

export function allSnippets(root: string): Snippet[] {
  return docFiles(root).flatMap((f) => extractSnippets(relative(root, join(root, f)), readFileSync(join(root, f), 'utf8')));
}
