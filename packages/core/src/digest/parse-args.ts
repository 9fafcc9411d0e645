import { ErrorCodes, ToolgateError } from '../errors';

/** Default bound on a call's arguments, in bytes of JSON. */
export const DEFAULT_MAX_ARGS_BYTES = 1024 * 1024;

/**
 * Frameworks hand tool arguments over as objects or as JSON strings (OpenAI's function calls).
 * Returns the parsed value; a string that is not JSON, or one larger than `maxBytes`, is a
 * ToolgateError (`ARGS_NOT_JSON` / `ARGS_TOO_LARGE`). `undefined` becomes `{}`.
 */
export function parseArgs(args: unknown, maxBytes = DEFAULT_MAX_ARGS_BYTES): unknown {
  if (args === undefined) return {};
  if (typeof args !== 'string') return args;
  if (args.length > maxBytes) tooLarge(args.length, maxBytes);
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch (cause) {
    // Not the parser's message: it quotes the input around the bad token, and the input may hold a
    // secret that would then reach the audit trail. The position is enough to find the problem.
    const at = /position (\d+)/.exec((cause as Error)?.message ?? '')?.[1];
    throw new ToolgateError(
      ErrorCodes.ARGS_NOT_JSON,
      `tool arguments are a string that is not valid JSON${at ? ` (syntax error at position ${at})` : ''}; the model must send JSON arguments`,
    );
  }
}

export function tooLarge(bytes: number, maxBytes: number): never {
  throw new ToolgateError(
    ErrorCodes.ARGS_TOO_LARGE,
    `tool arguments are ${bytes} bytes, over the gate's maxArgsBytes of ${maxBytes}; raise maxArgsBytes if such calls are expected`,
  );
}
