/**
 * The hub config's `alerts` section: the evaluator's interval, the outbox's retries, and the
 * notification channels by name. Channels live in the config file because they hold secrets
 * (robot keys, SMTP passwords: prefer the `*File` keys); rules, which hold none, are made
 * through the API (docs/alerts.md).
 */
import { type Static, Type } from '@sinclair/typebox';

export const CHANNEL_LANGUAGES = ['zh-CN', 'en'] as const;
export type ChannelLanguage = (typeof CHANNEL_LANGUAGES)[number];

/**
 * Keys with a default inside a channel are optional here and defaulted by `channelDefaults`:
 * TypeBox cannot fill defaults inside a union in a record (it cannot tell which kind is meant).
 */
const Language = Type.Optional(
  Type.Union([Type.Literal('zh-CN'), Type.Literal('en')], {
    fix: 'zh-CN (the default) or en: the one language of the messages this channel sends',
  }),
);
const TYPE_FIX = 'one of webhook, dingtalk, wecom, email';
const HttpUrl = (fix: string) => Type.String({ pattern: '^https?://', fix });

export const WebhookChannelSchema = Type.Object(
  {
    type: Type.Literal('webhook', { fix: TYPE_FIX }),
    /** POSTed a JSON document per alert fired or cleared (docs/alerts.md). */
    url: HttpUrl('an http:// or https:// URL that takes a POSTed JSON document'),
    /** Extra request headers, e.g. an Authorization the receiver wants. */
    headers: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String())),
    language: Language,
  },
  { additionalProperties: false },
);

export const DingTalkChannelSchema = Type.Object(
  {
    type: Type.Literal('dingtalk', { fix: TYPE_FIX }),
    /** The custom robot's webhook, https://oapi.dingtalk.com/robot/send?access_token=… */
    url: HttpUrl("the robot's webhook URL, https://oapi.dingtalk.com/robot/send?access_token=…"),
    /** The robot's 加签 secret (SEC…): each request is signed with it. Prefer secretFile. */
    secret: Type.Optional(Type.String({ minLength: 1 })),
    secretFile: Type.Optional(Type.String({ minLength: 1 })),
    language: Language,
  },
  { additionalProperties: false },
);

export const WeComChannelSchema = Type.Object(
  {
    type: Type.Literal('wecom', { fix: TYPE_FIX }),
    /** The group robot's webhook, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=… */
    url: HttpUrl("the group robot's webhook URL, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"),
    language: Language,
  },
  { additionalProperties: false },
);

export const EmailChannelSchema = Type.Object(
  {
    type: Type.Literal('email', { fix: TYPE_FIX }),
    host: Type.String({ minLength: 1, fix: 'the SMTP server, e.g. smtp.example.com' }),
    /** Default 587. */
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. Default false. */
    secure: Type.Optional(Type.Boolean()),
    /** Refuse to send unless the server upgrades to TLS (STARTTLS). Default false. */
    requireTLS: Type.Optional(Type.Boolean()),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    from: Type.String({ minLength: 3, fix: 'the sender address, e.g. wanji@example.com' }),
    to: Type.Array(Type.String({ minLength: 3 }), {
      minItems: 1,
      maxItems: 100,
      fix: 'a list of recipient addresses, e.g. ["ops@example.com"]',
    }),
    language: Language,
  },
  { additionalProperties: false },
);

export const ChannelSchema = Type.Union([
  WebhookChannelSchema,
  DingTalkChannelSchema,
  WeComChannelSchema,
  EmailChannelSchema,
]);
export type ChannelConfig = Static<typeof ChannelSchema>;
export type ChannelType = ChannelConfig['type'];
export const CHANNEL_TYPES: readonly ChannelType[] = ['webhook', 'dingtalk', 'wecom', 'email'];

/** A channel's name: what rules list in `channels` and the API shows. */
export const CHANNEL_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const AlertsConfigSchema = Type.Object(
  {
    /** Evaluate rules and send notifications. */
    enabled: Type.Boolean({ default: true }),
    /** How often the rules are evaluated over the hub's state. */
    intervalMs: Type.Integer({ minimum: 1_000, maximum: 3_600_000, default: 15_000 }),
    /** How the outbox retries a notification a channel did not take. */
    retry: Type.Object(
      {
        minDelayMs: Type.Integer({ minimum: 10, default: 5_000 }),
        maxDelayMs: Type.Integer({ minimum: 10, default: 600_000 }),
        /** Attempts before a notification is given up (kept as failed, shown on its rule). */
        maxAttempts: Type.Integer({ minimum: 1, maximum: 1_000, default: 30 }),
        /** One attempt's limit. */
        timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000, default: 10_000 }),
      },
      { default: {}, additionalProperties: false },
    ),
    /** Notification channels by name (CHANNEL_NAME_PATTERN); rules name the ones they use. */
    channels: Type.Record(Type.String({ pattern: CHANNEL_NAME_PATTERN }), ChannelSchema, {
      default: {},
      fix: 'a map of channel names to channels, e.g. { "ops-dingtalk": { "type": "dingtalk", "url": "…", "secretFile": "…" } }',
    }),
  },
  { default: {}, additionalProperties: false },
);
export type AlertsConfig = Static<typeof AlertsConfigSchema>;

/** A channel's language: zh-CN unless it says en. */
export function languageOf(c: ChannelConfig): ChannelLanguage {
  return c.language ?? 'zh-CN';
}

/** Problems of the channels beyond the schema (a secret given twice), as config problem lines. */
export function channelProblems(config: AlertsConfig): string[] {
  const problems: string[] = [];
  for (const [name, c] of Object.entries(config.channels)) {
    const at = `/alerts/channels/${name}`;
    if (!new RegExp(CHANNEL_NAME_PATTERN).test(name)) {
      problems.push(`${at}: a channel name is 1–64 letters, digits, '.', '_' or '-' (e.g. ops-dingtalk)`);
    }
    if (c.type === 'dingtalk' && c.secret !== undefined && c.secretFile !== undefined) {
      problems.push(`${at}/secretFile: give the secret once: secret or secretFile, not both`);
    }
    if (c.type === 'email') {
      if (c.password !== undefined && c.passwordFile !== undefined) {
        problems.push(`${at}/passwordFile: give the password once: password or passwordFile, not both`);
      }
      if ((c.password !== undefined || c.passwordFile !== undefined) && c.username === undefined) {
        problems.push(`${at}/username: required with password or passwordFile (SMTP logs in with both)`);
      }
    }
  }
  return problems;
}
