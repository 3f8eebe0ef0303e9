/** What the API's routes are built from. */
import type { Logger } from 'pino';
import type { AlertService } from '../alerts/index.js';
import type { FieldLimits, HttpConfig } from '../config.js';
import { HubError } from '../errors.js';
import type { LiveFeed } from '../live/feed.js';
import type { HubMetricsSource } from '../metrics/hub-metrics.js';
import type { Registry } from '../registry/registry.js';
import type { AuditLog } from '../security/audit.js';
import type {
  MqttCredential,
  MqttCredentialActor,
  MqttCredentialStore,
} from '../security/mqtt-credentials.js';
import type { TokenStore } from '../security/tokens.js';
import type { UserStore } from '../security/users.js';
import type { StatsWindows } from '../stats/stats.js';
import type { SampleStore } from '../store/types.js';
import type { HealthReply } from './schemas.js';

export interface ApiDeps {
  readonly registry: Registry;
  readonly store: SampleStore;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly windows: StatsWindows;
  /** The hub's id (config `hostId`), named as the source of exports; default `wanji-hub`. */
  readonly hubId?: string;
  /** Component status and counters for /healthz. */
  readonly health: () => Omit<HealthReply, 'status' | 'reasons'>;
  /** Body and rate limits (hub config `http`); the defaults when left out. */
  readonly http?: Partial<Omit<HttpConfig, 'rateLimit'>> & {
    readonly rateLimit?: Partial<HttpConfig['rateLimit']>;
  };
  /** Bounds on what comes in (hub config `limits`): child reports' times; the defaults when left out. */
  readonly limits?: Partial<FieldLimits>;
  /** Default: built on the registry's database. */
  readonly tokens?: TokenStore;
  /** Default: built on the registry's database, with `http.session`'s expiry. */
  readonly users?: UserStore;
  readonly audit?: AuditLog;
  /** The broker's credentials; default: a store on the registry's database, no broker (routes/mqtt-users.ts). */
  readonly mqttUsers?: MqttUserAdmin;
  /** The hub's alerts (hub/alerts/); without it the alert routes are not served. */
  readonly alerts?: AlertService;
  /** The running parts' counters for /metrics (routes/metrics.ts); without them, process, health and registry only. */
  readonly metrics?: HubMetricsSource;
  /** The built web app's folder (api/web.ts); default: dist/web when built; null: the plain page only. */
  readonly webRoot?: string | null;
  /** Live values (hub/live/feed.ts) for `…/machines/:e/:m/live`; without it the stream only has the stored values. */
  readonly live?: LiveFeed;
}

/** The hub's MQTT credentials as the API manages them (Hub.mqttCredentials, Hub.revokeMqttUser). */
export interface MqttUserAdmin {
  readonly credentials: () => MqttCredentialStore;
  /** Revokes, and drops the connections using it when a broker runs in this process. */
  readonly revoke: (username: string, by: MqttCredentialActor) => Promise<MqttCredential>;
}

/** ApiDeps with the security parts resolved: what each route module gets. */
export interface RouteDeps extends ApiDeps {
  readonly tokens: TokenStore;
  readonly users: UserStore;
  readonly audit: AuditLog;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** "1700000000000" or "2024-01-01T00:00:00Z" → ms. */
export function parseTime(what: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new HubError(
      'WANJI_E_API_BAD_TIME',
      `${what} "${v.slice(0, 60)}" is neither ms since the epoch nor an ISO 8601 time`,
    );
  }
  return ms;
}
