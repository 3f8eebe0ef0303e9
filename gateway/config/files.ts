/**
 * Checks that the files a config names can be read, so that `wanji gateway --check` (and a
 * reload) finds what the start would: the PEM files of `mqtt.tls`. Relative paths are taken
 * from the working directory, as the MQTT session reads them (northbound/mqtt-tls.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConfigIssue } from './issues.js';
import type { GatewayConfig } from './schema.js';

const TLS_FILES = {
  ca: "the CA certificate that signed the broker's certificate",
  cert: 'the client certificate',
  key: "the client certificate's private key",
} as const;

/** Why `file` cannot serve as a PEM file, with what to do; undefined when it can. */
async function pemProblem(file: string): Promise<{ reason: string; fix: string } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { reason: 'the file does not exist', fix: 'correct the path, or copy the file there' };
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return { reason: 'no permission to read it', fix: 'make it readable by the user the gateway runs as' };
    }
    if (code === 'EISDIR') return { reason: 'it is a directory', fix: 'name the PEM file inside it' };
    return { reason: `cannot read it (${code ?? String(err)})`, fix: 'give the path of a readable file' };
  }
  if (!text.includes('-----BEGIN ')) {
    return {
      reason: 'it holds no PEM block ("-----BEGIN …")',
      fix: 'give a PEM file; convert a DER file with `openssl x509 -inform der -in FILE -out FILE.pem`',
    };
  }
  return undefined;
}

/** Every file of the config that cannot be read, as issues naming its path in the config. */
export async function fileIssues(config: GatewayConfig): Promise<ConfigIssue[]> {
  const tls = config.mqtt.tls;
  if (tls === undefined) return [];
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(TLS_FILES) as Array<keyof typeof TLS_FILES>) {
    const file = tls[key];
    if (file === undefined) continue;
    const problem = await pemProblem(file);
    if (problem === undefined) continue;
    const where = resolve(file) === file ? file : `${file} (${resolve(file)})`;
    issues.push({
      path: `/mqtt/tls/${key}`,
      message: `cannot use ${where} as ${TLS_FILES[key]}: ${problem.reason}`,
      fix: `${problem.fix} (a relative path is from the directory the gateway starts in)`,
    });
  }
  return issues;
}
