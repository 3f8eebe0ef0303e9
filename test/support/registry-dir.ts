import { join } from 'node:path';
import { Registry } from '../../hub/registry/registry.js';
import { silentLogger, tempDir } from './temp.js';

/** A temporary data folder with a registry (registry.db) as a hub leaves it, for the CLI's commands. */
export async function registryDir(): Promise<{ path: string; remove: () => void }> {
  const dir = tempDir();
  const r = new Registry({ path: join(dir.path, 'registry.db'), logger: silentLogger() });
  await r.start();
  await r.close();
  return dir;
}
