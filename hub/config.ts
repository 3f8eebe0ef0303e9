/**
 * Hub configuration: one TypeBox schema gives the defaults, the validation and the type.
 * Validated once in the Hub constructor, then frozen.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import { invalidIdReason } from '../protocol/index.js';
import { HubConfigError } from './errors.js';
import type { Timers } from './host/types.js';

const Port = Type.Integer({ minimum: 0, maximum: 65_535 });

export const HubConfigSchema = Type.Object(
  {
    /** Where registry.db and samples.db live. */
    dataDir: Type.String({ minLength: 1 }),
    /** Sparkplug host id: STATE is published on spBv1.0/STATE/{hostId}. */
    hostId: Type.String({ minLength: 1, default: 'wanji-hub' }),
    mqtt: Type.Object(
      {
        type: Type.Union([Type.Literal('embedded'), Type.Literal('external')], { default: 'embedded' }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65_535, default: 1883 }),
        url: Type.Optional(Type.String({ pattern: '^(mqtt|mqtts|tcp|ssl|ws|wss)://' })),
      },
      { default: {}, additionalProperties: false },
    ),
    http: Type.Object(
      { host: Type.String({ default: '127.0.0.1' }), port: { ...Port, default: 8080 } },
      { default: {}, additionalProperties: false },
    ),
    store: Type.Object(
      { type: Type.String({ default: 'sqlite' }) },
      { default: {}, additionalProperties: true },
    ),
    /** Online (在线) = heard from within this window and not dead. */
    onlineWindowMs: Type.Integer({ minimum: 1_000, default: 5 * 60_000 }),
    /** Networked (联网) = a valid sample within this window. */
    networkingWindowMs: Type.Integer({ minimum: 60_000, default: 7 * 24 * 3_600_000 }),
    reorderTimeoutMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 2_000 }),
    rebirthMinIntervalMs: Type.Integer({ minimum: 0, default: 5_000 }),
    flushIntervalMs: Type.Integer({ minimum: 5, maximum: 10_000, default: 250 }),
  },
  { additionalProperties: false },
);

export type HubConfig = Static<typeof HubConfigSchema>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/** What `new Hub()` takes: the config (defaults filled in) plus the things JSON cannot carry. */
export type HubOptions = DeepPartial<HubConfig> & {
  readonly dataDir: string;
  readonly logger: Logger;
  /** ms since the epoch; default Date.now. */
  readonly clock?: () => number;
  readonly timers?: Timers;
};

const FIXES: Readonly<Record<string, string>> = {
  '/hostId': 'use a Sparkplug id without + # / (e.g. "wanji-hub")',
  '/mqtt/url': 'e.g. mqtt://broker.example:1883',
  '/mqtt/port': 'a TCP port, 0–65535 (0 = any free port)',
  '/http/port': 'a TCP port, 0–65535 (0 = any free port)',
};

/** Fills defaults and validates; throws HubConfigError naming every bad path. */
export function resolveHubConfig(input: unknown, source = 'hub options'): Readonly<HubConfig> {
  const value = Value.Default(HubConfigSchema, Value.Clone(input));
  const problems = [...Value.Errors(HubConfigSchema, value)].map((e) => {
    const fix = FIXES[e.path];
    return `${e.path || '/'}: ${e.message}${fix === undefined ? '' : ` (${fix})`}`;
  });
  if (problems.length === 0) {
    const c = value as HubConfig;
    const idReason = invalidIdReason(c.hostId);
    if (idReason !== undefined) problems.push(`/hostId: ${idReason} (${FIXES['/hostId']})`);
    if (c.mqtt.type === 'external' && c.mqtt.url === undefined) {
      problems.push(`/mqtt/url: required when mqtt.type is "external" (${FIXES['/mqtt/url']})`);
    }
  }
  if (problems.length > 0) throw new HubConfigError(source, problems);
  return deepFreeze(value as HubConfig);
}

function deepFreeze<T>(v: T): Readonly<T> {
  if (typeof v === 'object' && v !== null) {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}
