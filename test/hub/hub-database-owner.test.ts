import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as databaseModule from '../../hub/database/database.js';
import { HubDatabase } from '../../hub/database/database.js';
import { HUB_MIGRATIONS } from '../../hub/database/migrations.js';
import { AuditLog } from '../../hub/security/audit.js';
import { MqttCredentialStore } from '../../hub/security/mqtt-credentials.js';
import { tempDir } from './helpers.js';

describe('HubDatabase: one owner of the hub file', () => {
  let dir: ReturnType<typeof tempDir>;
  let db: HubDatabase;

  beforeEach(() => {
    dir = tempDir();
    db = HubDatabase.open(`${dir.path}/registry.db`);
  });
  afterEach(() => {
    db.close();
    dir.remove();
  });

  it('an audit entry written in a transaction rolls back with the change it records', () => {
    const audit = new AuditLog(db, () => 1_700_000_000_000);
    expect(() =>
      db.transaction(() => {
        db.mqttCredentials.insert({
          username: 'acme.gw1',
          group_id: 'acme',
          edge_node: 'gw1',
          secret_hash: 'x',
          created_by: 'cli:test',
          created_at: 1,
        });
        audit.record({ actor: 'cli:test', action: 'mqtt_user.create', target: 'acme.gw1', outcome: 'ok' });
        throw new Error('the change fails after its audit entry');
      }),
    ).toThrow('the change fails');
    expect(db.mqttCredentials.find('acme.gw1')).toBeUndefined();
    expect(audit.list()).toEqual([]);

    // Committed: both are there.
    const store = new MqttCredentialStore(db, () => 1_700_000_000_000);
    store.create({ group: 'acme', node: 'gw1' }, { actor: 'cli:test', source: 'cli' });
    expect(db.mqttCredentials.find('acme.gw1')).toMatchObject({ group_id: 'acme', edge_node: 'gw1' });
    expect(audit.list().map((e) => [e.action, e.target, e.outcome])).toEqual([
      ['mqtt_user.create', 'acme.gw1', 'ok'],
    ]);
  });

  it('reopens an existing file unchanged, at the same schema version, with its rows', () => {
    new AuditLog(db, () => 5).record({ actor: 'cli:test', action: 'token.create', outcome: 'ok' });
    db.close();
    db = HubDatabase.open(`${dir.path}/registry.db`);
    expect(db.audit.list({})).toMatchObject([{ at: 5, actor: 'cli:test', action: 'token.create' }]);
    const raw = new Database(`${dir.path}/registry.db`, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(HUB_MIGRATIONS.length);
    raw.close();
  });

  it('refuses a file newer than this hub understands, saying so', () => {
    db.close();
    const raw = new Database(`${dir.path}/registry.db`);
    raw.pragma(`user_version = ${HUB_MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => {
      db = HubDatabase.open(`${dir.path}/registry.db`);
    }).toThrow(/newer than this hub understands/);
    db = HubDatabase.open(`${dir.path}/other.db`);
  });
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_FOLDERS = ['protocol', 'gateway', 'hub', 'simulators', 'cli', 'bench'];

/**
 * Other SQLite files than the hub database, with their own owners: the sample store
 * (hub/store/sqlite/, one implementation behind hub/store's seam, its own file) and the opener
 * both owners share (file modes, WAL, migrations).
 */
const OTHER_SQLITE_OWNERS = ['hub/util/sqlite.ts', 'hub/store/sqlite/'];

const DRIVER_IMPORT = /(?:from\s*|import\s*\(\s*|require\s*\(\s*)['"]better-sqlite3['"]/;
const RAW_HANDLE = /\b(?:sqliteOf|rawSqliteForTests)\b/;
/** A statement prepared or run on a connection: `.prepare(`, `.prepare<`, `.pragma(`, `.exec('…` */
const SQL_CALL = /\.(?:prepare\s*[(<]|pragma\s*\(|exec\s*\(\s*[`'"])/;

/** Every file under `folders` of `root` (hub/database/ aside) that reaches SQLite, with why. */
function rawDatabaseUsers(root: string, folders: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && rel !== 'hub/database') walk(path);
        continue;
      }
      if (!/\.(?:ts|mts|js|mjs)$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
      const text = readFileSync(path, 'utf8');
      const otherOwner = OTHER_SQLITE_OWNERS.some((o) => rel === o || rel.startsWith(o));
      if (RAW_HANDLE.test(text)) found.push(`${rel}: takes the hub database's raw connection`);
      if (!otherOwner && DRIVER_IMPORT.test(text)) found.push(`${rel}: imports better-sqlite3`);
      if (!otherOwner && SQL_CALL.test(text)) found.push(`${rel}: prepares or runs SQL`);
    }
  };
  for (const f of folders) walk(join(root, f));
  return found.sort();
}

describe('only hub/database/ touches the hub database', () => {
  it('no source file outside hub/database/ imports better-sqlite3, takes the raw connection or runs SQL', () => {
    // Fix: move the SQL into a repository under hub/database/ (registry/ for the registry's
    // tables), expose it as a getter on HubDatabase, and call that.
    expect(rawDatabaseUsers(ROOT, SOURCE_FOLDERS)).toEqual([]);
  });

  it('the raw connection is not exported, except to tests', () => {
    expect(Object.keys(databaseModule).sort()).toEqual(['HubDatabase', 'rawSqliteForTests']);
  });

  it('the check names the file that breaks the rule', () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, 'hub', 'stats'), { recursive: true });
      mkdirSync(join(dir.path, 'hub', 'database'), { recursive: true });
      mkdirSync(join(dir.path, 'hub', 'store', 'sqlite'), { recursive: true });
      writeFileSync(
        join(dir.path, 'hub', 'stats', 'sneaky.ts'),
        "import Database from 'better-sqlite3';\nnew Database('x').prepare('SELECT 1');\n",
      );
      writeFileSync(join(dir.path, 'hub', 'stats', 'handle.ts'), 'const db = sqliteOf(database);\n');
      writeFileSync(join(dir.path, 'hub', 'stats', 'regex.ts'), 'const m = /a/.exec(text);\n');
      writeFileSync(join(dir.path, 'hub', 'database', 'ok.ts'), "import type D from 'better-sqlite3';\n");
      writeFileSync(join(dir.path, 'hub', 'store', 'sqlite', 'ok.ts'), "db.exec('CREATE TABLE t (a)');\n");
      expect(rawDatabaseUsers(dir.path, ['hub'])).toEqual([
        "hub/stats/handle.ts: takes the hub database's raw connection",
        'hub/stats/sneaky.ts: imports better-sqlite3',
        'hub/stats/sneaky.ts: prepares or runs SQL',
      ]);
    } finally {
      dir.remove();
    }
  });
});
