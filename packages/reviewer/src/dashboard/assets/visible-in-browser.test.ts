import { describe, expect, it } from 'vitest';
import { visible, visibleLines } from './browser/visible';

describe('the page script escapes hidden characters', () => {
  it('visible escapes controls, bidi overrides and tags, line breaks included, and leaves other text alone', () => {
    expect(visible('transfer\u202elacol\u001b[2K\u{E0041}')).toBe('transfer\\u202Elacol\\u001B[2K\\u{E0041}');
    expect(visible('two\nlines')).toBe('two\\u000Alines');
    expect(visible('plain text, ünïcödé')).toBe('plain text, ünïcödé');
  });

  it('visibleLines keeps the layout of pretty-printed JSON and still escapes what hides inside it', () => {
    const json = JSON.stringify({ to: 'ACME\u202eHbmG', memo: 'a\nb', sep: '\u2028' }, null, 2);
    expect(visibleLines(json)).toBe('{\n  "to": "ACME\\u202EHbmG",\n  "memo": "a\\nb",\n  "sep": "\\u2028"\n}');
  });
});
