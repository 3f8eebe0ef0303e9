/**
 * Hub configuration: one TypeBox schema gives the defaults, the validation and the type.
 * Validated once in the Hub constructor, then frozen.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import type { Clock } from '../protocol/clock.js';
import { checkSchema, problemLine } from '../protocol/config-check.js';
import { invalidIdReason, redactUrl, urlLogin } from '../protocol/index.js';
import { AlertsConfigSchema, channelProblems } from './alerts/config.js';
import { HubConfigError } from './errors.js';
import { trustProxyProblem } from './security/source-address.js';
import { PlatformSchema } from './stats/child-report.js';

/**
 * A `fix` keyword on a property is what a problem with it tells the user to write
 * (protocol/config-check.ts); without one the fix is built from the property's bounds.
 */
const PORT_FIX = 'a TCP port, 0–65535 (0 = any free port)';
const Port = Type.Integer({ minimum: 0, maximum: 65_535, fix: PORT_FIX });
const HOST_ID_FIX = 'use a Sparkplug id without + # / (e.g. "wanji-hub")';
const MQTT_URL_FIX = 'e.g. mqtt://broker.example:1883';

/** The ingest's bounded buffer in front of the store (hub/ingest/ingest.ts, docs/store.md). */
export const StoreBufferSchema = Type.Object(
  {
    /** Samples held while the store is slow or down; beyond it new messages are refused. */
    maxSamples: Type.Integer({ minimum: 100, default: 500_000 }),
    /** Samples per store write. */
    batchSamples: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
    /** A write pending longer than this marks the store down on /healthz. */
    writeTimeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
    /** Backoff between failed writes: from min, doubling, up to max. */
    retryMinDelayMs: Type.Integer({ minimum: 1, default: 250 }),
    retryMaxDelayMs: Type.Integer({ minimum: 1, default: 30_000 }),
  },
  { default: {}, additionalProperties: false },
);

/** Requests per window, per token and per client address (hub/api/auth.ts, docs/api.md). */
export const RateLimitSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    windowMs: Type.Integer({ minimum: 1_000, default: 60_000 }),
    /** Per token, for authenticated requests. */
    perToken: Type.Integer({ minimum: 1, default: 6_000 }),
    /** Per client address, for requests without a (valid) token: bounds password guessing. */
    perIp: Type.Integer({ minimum: 1, default: 120 }),
  },
  { default: {}, additionalProperties: false },
);

/**
 * Bounds on what gateways send (docs/security.md, "Untrusted input"): anything beyond them is
 * refused, counted and logged with the gateway's identity (hub/host/processor.ts).
 */
export const FieldLimitsSchema = Type.Object(
  {
    /** A timestamp further ahead of the hub's clock than this is refused. */
    maxFutureSkewMs: Type.Integer({ minimum: 1_000, maximum: 86_400_000, default: 5 * 60_000 }),
    /** A timestamp further behind the hub's clock than this is refused (journal replays included). */
    maxPastMs: Type.Integer({ minimum: 3_600_000, maximum: 3_650 * 86_400_000, default: 31 * 86_400_000 }),
    /** Machines (Sparkplug devices) one gateway may announce; births beyond are refused. */
    maxDevicesPerGateway: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2_000 }),
    /**
     * Metrics one machine may announce; a DBIRTH beyond is refused. A gateway's own NBIRTH may hold
     * this plus 8 per machine it may have (its per-machine health metrics).
     */
    maxMetricsPerDevice: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 2_000 }),
    /** The longest String / Text metric value, in UTF-8 bytes; longer values are refused. */
    maxStringBytes: Type.Integer({ minimum: 16, maximum: 1_048_576, default: 4_096 }),
  },
  { default: {}, additionalProperties: false },
);
export type FieldLimits = Static<typeof FieldLimitsSchema>;

export const HttpConfigSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    port: { ...Port, default: 8080 },
    /** Largest request body in bytes; a route that imports files may allow more. */
    bodyLimit: Type.Integer({ minimum: 1_024, maximum: 256 * 1_048_576, default: 1_048_576 }),
    /**
     * Behind a reverse proxy: the proxies' addresses or CIDRs, whose X-Forwarded-For gives the
     * client address; false trusts none. `true` is refused (hub/security/source-address.ts).
     */
    trustProxy: Type.Union([Type.Literal(false), Type.Array(Type.String(), { maxItems: 256 })], {
      default: false,
    }),
    rateLimit: RateLimitSchema,
    /** Sign-in sessions of the web app's users (hub/security/users.ts): idle and absolute expiry. */
    session: Type.Object(
      {
        idleMs: Type.Integer({ minimum: 60_000, maximum: 30 * 86_400_000, default: 8 * 3_600_000 }),
        absoluteMs: Type.Integer({ minimum: 60_000, maximum: 365 * 86_400_000, default: 7 * 86_400_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Live values as server-sent events (hub/api/routes/machine-live.ts): streams and their bounds. */
    live: Type.Object(
      {
        maxStreams: Type.Integer({ minimum: 1, maximum: 100_000, default: 200 }),
        maxStreamsPerPrincipal: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
        heartbeatMs: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 15_000 }),
        /** A client whose send buffer holds this many bytes gets the next events dropped (counted). */
        maxBufferedBytes: Type.Integer({ minimum: 4_096, maximum: 64 * 1_048_576, default: 262_144 }),
      },
      { default: {}, additionalProperties: false },
    ),
  },
  { default: {}, additionalProperties: false },
);
export type HttpConfig = Static<typeof HttpConfigSchema>;

export const HubConfigSchema = Type.Object(
  {
    /** Where registry.db and samples.db live. */
    dataDir: Type.String({ minLength: 1 }),
    /** Sparkplug host id: STATE is published on spBv1.0/STATE/{hostId}. */
    hostId: Type.String({ minLength: 1, default: 'wanji-hub', fix: HOST_ID_FIX }),
    mqtt: Type.Object(
      {
        type: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
        host: Type.String({ default: '127.0.0.1' }),
        port: { ...Port, default: 1883 },
        url: Type.Optional(Type.String({ pattern: '^(mqtt|mqtts|tcp|ssl|ws|wss)://', fix: MQTT_URL_FIX })),
        /** Clients without a user name get in (full access). Only for the demo and tests. */
        allowAnonymous: Type.Boolean({ default: false }),
        /** The largest MQTT packet the embedded broker takes; a larger one drops the connection. */
        maxPacketBytes: Type.Integer({ minimum: 1_024, maximum: 268_435_455, default: 4 * 1024 * 1024 }),
        /** What the embedded broker keeps for one subscriber its socket has not taken; past it, dropped. */
        maxSubscriberBacklogBytes: Type.Integer({ minimum: 1_048_576, default: 16 * 1024 * 1024 }),
        /** How often the hub looks for revoked credentials still connected (docs/security.md). */
        revocationCheckMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 2_000 }),
        /** external: the hub's user name at the broker (docs/hub.md, "An external broker"). */
        username: Type.Optional(Type.String({ minLength: 1 })),
        /** external: its password; prefer passwordFile, which keeps it out of the config. */
        password: Type.Optional(Type.String({ minLength: 1 })),
        /** external: a file holding the password (a trailing line break is ignored). */
        passwordFile: Type.Optional(Type.String({ minLength: 1 })),
        /** external: TLS of the hub's own connection to an mqtts:// or wss:// url. */
        clientTls: Type.Optional(
          Type.Object(
            {
              /** PEM file of the CAs that signed the broker's certificate; default: the system's. */
              ca: Type.Optional(Type.String({ minLength: 1 })),
              /** PEM files: the hub's client certificate and key, for brokers that ask for one. */
              cert: Type.Optional(Type.String({ minLength: 1 })),
              key: Type.Optional(Type.String({ minLength: 1 })),
              /** false accepts any broker certificate: only for a test bench. */
              rejectUnauthorized: Type.Boolean({ default: true }),
            },
            { additionalProperties: false },
          ),
        ),
        /** An MQTT over TLS listener (embedded broker). */
        tls: Type.Optional(
          Type.Object(
            {
              host: Type.Optional(Type.String()),
              port: { ...Port, default: 8883 },
              cert: Type.String({
                minLength: 1,
                fix: 'the path of a PEM file: the certificate with its chain',
              }),
              key: Type.String({
                minLength: 1,
                fix: "the path of a PEM file: the certificate's private key",
              }),
              ca: Type.Optional(Type.String({ minLength: 1 })),
              /** The oldest TLS version taken; default TLSv1.2 (hub/broker/aedes/listeners.ts). */
              minVersion: Type.Optional(
                Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
                  fix: 'TLSv1.2 (the default) or TLSv1.3',
                }),
              ),
              /** OpenSSL cipher list for TLS 1.2; default ECDHE with AEAD only. TLS 1.3 suites keep Node's. */
              ciphers: Type.Optional(
                Type.String({
                  minLength: 1,
                  fix: 'an OpenSSL cipher list such as ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256',
                }),
              ),
            },
            {
              additionalProperties: false,
              fix: 'give cert and key, the paths of PEM files; port defaults to 8883',
            },
          ),
        ),
        /** An MQTT over WebSocket listener (embedded broker). */
        websocket: Type.Optional(
          Type.Object(
            {
              host: Type.Optional(Type.String()),
              port: { ...Port, default: 8083 },
              path: Type.String({ pattern: '^/', default: '/mqtt', fix: 'an HTTP path such as /mqtt' }),
              secure: Type.Boolean({ default: false }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    http: HttpConfigSchema,
    limits: FieldLimitsSchema,
    /**
     * `type` picks the implementation (hub/store/index.ts), which validates its own keys;
     * `buffer` is how the ingest feeds it, whatever the type.
     */
    store: Type.Object(
      { type: Type.String({ default: 'sqlite' }), buffer: StoreBufferSchema },
      { default: {}, additionalProperties: true },
    ),
    /**
     * Where the registry (and the rest of the hub database) lives: absent, `<dataDir>/registry.db`
     * (SQLite); `url`, a PostgreSQL database several hub workers share (docs/hub.md, "The
     * registry on PostgreSQL").
     */
    registry: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^postgres(ql)?://',
            fix: 'a PostgreSQL URL such as postgres://wanji@db.example:5432/wanji (the password from PGPASSWORD or ~/.pgpass)',
          }),
          /** PostgreSQL cancels a registry statement running longer than this. */
          statementTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Online (在线) = heard from within this window and not dead. */
    onlineWindowMs: Type.Integer({ minimum: 1_000, default: 5 * 60_000 }),
    /** Networked (联网) = a valid sample within this window. */
    networkingWindowMs: Type.Integer({ minimum: 60_000, default: 7 * 24 * 3_600_000 }),
    reorderTimeoutMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 2_000 }),
    rebirthMinIntervalMs: Type.Integer({ minimum: 0, default: 5_000 }),
    /** A gateway journal not draining this long makes /healthz degraded (hub/host/acks.ts). */
    journalStallMs: Type.Integer({ minimum: 1_000, default: 120_000 }),
    flushIntervalMs: Type.Integer({ minimum: 5, maximum: 10_000, default: 250 }),
    /**
     * A machine's last-seen and last-sample times, when nothing else about it changed, are
     * written to the registry at most this often (at most a tenth of onlineWindowMs); states,
     * births and deaths at the next flush. 0: every flush.
     */
    lastSeenIntervalMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 5_000 }),
    /** The programme's statistics (docs/statistics.md). */
    statistics: Type.Object(
      {
        /** Where local days start (state time per day, daily snapshots): minutes east of UTC. */
        utcOffsetMin: Type.Integer({ minimum: -720, maximum: 840, default: 480 }),
        /** Take a snapshot of every figure at each local midnight. */
        snapshots: Type.Boolean({ default: true }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Alert evaluation and notification channels (docs/alerts.md); rules are made through the API. */
    alerts: AlertsConfigSchema,
    /** One worker of a hub run as several on an external broker (docs/hub.md, "Several workers"). */
    cluster: Type.Optional(
      Type.Object(
        {
          /** Workers with the same name share the Sparkplug groups between them. */
          name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', default: 'wanji' }),
          /** This worker's id, unique in the cluster (e.g. the pod name; or `wanji hub --worker`). */
          worker: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
          /** How often a worker says it is alive; three missed beats and its groups move. */
          heartbeatMs: Type.Integer({ minimum: 200, maximum: 60_000, default: 5_000 }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Forward this hub's aggregates (never telemetry) to a parent hub. */
    parent: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^https?://' }),
          /** A parent API token with role child-hub, issued for this hub's hostId (docs/statistics.md). */
          token: Type.String({ minLength: 1 }),
          intervalS: Type.Integer({ minimum: 10, maximum: 86_400, default: 300 }),
          /** The industrial internet platform this hub is: the parent counts it in its programme targets. */
          platform: Type.Optional(PlatformSchema),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type HubConfig = Static<typeof HubConfigSchema>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/** What `new Hub()` takes: the config (defaults filled in) plus the things JSON cannot carry. */
/** `store` as given: the implementation's own keys (e.g. InfluxStoreConfig) ride along. */
export interface StoreOptions {
  readonly type?: string;
  readonly buffer?: Partial<Static<typeof StoreBufferSchema>>;
  readonly [key: string]: unknown;
}

export type HubOptions = DeepPartial<Omit<HubConfig, 'store'>> & {
  readonly store?: StoreOptions;
  readonly dataDir: string;
  readonly logger: Logger;
  /** The time and the timers of every part of the hub; default REAL_CLOCK (tests: a ManualClock). */
  readonly clock?: Clock;
  /**
   * How the hub's own Sparkplug host reaches the embedded broker: `in-process` (default) takes
   * messages from aedes directly; `tcp` connects an MQTT client over loopback, as with an
   * external broker (benchmarks compare the two: bench/hub.ts). No effect with an external broker.
   */
  readonly hostTransport?: 'in-process' | 'tcp';
};

/** Fills defaults and validates; throws HubConfigError naming every bad path. */
export function resolveHubConfig(input: unknown, source = 'hub options'): Readonly<HubConfig> {
  const value = Value.Default(HubConfigSchema, Value.Clone(input));
  // http.trustProxy gets its own message (`true` is refused with the fix), not the schema's.
  const proxyProblem = trustProxyProblem(
    (value as { http?: { trustProxy?: unknown } } | undefined)?.http?.trustProxy,
  );
  const problems = checkSchema(HubConfigSchema, value)
    .filter((p) => proxyProblem === undefined || !p.path.startsWith('/http/trustProxy'))
    .map((p) => problemLine(p));
  if (proxyProblem !== undefined) problems.push(proxyProblem);
  if (problems.length === 0) {
    const c = value as HubConfig;
    const idReason = invalidIdReason(c.hostId);
    if (idReason !== undefined) problems.push(`/hostId: ${idReason} (${HOST_ID_FIX})`);
    if (c.cluster !== undefined && c.cluster.worker === undefined) {
      problems.push(
        "/cluster/worker: required: each worker's own id, unique in the cluster (cluster.worker, or wanji hub --worker, e.g. the pod name)",
      );
    }
    if (c.cluster !== undefined && c.mqtt.type !== 'external') {
      problems.push(
        '/cluster: the workers of a hub share an external broker: set mqtt.type "external" and mqtt.url',
      );
    }
    if (c.mqtt.type === 'external' && c.mqtt.url === undefined) {
      problems.push(`/mqtt/url: required when mqtt.type is "external" (${MQTT_URL_FIX})`);
    }
    if (c.mqtt.websocket?.secure === true && c.mqtt.tls === undefined) {
      problems.push('/mqtt/websocket/secure: wss needs mqtt.tls (its cert and key serve both)');
    }
    if (c.mqtt.type === 'external') {
      for (const key of ['tls', 'websocket'] as const) {
        if (c.mqtt[key] !== undefined) {
          problems.push(`/mqtt/${key}: only for the embedded broker; set it on the external broker instead`);
        }
      }
    }
    problems.push(...externalLoginProblems(c.mqtt));
    problems.push(...channelProblems(c.alerts));
  }
  if (problems.length > 0) throw new HubConfigError(source, problems);
  return deepFreeze(value as HubConfig);
}

/** mqtt.username, password, passwordFile and clientTls: only for an external broker, each once. */
function externalLoginProblems(m: HubConfig['mqtt']): string[] {
  const given = (['username', 'password', 'passwordFile', 'clientTls'] as const).filter(
    (k) => m[k] !== undefined,
  );
  if (m.type !== 'external') {
    return given.map(
      (k) =>
        `/mqtt/${k}: only for mqtt.type "external" (the hub logs in to its own broker with an internal credential)`,
    );
  }
  const problems: string[] = [];
  const inUrl = urlLogin(m.url ?? '');
  if (m.password !== undefined && m.passwordFile !== undefined) {
    problems.push('/mqtt/passwordFile: give the password once: mqtt.password or mqtt.passwordFile, not both');
  }
  if ((inUrl.username || inUrl.password) && given.some((k) => k !== 'clientTls')) {
    problems.push(
      `/mqtt/url: holds a user name or password and so do mqtt.username/password/passwordFile; give them once (${redactUrl(m.url ?? '')})`,
    );
  }
  if ((m.password !== undefined || m.passwordFile !== undefined) && m.username === undefined) {
    problems.push(
      '/mqtt/username: required with mqtt.password or mqtt.passwordFile (MQTT sends no password alone)',
    );
  }
  const tls = m.clientTls;
  if (tls !== undefined) {
    if (!/^(mqtts|ssl|wss):\/\//.test(m.url ?? '')) {
      problems.push(
        '/mqtt/clientTls: needs an mqtts://, ssl:// or wss:// mqtt.url (e.g. mqtts://broker:8883)',
      );
    }
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      problems.push(
        '/mqtt/clientTls: give cert and key together (PEM files: the client certificate and its key)',
      );
    }
  }
  return problems;
}

function deepFreeze<T>(v: T): Readonly<T> {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
