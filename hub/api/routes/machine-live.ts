/**
 * `GET /api/v1/machines/:enterprise/:machine/live`: one machine's values as server-sent events
 * (docs/api.md, "Live values"). Access telemetry and the machine routes' scope (another
 * enterprise's machine is a 404, audited); a session cookie (EventSource sends it on the same
 * origin) or a bearer token. The stream is one request for the rate limiter, however long it
 * lasts.
 *
 * Events: `values` first (the newest stored value of each metric), then `samples` for each
 * message of the machine the hub receives (hub/live/feed.ts), `dropped` after a slow client
 * missed some, and a comment every `http.live.heartbeatMs`. Bounded: a client whose send
 * buffer holds `http.live.maxBufferedBytes` gets the next events dropped and counted, never
 * queued; at most `http.live.maxStreamsPerPrincipal` streams per token or user and
 * `http.live.maxStreams` in all (429 beyond). A stream ends when the client goes, when its
 * session or token ends (checked at each heartbeat) and when the hub stops.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpConfig } from '../../config.js';
import type { LiveFeed } from '../../live/feed.js';
import type { MachineRecord } from '../../registry/types.js';
import type { Sample } from '../../store/types.js';
import { jsonPoint, jsonSampleValue } from '../../store/values.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendError } from '../errors.js';
import { setDataReplyHeaders } from '../headers.js';
import { ErrorReply, MachineParams } from '../schemas.js';
import { sessionIdOf } from '../session-cookie.js';

/** The defaults of the hub config's `http.live` (hub/config.ts). */
export const LIVE_DEFAULTS: HttpConfig['live'] = {
  maxStreams: 200,
  maxStreamsPerPrincipal: 8,
  heartbeatMs: 15_000,
  maxBufferedBytes: 262_144,
};

/** How soon EventSource reconnects after the stream breaks (the hub restarting), ms. */
const RETRY_MS = 2_000;

export function machineLiveRoutes(
  app: FastifyInstance,
  deps: RouteDeps & { readonly live: LiveFeed },
  findMachine: (req: FastifyRequest, p: MachineParams) => MachineRecord,
): void {
  const { store, live, users, tokens, clock } = deps;
  const limits = { ...LIVE_DEFAULTS, ...deps.http?.live };

  // The server would wait for open streams before it closes: end them first.
  app.addHook('preClose', async () => live.closeAll());

  /** Whether the stream's credential still holds (a sign-out, a revoked token end it). */
  const stillAllowed = (req: FastifyRequest): boolean => {
    const p = req.principal;
    if (p === undefined) return false;
    const sessionId = req.headers.authorization === undefined ? sessionIdOf(req) : undefined;
    if (sessionId !== undefined) return users.session(sessionId).ok;
    const t = tokens.get(p.tokenId);
    return t !== undefined && t.revokedAt === null && (t.expiresAt === null || t.expiresAt > clock());
  };

  app.get<{ Params: MachineParams }>(
    '/api/v1/machines/:enterprise/:machine/live',
    {
      config: { access: 'telemetry' },
      schema: {
        summary:
          "one machine's values as server-sent events: `values` (the newest of each metric) first, then `samples` as the hub receives them",
        params: MachineParams,
        response: {
          200: Type.String({
            description:
              'text/event-stream: `values`, then `samples` and `dropped` events (docs/api.md, "Live values")',
          }),
          400: ErrorReply,
          404: ErrorReply,
          429: ErrorReply,
          500: ErrorReply,
        },
      },
    },
    async (req, reply) => {
      const m = findMachine(req, req.params);
      const who = actorOf(req);
      if (!live.admit(who, { perPrincipal: limits.maxStreamsPerPrincipal, overall: limits.maxStreams })) {
        req.log.warn({ actor: who, machine: `${m.enterprise}/${m.id}` }, 'live stream refused: too many');
        await sendError(
          reply.header('retry-after', '10'),
          429,
          'WANJI_E_API_RATE_LIMITED',
          `too many live streams: at most ${limits.maxStreamsPerPrincipal} per user or token and ${limits.maxStreams} in all; close another machine page`,
        );
        return reply;
      }
      stream(req, reply, m);
      return reply;
    },
  );

  function stream(req: FastifyRequest, reply: FastifyReply, m: MachineRecord): void {
    setDataReplyHeaders(reply);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // A reverse proxy (nginx) must pass events on at once rather than buffer them.
      'x-accel-buffering': 'no',
      // The connection ends with the stream: nothing else is sent on it (and the hub can stop).
      connection: 'close',
    });
    res.flushHeaders();

    let open = true;
    let droppedSince = 0;
    /** Samples that came before the first event was sent; bounded like the send buffer. */
    let early: Sample[][] | undefined = [];
    let earlyBytes = 0;

    const write = (text: string): void => {
      if (!open) return;
      if (res.writableLength >= limits.maxBufferedBytes) {
        droppedSince++;
        live.dropped();
        return;
      }
      res.write(text);
      live.sent();
    };
    const event = (name: string, data: unknown): void =>
      write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    const samplesEvent = (samples: readonly Sample[]): void =>
      event('samples', {
        samples: samples.map((s) => ({
          metric: s.metric,
          ts: s.ts,
          value: jsonSampleValue(s.value),
          ...(s.quality === undefined ? {} : { quality: s.quality }),
        })),
      });

    const unsubscribe = live.subscribe(m.enterprise, m.id, (samples) => {
      if (early === undefined) return samplesEvent(samples);
      // The first event is not out yet: keep these for after it, up to the same bound.
      if (earlyBytes >= limits.maxBufferedBytes) {
        droppedSince++;
        live.dropped();
        return;
      }
      early.push([...samples]);
      for (const s of samples) earlyBytes += 64 + s.metric.length + String(s.value).length;
    });
    const heartbeat = setInterval(() => {
      if (!stillAllowed(req)) {
        req.log.info({ actor: actorOf(req) }, 'live stream ended: its session or token ended');
        end();
        return;
      }
      write(': heartbeat\n\n');
    }, limits.heartbeatMs);
    heartbeat.unref();
    const onDrain = (): void => {
      if (droppedSince === 0) return;
      const count = droppedSince;
      droppedSince = 0;
      event('dropped', { count });
    };
    const release = live.opened(
      actorOf(req),
      () => end(),
      () => (open ? res.writableLength : 0),
    );
    function end(): void {
      if (!open) return;
      open = false;
      clearInterval(heartbeat);
      unsubscribe();
      release();
      res.off('drain', onDrain);
      res.end();
    }
    res.on('drain', onDrain);
    res.on('close', end);
    res.on('error', end);

    write(`retry: ${RETRY_MS}\n\n`);
    store
      .latest(m.enterprise, m.id)
      .then((latest) => {
        event('values', {
          enterprise: m.enterprise,
          machine: m.id,
          values: latest.map(jsonPoint),
        });
      })
      .catch((err: unknown) => {
        req.log.warn(
          { err, machine: `${m.enterprise}/${m.id}` },
          'live stream: the store gave no latest values',
        );
        event('values', { enterprise: m.enterprise, machine: m.id, values: [] });
      })
      .finally(() => {
        const kept = early ?? [];
        early = undefined;
        for (const samples of kept) samplesEvent(samples);
      });
  }
}
