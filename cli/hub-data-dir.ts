/** Where a hub keeps its data, found the way `wanji hub` finds it (for its offline tools). */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';

export const DEFAULT_HUB_DATA_DIR = 'wanji-data';

/**
 * `--data-dir` when given, else the `dataDir` of the `-c` hub config (relative to the file),
 * else ./wanji-data. Throws `Problem` (the caller's usage error) naming the file and the problem.
 */
export async function hubDataDir(
  dataDir: string | undefined,
  config: string | undefined,
  Problem: new (message: string) => Error = Error,
): Promise<string> {
  if (dataDir !== undefined) return resolve(dataDir);
  if (config === undefined) return resolve(DEFAULT_HUB_DATA_DIR);
  let text: string;
  try {
    text = await readFile(config, 'utf8');
  } catch (err) {
    throw new Problem(`cannot read ${config}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Problem(`${config}: not valid YAML (${doc.errors[0]?.message})`);
  const dir = (doc.toJS() as { dataDir?: unknown } | null)?.dataDir;
  if (dir === undefined) return resolve(DEFAULT_HUB_DATA_DIR);
  if (typeof dir !== 'string' || dir === '') throw new Problem(`${config}: dataDir must be a path`);
  return resolve(dirname(config), dir);
}
