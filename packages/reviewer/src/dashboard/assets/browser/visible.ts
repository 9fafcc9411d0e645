/**
 * Controls, bidi overrides, zero-width and other invisible characters are shown as visible
 * escapes (backslash-u and the hex code) wherever text reaches the page. The server already sends
 * them escaped (`server/visible-text.ts`); this is the second line, so an agent-chosen name cannot
 * reorder or hide what the approver reads. Browser code: no Node APIs (see tsconfig.json here).
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115F\u1160\u3164\uFFA0]/gu;

/** `text` as a string with every hidden character replaced by its `\uXXXX` / `\u{X}` escape. */
export function visible(text: unknown): string {
  return String(text).replace(HIDDEN, (ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    const hex = cp.toString(16).toUpperCase();
    return cp > 0xffff ? '\\u{' + hex + '}' : '\\u' + ('0000' + hex).slice(-4);
  });
}

/**
 * `visible` for multi-line text that the page shows in a `<pre>`, such as pretty-printed JSON:
 * its line breaks stay line breaks, every other hidden character is escaped. (JSON.stringify
 * writes a line break inside a string as the two characters `\n`, so only its layout is kept.)
 */
export function visibleLines(text: unknown): string {
  return String(text).split('\n').map(visible).join('\n');
}
