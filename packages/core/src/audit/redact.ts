/** Extra secret keys (names or RegExps, matched case-insensitively) and dotted paths to redact. */
export interface RedactOptions {
  keys?: ReadonlyArray<string | RegExp>;
  paths?: ReadonlyArray<string>;
}
