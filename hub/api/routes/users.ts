/**
 * The web app's user accounts (`wanji user` over HTTP): access `admin`. The user store audits
 * each change and its own refusals; the error handler audits what the schemas refuse first.
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UserRecord } from '../../security/users.js';
import { iso, isoOrNull, type RouteDeps } from '../deps.js';
import { actorOf } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import {
  UserCreateBody,
  UserCreated,
  UserItem,
  UserList,
  UserParams,
  UserPatchBody,
} from '../schemas-users.js';
import { sessionIdOf } from '../session-cookie.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 409: ErrorReply, 500: ErrorReply };

export function userJson(u: UserRecord, sessions: number): Static<typeof UserItem> {
  return {
    name: u.name,
    // The store only gives users the roles of USER_ROLES.
    role: u.role as Static<typeof UserItem>['role'],
    regions: [...u.regions],
    enterprise: u.enterprise,
    disabled: u.disabledAt !== null,
    sessions,
    createdBy: u.createdBy,
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
    lastLoginAt: isoOrNull(u.lastLoginAt),
  };
}

export function userRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { users } = deps;
  const by = (req: FastifyRequest) => ({ actor: actorOf(req), source: req.ip });
  const sessionsOf = (name: string) => users.list().find((u) => u.name === name)?.sessions ?? 0;

  app.get(
    '/api/v1/users',
    {
      config: { access: 'admin' },
      schema: { summary: 'every user (never a password)', response: { 200: UserList, ...errors } },
    },
    async () => ({ users: users.list().map((u) => userJson(u, u.sessions)) }),
  );

  app.post<{ Body: UserCreateBody }>(
    '/api/v1/users',
    {
      config: { access: 'admin', action: 'user.create' },
      schema: {
        summary: 'create a user; without a password one is generated and shown once',
        body: UserCreateBody,
        response: { 201: UserCreated, ...errors, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const { record, password } = users.create(
        {
          name: b.name,
          role: b.role,
          ...(b.regions === undefined ? {} : { regions: b.regions }),
          ...(b.enterprise === undefined ? {} : { enterprise: b.enterprise }),
          ...(b.password === undefined ? {} : { password: b.password }),
        },
        by(req),
      );
      req.log.info({ actor: actorOf(req), user: record.name, role: record.role }, 'user created');
      return reply
        .status(201)
        .send({ user: userJson(record, 0), ...(password === undefined ? {} : { password }) });
    },
  );

  app.patch<{ Params: UserParams; Body: UserPatchBody }>(
    '/api/v1/users/:name',
    {
      config: { access: 'admin', action: 'user.update' },
      schema: {
        summary: "change a user's password, role, scope or disabled state",
        params: UserParams,
        body: UserPatchBody,
        response: { 200: UserItem, ...errors, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req) => {
      const record = users.update(req.params.name, req.body, by(req), sessionIdOf(req));
      req.log.info(
        { actor: actorOf(req), user: record.name, changed: Object.keys(req.body) },
        'user changed',
      );
      return userJson(record, sessionsOf(record.name));
    },
  );

  app.delete<{ Params: UserParams }>(
    '/api/v1/users/:name',
    {
      config: { access: 'admin', action: 'user.delete' },
      schema: {
        summary: 'delete a user: its sessions end at once',
        params: UserParams,
        response: { 200: UserItem, ...errors },
      },
    },
    async (req) => {
      const record = users.delete(req.params.name, by(req));
      req.log.info({ actor: actorOf(req), user: record.name }, 'user deleted');
      return userJson(record, 0);
    },
  );
}
