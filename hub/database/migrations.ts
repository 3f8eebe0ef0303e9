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
  // 7: the web app's user accounts (roles and scopes as API tokens; only the password's scrypt
  // hash) and their sign-in sessions (only the SHA-256 of the session id the cookie carries).
  `CREATE TABLE users (
     name TEXT PRIMARY KEY,
     role TEXT NOT NULL,
     enterprise TEXT,
     regions TEXT NOT NULL DEFAULT '[]',
     password_hash TEXT NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     disabled_at INTEGER,
     last_login_at INTEGER
   );
   CREATE TABLE user_sessions (
     id_hash TEXT PRIMARY KEY,
     user_name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     last_seen_at INTEGER NOT NULL,
     source TEXT
   );
   CREATE INDEX user_sessions_by_user ON user_sessions (user_name);`,
  // 8: alerts (hub/alerts/, docs/alerts.md): the rules an operator sets; alerts as they fire,
  // clear and are acknowledged (at most one active per rule and subject); the notification
  // outbox, kept until delivered or given up. Channels and their secrets are in the config.
  `CREATE TABLE alert_rules (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     scope_kind TEXT NOT NULL,
     scope_value TEXT,
     threshold REAL,
     duration_ms INTEGER NOT NULL,
     severity TEXT NOT NULL,
     channels TEXT NOT NULL DEFAULT '[]',
     enabled INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_by TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE alerts (
     id INTEGER PRIMARY KEY,
     rule_id INTEGER NOT NULL,
     rule_name TEXT NOT NULL,
     kind TEXT NOT NULL,
     subject TEXT NOT NULL,
     enterprise TEXT,
     region TEXT,
     severity TEXT NOT NULL,
     state TEXT NOT NULL,
     detail TEXT NOT NULL DEFAULT '{}',
     since INTEGER NOT NULL,
     fired_at INTEGER NOT NULL,
     cleared_at INTEGER,
     acknowledged_at INTEGER,
     acknowledged_by TEXT,
     ack_note TEXT
   );
   CREATE UNIQUE INDEX alerts_one_active ON alerts (rule_id, subject) WHERE state = 'active';
   CREATE INDEX alerts_by_time ON alerts (fired_at);
   CREATE TABLE alert_outbox (
     id INTEGER PRIMARY KEY,
     alert_id INTEGER NOT NULL,
     rule_id INTEGER NOT NULL,
     channel TEXT NOT NULL,
     event TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     sent_at INTEGER,
     last_error TEXT,
     last_error_at INTEGER
   );
   CREATE INDEX alert_outbox_due ON alert_outbox (state, next_at);`,
  // 9: the programme's quantified targets (hub/stats/targets.ts; region '' = the city, year 0 =
  // every year of a yearly kind), seeded with the action plan's (docs/domain.md): data, changed
  // through the API. Digital workshops / smart factories and industrial internet platforms as
  // declared (a platform may name the child hub that is it).
  `CREATE TABLE programme_targets (
     kind TEXT NOT NULL,
     region TEXT NOT NULL,
     year INTEGER NOT NULL,
     value REAL NOT NULL,
     updated_by TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (kind, region, year)
   );
   INSERT INTO programme_targets (kind, region, year, value, updated_by, updated_at) VALUES
     ('networked', '', 2022, 10000, 'action plan 2020', 0),
     ('robots', '', 2022, 20000, 'action plan 2020', 0),
     ('robotsNewPerYear', '', 0, 2000, 'action plan 2020', 0),
     ('workshopsFactories', '', 2022, 200, 'action plan 2020', 0),
     ('benchmarksPerYear', '', 0, 30, 'action plan 2020', 0),
     ('platformsRegional', '', 2022, 1, 'action plan 2020', 0),
     ('platformsIndustry', '', 2022, 10, 'action plan 2020', 0),
     ('platformsEnterprise', '', 2022, 20, 'action plan 2020', 0),
     ('backboneNcRate', '', 2022, 0.7, 'action plan 2020', 0),
     ('backboneNetworkingRate', '', 2022, 0.5, 'action plan 2020', 0);
   CREATE TABLE recognitions (
     id INTEGER PRIMARY KEY,
     enterprise_code TEXT NOT NULL,
     name TEXT NOT NULL,
     kind TEXT NOT NULL,
     benchmark INTEGER NOT NULL,
     year INTEGER NOT NULL,
     declared_by TEXT NOT NULL,
     declared_at INTEGER NOT NULL,
     UNIQUE (enterprise_code, kind, name)
   );
   CREATE TABLE platforms (
     id INTEGER PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     level TEXT NOT NULL,
     operator_code TEXT NOT NULL,
     year INTEGER NOT NULL,
     hub_id TEXT,
     declared_by TEXT NOT NULL,
     declared_at INTEGER NOT NULL
   );`,
];
