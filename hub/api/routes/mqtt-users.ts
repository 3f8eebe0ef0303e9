/**
 * The gateways' MQTT credentials (`wanji mqtt-user` over HTTP): access `manage`. The credential
 * store audits each create and revoke, and its own refusals; the error handler audits what the
 * schemas refuse before the store is reached.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type MqttCredential, MqttCredentialStore } from '../../security/mqtt-credentials.js';
import { isoOrNull, iso as isoTime, type MqttUserAdmin, type RouteDeps } from '../deps.js';
import { actorOf, sendRefusal } from '../errors.js';
import { ErrorReply } from '../schemas.js';

/** A Sparkplug id (protocol invalidIdReason): no MQTT wildcard or separator, no control character. */
const SPARKPLUG_ID = '^[^+#/\\u0000-\\u001f\\u007f]+$';
/**
 * A stored user name (invalidUsernameReason): no leading `$` (the hub's own), spaces only inside
 * (Sparkplug ids hold them), no control character; the store refuses the rest.
 */
const USERNAME = '^[^$\\s\\u0000-\\u001f\\u007f](?:[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f])?$';

export const MqttUserCreateBody = Type.Object(
  {
    group: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: SPARKPLUG_ID,
      description: 'the Sparkplug group id: the enterprise',
    }),
    node: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: SPARKPLUG_ID,
      description: 'the edge node id: the gateway',
    }),
    username: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: USERNAME,
        description: 'default <group>.<node>; a user name is never reused, even after a revoke',
      }),
    ),
  },
  { additionalProperties: false },
);
export type MqttUserCreateBody = Static<typeof MqttUserCreateBody>;

export const MqttUserParams = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 128, pattern: USERNAME }),
});
export type MqttUserParams = Static<typeof MqttUserParams>;

export const MqttUserItem = Type.Object({
  username: Type.String(),
  group: Type.String(),
  node: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  createdBy: Type.String({ description: 'token:<id> or cli:<os user>' }),
  createdAt: Type.String({ format: 'date-time' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const MqttUserCreated = Type.Object({
  password: Type.String({ description: 'shown once; only its hash is stored' }),
  credential: MqttUserItem,
});

export const MqttUserList = Type.Object({ users: Type.Array(MqttUserItem) });

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

/** The store's refusals, with the status the API answers them with. */
const STATUS: Readonly<Record<string, number>> = {
  WANJI_E_MQTT_USER_INVALID: 400,
  WANJI_E_MQTT_USER_EXISTS: 409,
  WANJI_E_MQTT_USER_NOT_FOUND: 404,
};

export function mqttUserJson(c: MqttCredential) {
  return {
    username: c.username,
    group: c.group,
    node: c.node,
    status: c.revokedAt === undefined ? ('active' as const) : ('revoked' as const),
    createdBy: c.createdBy,
    createdAt: isoTime(c.createdAt),
    revokedAt: isoOrNull(c.revokedAt ?? null),
  };
}

/** Without a hub (an API built alone): the registry's credentials; no broker to drop connections from. */
function registryMqttUsers(deps: RouteDeps): MqttUserAdmin {
  let store: MqttCredentialStore | undefined;
  const credentials = () => {
    store ??= new MqttCredentialStore(deps.registry.database, deps.clock);
    return store;
  };
  return { credentials, revoke: async (username, by) => credentials().revoke(username, by) };
}

export function mqttUserRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const users = deps.mqttUsers ?? registryMqttUsers(deps);
  const by = (req: FastifyRequest) => ({ actor: actorOf(req), source: req.ip });

  app.get(
    '/api/v1/mqtt-users',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'every MQTT credential of the gateways, revoked ones included (never a password)',
        response: { 200: MqttUserList, ...errors },
      },
    },
    async () => ({ users: users.credentials().list().map(mqttUserJson) }),
  );

  app.post<{ Body: MqttUserCreateBody }>(
    '/api/v1/mqtt-users',
    {
      config: { access: 'manage', action: 'mqtt_user.create' },
      schema: {
        summary: 'create a gateway MQTT credential; the reply shows its password once',
        body: MqttUserCreateBody,
        response: { 201: MqttUserCreated, ...errors, 409: ErrorReply, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      const b = req.body;
      try {
        const store = users.credentials();
        const { credential, password } = store.create(
          { group: b.group, node: b.node, ...(b.username === undefined ? {} : { username: b.username }) },
          by(req),
        );
        req.log.info(
          { actor: actorOf(req), username: credential.username, group: b.group, node: b.node },
          'MQTT user created',
        );
        return reply.status(201).send({ password, credential: mqttUserJson(credential) });
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  app.delete<{ Params: MqttUserParams }>(
    '/api/v1/mqtt-users/:username',
    {
      config: { access: 'manage', action: 'mqtt_user.revoke' },
      schema: {
        summary: 'revoke a gateway MQTT credential: its connections are dropped, its next login refused',
        params: MqttUserParams,
        response: { 200: MqttUserItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const credential = await users.revoke(req.params.username, by(req));
        req.log.info({ actor: actorOf(req), username: credential.username }, 'MQTT user revoked');
        return mqttUserJson(credential);
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );
}
