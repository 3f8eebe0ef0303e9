/** Where a hub keeps its data, found the way `wanji hub` finds it (for its offline tools). */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { Registry } from '../hub/registry/registry.js';
import { type CommandIo, UsageError } from './io.js';

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
  return (await hubPlace(dataDir, config, Problem)).dataDir;
}

/** Where a hub keeps its data, and its registry on PostgreSQL when its config says so. */
interface HubPlace {
  readonly dataDir: string;
  readonly postgres?: { readonly url: string; readonly statementTimeoutMs: number };
}

async function hubPlace(
  dataDir: string | undefined,
  config: string | undefined,
  Problem: new (message: string) => Error,
): Promise<HubPlace> {
  if (config === undefined) return { dataDir: resolve(dataDir ?? DEFAULT_HUB_DATA_DIR) };
  let text: string;
  try {
    text = await readFile(config, 'utf8');
  } catch (err) {
    throw new Problem(`cannot read ${config}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Problem(`${config}: not valid YAML (${doc.errors[0]?.message})`);
  const js = doc.toJS() as {
    dataDir?: unknown;
    registry?: { url?: unknown; statementTimeoutMs?: unknown };
  } | null;
  const registry = js?.registry;
  let postgres: HubPlace['postgres'];
  if (registry !== undefined && registry !== null) {
    const { url, statementTimeoutMs } = registry;
    if (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url)) {
      throw new Problem(`${config}: registry.url must be a postgres:// URL`);
    }
    postgres = {
      url,
      statementTimeoutMs: typeof statementTimeoutMs === 'number' ? statementTimeoutMs : 30_000,
    };
  }
  const place = (dir: string): HubPlace =>
    postgres === undefined ? { dataDir: dir } : { dataDir: dir, postgres };
  if (dataDir !== undefined) return place(resolve(dataDir));
  const dir = js?.dataDir;
  if (dir === undefined) return place(resolve(DEFAULT_HUB_DATA_DIR));
  if (typeof dir !== 'string' || dir === '') throw new Problem(`${config}: dataDir must be a path`);
  return place(resolve(dirname(config), dir));
}

export interface OpenedRegistry {
  readonly registry: Registry;
  readonly dataDir: string;
}

/**
 * The hub's registry opened for an offline tool (`wanji token | mqtt-user | machine`): found as
 * hubDataDir() finds it (on PostgreSQL when the `-c` config has `registry.url`), refused when
 * there is none yet. On failure it says why on stderr as
 * `wanji <command>: …` and returns the exit code (2 for a usage problem, 1 otherwise).
 * `quiet` keeps the registry's own notices ("registry open") out of the command's output.
 */
export async function openHubRegistry(
  command: string,
  where: { readonly dataDir: string | undefined; readonly config: string | undefined },
  io: CommandIo,
  quiet = true,
): Promise<OpenedRegistry | number> {
  let place: HubPlace;
  try {
    place = await hubPlace(where.dataDir, where.config, UsageError);
  } catch (err) {
    io.stderr.write(`wanji ${command}: ${(err as Error).message}\n`);
    return 2;
  }
  const { dataDir, postgres } = place;
  const path = join(dataDir, 'registry.db');
  // A registry on PostgreSQL (the config's registry.url) is opened there; a SQLite one must exist.
  if (postgres === undefined && !existsSync(path)) {
    io.stderr.write(
      `wanji ${command}: no hub registry at ${path}; start the hub once, or name its data directory (-d) or config (-c)\n`,
    );
    return 1;
  }
  const logger = quiet && io.logger.level === 'info' ? io.logger.child({}, { level: 'warn' }) : io.logger;
  const registry = new Registry({ path, logger, ...(postgres === undefined ? {} : { postgres }) });
  try {
    await registry.start();
  } catch (err) {
    io.stderr.write(`wanji ${command}: ${(err as Error).message}\n`);
    return 1;
  }
  return { registry, dataDir };
}

/**
 * Runs an offline tool's work on the registry openHubRegistry() opened, and closes it after.
 * An error `refused` gives an exit code for (the store refusing the change) is printed as
 * `wanji <command>: …` and that code returned; anything else is thrown on.
 */
export async function workOnRegistry(
  command: string,
  registry: Registry,
  io: CommandIo,
  refused: (err: unknown) => number | undefined,
  work: () => Promise<number> | number,
): Promise<number> {
  try {
    return await work();
  } catch (err) {
    const code = refused(err);
    if (code === undefined) throw err;
    io.stderr.write(`wanji ${command}: ${(err as Error).message}\n`);
    return code;
  } finally {
    await registry.close();
  }
}
