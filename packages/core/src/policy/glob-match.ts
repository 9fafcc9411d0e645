/**
 * True when `name` matches `glob` (`*` any run of characters, `?` exactly one, everything else
 * literal). Iterative with one backtrack point, so the cost is at most `glob.length ×
 * name.length` and linear for the usual single-star globs: an agent-chosen tool name or agent
 * id cannot make matching slow, as `a*b*c*d` compiled to a backtracking RegExp can. Unlike a
 * RegExp's `.`, `*` and `?` also match line breaks: `db.*` matches `"db.drop\n"`.
 *
 * @example
 * globMatch('db.*', 'db.drop'); // → true
 * globMatch('*_delete', 'user_delete'); // → true
 */
export function globMatch(glob: string, name: string): boolean {
  let g = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    const c = glob.charCodeAt(g);
    if (g < glob.length && c !== STAR && (c === QUESTION || c === name.charCodeAt(n))) {
      g++;
      n++;
    } else if (c === STAR) {
      star = g++;
      mark = n;
    } else if (star >= 0) {
      g = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (glob.charCodeAt(g) === STAR) g++;
  return g === glob.length;
}

const STAR = 42; // *
const QUESTION = 63; // ?
