import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { createPrivateFile, ensurePrivateDir, tightenFile } from './private-files.js';

/**
 * Opens a SQLite file in WAL mode and brings its schema up to date. `migrations[i]` takes the
 * schema from user_version i to i + 1, each in its own transaction.
 *
 * The file is private: its folder is made 0700 and the file 0600 before SQLite opens it
 * (SQLite gives the -wal and -shm files the database's mode); files left with looser modes
 * by an older hub lose group write and others' bits.
 */
export function openSqlite(
  path: string,
  migrations: readonly string[],
  synchronous: 'full' | 'normal',
): Database.Database {
  ensurePrivateDir(dirname(path));
  createPrivateFile(path);
  tightenFile(path);
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    tightenFile(`${path}-wal`);
    tightenFile(`${path}-shm`);
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) {
      throw new Error(`schema version ${version} is newer than this hub understands (${migrations.length})`);
    }
    for (let v = version; v < migrations.length; v++) {
      db.transaction(() => {
        db.exec(migrations[v]!);
        db.pragma(`user_version = ${v + 1}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
