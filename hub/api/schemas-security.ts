/** TypeBox schemas of the token and audit routes (admin only). */
import { type Static, Type } from '@sinclair/typebox';
import { ROLES } from '../security/roles.js';

const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const RoleSchema = Type.Union(
  ROLES.map((r) => Type.Literal(r)),
  {
    description:
      'admin, operator, bureau (aggregates only), enterprise (its own data only) or child-hub (posts its reports only)',
  },
);

export const TokenCreateBody = Type.Object(
  {
    role: RoleSchema,
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'who or what holds it' })),
    enterprise: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'role enterprise: its enterprise code' }),
    ),
    regions: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
        maxItems: 64,
        uniqueItems: true,
        description:
          'role bureau: the region codes it is limited to (none = the whole city); role child-hub: the regions whose enterprises it may report',
      }),
    ),
    hubId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          "role child-hub (required): the child hub's hostId, the only hub id its reports may carry",
      }),
    ),
    enterprises: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 10_000,
        uniqueItems: true,
        description: 'role child-hub: enterprise codes it may report, besides those of its regions',
      }),
    ),
    expires: Type.Optional(
      Type.String({
        minLength: 2,
        maxLength: 40,
        description: 'a duration (90d, 12h, 30m) or an ISO 8601 date',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TokenCreateBody = Static<typeof TokenCreateBody>;

export const TokenItem = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  enterprise: Type.Union([Type.String(), Type.Null()]),
  regions: Type.Array(Type.String()),
  hubId: Type.Union([Type.String(), Type.Null()]),
  enterprises: Type.Array(Type.String()),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  createdBy: Type.String(),
  createdAt: Time,
  expiresAt: NullableTime,
  lastUsedAt: NullableTime,
  revokedAt: NullableTime,
});

export const TokenCreated = Type.Object({
  token: Type.String({ description: 'the bearer token; shown once, only its hash is stored' }),
  record: TokenItem,
});

export const TokenList = Type.Object({ tokens: Type.Array(TokenItem) });

export const TokenParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{12}$' }) });
export type TokenParams = Static<typeof TokenParams>;

export const AuditQuery = Type.Object(
  {
    since: Type.Optional(Type.String({ description: 'ms since the epoch or ISO 8601; inclusive' })),
    until: Type.Optional(Type.String({ description: 'ms since the epoch or ISO 8601; exclusive' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('refused')])),
    before: Type.Optional(
      Type.Integer({ minimum: 1, description: 'only entries older than this id: the next page' }),
    ),
    limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 100 }),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditList = Type.Object({
  entries: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: Time,
      actor: Type.String({ description: 'token:<id>, cli:<user>, mqtt:<username>, anonymous' }),
      action: Type.String({ description: 'login, access, token.create, token.revoke, …' }),
      target: Type.Optional(Type.String()),
      outcome: Type.Union([Type.Literal('ok'), Type.Literal('refused')]),
      source: Type.Optional(Type.String()),
      detail: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});
