import { OptionsError } from '../errors';

/** The error a Node-only API throws in the edge build (web-standard runtimes), naming what to use instead. */
export function nodeOnly(api: string, instead: string): OptionsError {
  return new OptionsError(`${api} needs Node.js (file system or node:crypto) and is not available in this runtime (edge build of @toolgate/core); ${instead}`);
}
