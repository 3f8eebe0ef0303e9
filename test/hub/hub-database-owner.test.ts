import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
