/**
 * An operator's word on a machine (docs/statistics.md, "What is counted"): confirm, retire,
 * merge one machine, or retire every unconfirmed machine of an enterprise. Built on the
 * machine routes' view of a machine (machines.ts).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import {
  type BulkRetireResult,
  MAX_BULK_IDS,
  MAX_REASON_CHARS,
  type MachineChangeBy,
} from '../../registry/machine-status.js';
import type { MachineRecord } from '../../registry/types.js';
import { inScope, scopeOf } from '../access.js';
import { outOfScope } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendRefusal } from '../errors.js';
import { ErrorReply, Machine, MachineParams } from '../schemas.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

const Reason = Type.String({
  minLength: 1,
  maxLength: MAX_REASON_CHARS,
  description: 'why; kept in the audit log',
});
export const MachineChangeBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export type MachineChangeBody = Static<typeof MachineChangeBody>;
export const MachineMergeBody = Type.Object(
  {
    into: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'the machine (same enterprise) it is a duplicate of',
    }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type MachineMergeBody = Static<typeof MachineMergeBody>;
export const MachineChangeReply = Type.Object({
  machine: Machine,
  changed: Type.Boolean({ description: 'false when the machine already was what was asked' }),
});

export const EnterpriseMachinesParams = Type.Object({ enterprise: Type.String({ minLength: 1 }) });
export type EnterpriseMachinesParams = Static<typeof EnterpriseMachinesParams>;
export const BulkRetireBody = Type.Object(
  {
    status: Type.Literal('unconfirmed', {
      description:
        'which machines: every unconfirmed one (required, so that no request retires machines by accident)',
    }),
    gateway: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'only the machines last announced by this gateway (edge node id)',
      }),
    ),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type BulkRetireBody = Static<typeof BulkRetireBody>;
export const BulkRetireReply = Type.Object({
  enterprise: Type.String(),
  status: Type.Literal('unconfirmed'),
  gateway: Type.Union([Type.String(), Type.Null()]),
  retired: Type.Integer({ description: 'how many machines were retired' }),
  ids: Type.Array(Type.String(), {
    description: `the first ${MAX_BULK_IDS} ids retired, in id order; GET /api/v1/machines?status=retired lists all`,
  }),
});

/** The registry's refusals of a machine change (already audited there), with their status. */
const CHANGE_STATUS: Readonly<Record<string, number>> = {
  WANJI_E_REGISTRY_UNKNOWN_MACHINE: 404,
  WANJI_E_REGISTRY_MACHINE_CHANGE: 400,
};

/**
 * `POST /api/v1/machines/:enterprise/:machine/confirm|retire|merge` and
 * `POST /api/v1/machines/:enterprise/retire` (every unconfirmed one; access manage): the
 * registry writes each change with its audit entry, and audits its own refusals; the error
 * handler audits what the schemas refuse and a machine outside the scope.
 */
export function machineChangeRoutes(
  app: FastifyInstance,
  deps: RouteDeps,
  machineJson: (m: MachineRecord, now: number) => Static<typeof Machine>,
  findMachine: (req: FastifyRequest, p: MachineParams) => MachineRecord,
): void {
  const { registry, clock, audit } = deps;
  const by = (req: FastifyRequest, reason: string | undefined): MachineChangeBy => ({
    actor: actorOf(req),
    source: req.ip,
    ...(reason === undefined ? {} : { reason }),
  });
  const answer = (
    req: FastifyRequest,
    reply: FastifyReply,
    change: () => { machine: MachineRecord; changed: boolean },
  ) => {
    try {
      const r = change();
      return { machine: machineJson(r.machine, clock()), changed: r.changed };
    } catch (err) {
      return sendRefusal(err, req, reply, CHANGE_STATUS);
    }
  };
  /** confirm and retire take an optional body: none at all reads as `{}`. */
  const noBody = async (req: FastifyRequest): Promise<void> => {
    if (req.body === undefined || req.body === null) req.body = {};
  };
  const schema = (summary: string, body: typeof MachineChangeBody | typeof MachineMergeBody) => ({
    summary,
    params: MachineParams,
    body,
    response: { 200: MachineChangeReply, ...errors, 413: ErrorReply, 415: ErrorReply },
  });

  /** The two changes that take nothing but an optional reason. */
  const plainChanges = [
    {
      verb: 'confirm',
      summary: 'confirm a machine as real (a retired one comes back); it counts within its ledger',
      change: registry.confirmMachine.bind(registry),
    },
    {
      verb: 'retire',
      summary: 'retire a machine: out of every count, whatever its gateway sends, until confirmed again',
      change: registry.retireMachine.bind(registry),
    },
  ] as const;
  for (const { verb, summary, change } of plainChanges) {
    app.post<{ Params: MachineParams; Body: MachineChangeBody | undefined }>(
      `/api/v1/machines/:enterprise/:machine/${verb}`,
      {
        config: { access: 'manage', action: `machine.${verb}` },
        preValidation: noBody,
        schema: schema(summary, MachineChangeBody),
      },
      async (req, reply) => {
        const m = findMachine(req, req.params);
        return answer(req, reply, () => change(m.enterprise, m.id, by(req, req.body?.reason)));
      },
    );
  }

  app.post<{ Params: EnterpriseMachinesParams; Body: BulkRetireBody }>(
    '/api/v1/machines/:enterprise/retire',
    {
      config: { access: 'manage', action: 'machine.retire' },
      schema: {
        summary:
          'retire every unconfirmed machine of an enterprise (or of one of its gateways): after a flood of invented machines; one audit entry',
        params: EnterpriseMachinesParams,
        body: BulkRetireBody,
        response: { 200: BulkRetireReply, ...errors, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      const { enterprise } = req.params;
      // The same answer for an enterprise that does not exist and one outside the scope.
      const message = `no enterprise "${enterprise}": it is not declared and has no machines`;
      const declared = registry.enterprise(enterprise);
      if (declared === undefined && registry.countMachines({ enterprise }) === 0) {
        throw new HubError('WANJI_E_API_NOT_FOUND', message);
      }
      if (!inScope(scopeOf(req.principal), enterprise, declared?.regionCode)) {
        throw outOfScope(audit, req, `enterprise ${enterprise}`, message);
      }
      try {
        const r: BulkRetireResult = registry.retireUnconfirmedMachines(
          enterprise,
          req.body.gateway === undefined ? {} : { gateway: req.body.gateway },
          by(req, req.body.reason),
        );
        return { ...r, status: 'unconfirmed' as const };
      } catch (err) {
        return sendRefusal(err, req, reply, CHANGE_STATUS);
      }
    },
  );

  app.post<{ Params: MachineParams; Body: MachineMergeBody }>(
    '/api/v1/machines/:enterprise/:machine/merge',
    {
      config: { access: 'manage', action: 'machine.merge' },
      schema: schema(
        'merge a duplicate machine id into another of the same enterprise: the duplicate is retired',
        MachineMergeBody,
      ),
    },
    async (req, reply) => {
      const m = findMachine(req, req.params);
      return answer(req, reply, () =>
        registry.mergeMachine(m.enterprise, m.id, req.body.into, by(req, req.body.reason)),
      );
    },
  );
}
