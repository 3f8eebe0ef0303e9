/**
 * The hub database's schema (the file `<dataDir>/registry.db`: registry, API tokens, MQTT
 * credentials, audit log, state time, snapshots, child reports), one migration per
 * user_version step. Append-only: never edit or renumber a step, or existing files stop
 * opening as they did. Times are INTEGER ms since the epoch; booleans are 0/1; region and
 * industry aliases are JSON arrays.
 */
export const HUB_MIGRATIONS: readonly string[] = [
  `CREATE TABLE regions (
     code TEXT PRIMARY KEY,
     name_zh TEXT NOT NULL,
     name_en TEXT NOT NULL,
     aliases TEXT NOT NULL DEFAULT '[]'
   );
   CREATE TABLE industries (
     code TEXT PRIMARY KEY,
     name_zh TEXT NOT NULL,
     name_en TEXT NOT NULL,
     aliases TEXT NOT NULL DEFAULT '[]',
     key_sub_industry INTEGER NOT NULL DEFAULT 0
   );
   CREATE TABLE enterprises (
     code TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     region_code TEXT NOT NULL REFERENCES regions (code),
     industry_code TEXT NOT NULL REFERENCES industries (code),
     backbone INTEGER NOT NULL,
     production_equipment INTEGER NOT NULL,
     nc_equipment INTEGER NOT NULL,
     robots INTEGER NOT NULL,
     declared_by TEXT NOT NULL,
     declared_at INTEGER NOT NULL
   );
   CREATE TABLE ledger_declarations (
     id INTEGER PRIMARY KEY,
     enterprise_code TEXT NOT NULL REFERENCES enterprises (code),
     name TEXT NOT NULL,
     region_code TEXT NOT NULL,
     industry_code TEXT NOT NULL,
     backbone INTEGER NOT NULL,
     production_equipment INTEGER NOT NULL,
     nc_equipment INTEGER NOT NULL,
     robots INTEGER NOT NULL,
     declared_by TEXT NOT NULL,
     declared_at INTEGER NOT NULL
   );
   CREATE INDEX ledger_declarations_by_enterprise ON ledger_declarations (enterprise_code, declared_at);
   CREATE TABLE gateways (
     group_id TEXT NOT NULL,
     edge_node TEXT NOT NULL,
     online INTEGER NOT NULL DEFAULT 0,
     bd_seq INTEGER,
     first_seen INTEGER NOT NULL,
     last_birth_at INTEGER,
     last_death_at INTEGER,
     last_seen_at INTEGER,
     PRIMARY KEY (group_id, edge_node)
   );
   CREATE TABLE machines (
     enterprise TEXT NOT NULL,
     id TEXT NOT NULL,
     kind TEXT,
     nc INTEGER,
     robot INTEGER,
     data_depth TEXT,
     state TEXT,
     state_at INTEGER,
     gateway TEXT NOT NULL,
     first_seen INTEGER NOT NULL,
     last_birth_at INTEGER,
     last_death_at INTEGER,
     last_seen_at INTEGER,
     last_sample_at INTEGER,
     dead INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (enterprise, id)
   );
   CREATE INDEX machines_by_gateway ON machines (enterprise, gateway);`,
  // 2: the latest value of each gateway (node) metric: machine health and gateway counters.
  `CREATE TABLE gateway_metrics (
     group_id TEXT NOT NULL,
     edge_node TEXT NOT NULL,
     name TEXT NOT NULL,
     value,
     vtype INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (group_id, edge_node, name)
   ) WITHOUT ROWID;`,
  // 3: security, in the registry file so an audit entry commits with the change it records.
  // Secrets are stored as scrypt hashes (hub/security/secrets.ts), never in the clear.
  `CREATE TABLE mqtt_credentials (
     username TEXT PRIMARY KEY,
     group_id TEXT NOT NULL,
     edge_node TEXT NOT NULL,
     secret_hash TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE api_tokens (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     enterprise TEXT,
     regions TEXT NOT NULL DEFAULT '[]',
     secret_hash TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     last_used_at INTEGER,
     revoked_at INTEGER
   );
   CREATE TABLE audit_log (
     id INTEGER PRIMARY KEY,
     at INTEGER NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT,
     outcome TEXT NOT NULL,
     source TEXT,
     detail TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX audit_log_by_time ON audit_log (at);`,
  // 4: statistics. Time in each machine state per machine per local day (accumulated as state
  // changes arrive; the open interval is since_state from since_at on the machine's row); daily
  // snapshots of every figure; the latest aggregates each child hub forwarded.
  `ALTER TABLE machines ADD COLUMN since_state TEXT;
   ALTER TABLE machines ADD COLUMN since_at INTEGER;
   CREATE TABLE machine_state_time (
     enterprise TEXT NOT NULL,
     machine TEXT NOT NULL,
     day TEXT NOT NULL,
     state TEXT NOT NULL,
     ms INTEGER NOT NULL,
     PRIMARY KEY (enterprise, machine, day, state)
   ) WITHOUT ROWID;
   CREATE INDEX machine_state_time_by_day ON machine_state_time (day);
   CREATE TABLE stat_snapshots (
     day TEXT NOT NULL,
     level TEXT NOT NULL,
     code TEXT NOT NULL,
     taken_at INTEGER NOT NULL,
     figures TEXT NOT NULL,
     PRIMARY KEY (level, code, day)
   ) WITHOUT ROWID;
   CREATE INDEX stat_snapshots_by_day ON stat_snapshots (day);
   CREATE TABLE child_reports (
     hub_id TEXT PRIMARY KEY,
     received_at INTEGER NOT NULL,
     generated_at INTEGER NOT NULL,
     report TEXT NOT NULL
   );`,
  // 5: what an operator decided about a machine (docs/statistics.md, "What is counted"):
  // confirmed (a real machine of the enterprise), retired (gone, invented or a duplicate;
  // merged_into names the machine a duplicate was folded into). A birth never touches them.
  `ALTER TABLE machines ADD COLUMN confirmed_at INTEGER;
   ALTER TABLE machines ADD COLUMN confirmed_by TEXT;
   ALTER TABLE machines ADD COLUMN retired_at INTEGER;
   ALTER TABLE machines ADD COLUMN retired_by TEXT;
   ALTER TABLE machines ADD COLUMN merged_into TEXT;`,
  // 6: child-hub API tokens: the child's hub id and the enterprise codes it may report (its
  // regions are in regions, as a bureau token's).
  `ALTER TABLE api_tokens ADD COLUMN hub_id TEXT;
   ALTER TABLE api_tokens ADD COLUMN enterprises TEXT NOT NULL DEFAULT '[]';`,
];
