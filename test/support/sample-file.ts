/**
 * Reads a hub's samples.db as another process would (read-only, beside a hub that may be
 * running): its landing rows and its parts, through the store's own reader.
 */
import { openSampleFile, type SqliteSampleStore } from '../../hub/store/sqlite/index.js';
import { silentLogger } from './temp.js';

export async function readSampleFile<T>(
  path: string,
  read: (file: SqliteSampleStore) => Promise<T>,
): Promise<T> {
  const file = await openSampleFile(path, silentLogger());
  try {
    return await read(file);
  } finally {
    await file.close();
  }
}
