/** Reads a gateway config from YAML, and checks that the files it names can be read. */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { fileIssues } from './files.js';
import type { ConfigIssue } from './issues.js';
import type { GatewayConfig } from './schema.js';
import { ConfigError, validateGatewayConfig } from './validate.js';

/** Parses YAML text; `fileName` is only used in error messages. */
export function parseGatewayConfig(text: string, fileName: string): GatewayConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      // With prettyErrors the first line reads "… at line 3, column 3:", then the source.
      return {
        path: '',
        message: (e.message.split('\n')[0] ?? e.message).replace(/:$/, ''),
        fix:
          e.code === 'DUPLICATE_KEY'
            ? 'remove one of the two keys'
            : 'fix the YAML syntax (indentation, colons, quotes)',
      };
    });
    throw new ConfigError(fileName, issues);
  }
  return validateGatewayConfig(doc.toJS({ maxAliasCount: 1000 }), fileName);
}

export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : String(err);
    throw new ConfigError(
      file,
      [{ path: '', message: `cannot read it: ${reason}`, fix: 'check the path given with -c' }],
      {
        cause: err,
      },
    );
  }
  const config = parseGatewayConfig(text, file);
  // After the schema: only a config of the right shape names files worth opening.
  const issues = await fileIssues(config);
  if (issues.length > 0) throw new ConfigError(file, issues);
  return config;
}
