import type * as Yaml from 'yaml';
import { PolicyError } from '../errors';

let yaml: typeof Yaml | undefined;

/**
 * The `yaml` package, loaded on first use: only YAML policy text needs it, so `import
 * '@toolgate/core'` does not load it. Synchronous (a `require` from this module's location), because
 * `policyReviewer('./policy.yaml')` and `parsePolicyText` are synchronous. Where Node's module
 * loader is absent (a web-standard runtime), YAML text is a `PolicyError`: pass JSON or an object.
 */
export function loadYaml(): typeof Yaml {
  if (yaml) return yaml;
  const nodeModule = globalThis.process?.getBuiltinModule?.('node:module');
  if (!nodeModule) {
    const issue = '(yaml): YAML policies need Node (node:module); in this runtime pass the policy as JSON text or as an object';
    throw new PolicyError(`cannot read a YAML toolgate policy here: ${issue}`, [issue]);
  }
  yaml = nodeModule.createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yaml;
}
