/**
 * Applies what the Sparkplug host saw (births, deaths, coalesced "last seen") to the
 * registry in one transaction per batch, so the host never pays a transaction per message.
 */
import type Database from 'better-sqlite3';
import { DEFAULT_UTC_OFFSET_MIN } from './days.js';
import { encodeMetricValue } from './gateway-metrics.js';
import { StateClock } from './state-clock.js';
import type { DeviceActivity, GatewayActivity, GatewayMetric, IngestBatch, RegistryEvent } from './types.js';

export interface ApplyResult {
  /** NDEATHs whose bdSeq matched the gateway's current NBIRTH. */
  readonly nodeDeaths: number;
  /** NDEATHs ignored because their bdSeq was stale (or the gateway was already dead). */
  readonly staleNodeDeaths: number;
}

const b = (v: boolean | undefined): number | null => (v === undefined ? null : v ? 1 : 0);

export class IngestApplier {
  readonly #tx: (batch: IngestBatch) => ApplyResult;

  /**
   * `utcOffsetMin`: where local days start, for the time in each state per day; `silenceMs`:
   * a machine unheard for longer (the online window) was offline meanwhile.
   */
  constructor(db: Database.Database, utcOffsetMin = DEFAULT_UTC_OFFSET_MIN, silenceMs = 5 * 60_000) {
    const clock = new StateClock(db, utcOffsetMin, silenceMs);
    /** Per batch: machines that were silent before it, with when they were last heard. */
    let silent = new Map<string, number>();
    const back = (enterprise: string, machine: string, at: number): number | undefined => {
      const lastSeen = silent.get(`${enterprise}\u0000${machine}`);
      if (lastSeen === undefined || lastSeen >= at - silenceMs) return undefined;
      silent.delete(`${enterprise}\u0000${machine}`);
      return lastSeen;
    };
    /** Dead from `at` (offline already since it fell silent, if it did). */
    const offline = (enterprise: string, machine: string, at: number): void => {
      const lastSeen = back(enterprise, machine, at);
      if (lastSeen !== undefined) clock.resume(enterprise, machine, lastSeen, at, 'offline', lastSeen);
      clock.transition(enterprise, machine, 'offline', at);
    };
    const isDead = db.prepare<[string, string], { dead: number }>(
      'SELECT dead FROM machines WHERE enterprise = ? AND id = ?',
    );
    const nodeBirth = db.prepare(
      `INSERT INTO gateways (group_id, edge_node, online, bd_seq, first_seen, last_birth_at, last_seen_at)
       VALUES (@group, @edgeNode, 1, @bdSeq, @at, @at, @at)
       ON CONFLICT (group_id, edge_node) DO UPDATE SET
         online = 1, bd_seq = excluded.bd_seq, last_birth_at = excluded.last_birth_at,
         last_seen_at = max(coalesce(last_seen_at, 0), excluded.last_seen_at)`,
    );
    const nodeDeath = db.prepare(
      `UPDATE gateways SET online = 0, last_death_at = @at
       WHERE group_id = @group AND edge_node = @edgeNode AND bd_seq = @bdSeq AND online = 1`,
    );
    const nodeDevicesDead = db.prepare(
      `UPDATE machines SET dead = 1, last_death_at = @at
       WHERE enterprise = @group AND gateway = @edgeNode AND dead = 0`,
    );
    const deviceBirth = db.prepare(
      `INSERT INTO machines (enterprise, id, kind, nc, robot, data_depth, gateway, first_seen,
                             last_birth_at, last_seen_at, dead)
       VALUES (@group, @device, @kind, @nc, @robot, @dataDepth, @edgeNode, @at, @at, @at, 0)
       ON CONFLICT (enterprise, id) DO UPDATE SET
         kind = coalesce(excluded.kind, kind), nc = coalesce(excluded.nc, nc),
         robot = coalesce(excluded.robot, robot), data_depth = coalesce(excluded.data_depth, data_depth),
         gateway = excluded.gateway, last_birth_at = excluded.last_birth_at, dead = 0,
         last_seen_at = max(coalesce(last_seen_at, 0), excluded.last_seen_at)`,
    );
    const deviceDeath = db.prepare(
      `UPDATE machines SET dead = 1, last_death_at = @at
       WHERE enterprise = @group AND id = @device AND gateway = @edgeNode`,
    );
    const deviceSeen = db.prepare(
      `UPDATE machines SET
         gateway = @gateway,
         last_seen_at = max(coalesce(last_seen_at, 0), @seenAt),
         last_sample_at = CASE WHEN @sampleAt IS NULL THEN last_sample_at
                               ELSE max(coalesce(last_sample_at, 0), @sampleAt) END,
         state = CASE WHEN @state IS NOT NULL AND @stateAt >= coalesce(state_at, 0) THEN @state ELSE state END,
         state_at = CASE WHEN @state IS NOT NULL AND @stateAt >= coalesce(state_at, 0) THEN @stateAt
                         ELSE state_at END
       WHERE enterprise = @enterprise AND id = @machine`,
    );
    const gatewaySeen = db.prepare(
      `UPDATE gateways SET last_seen_at = max(coalesce(last_seen_at, 0), @seenAt)
       WHERE group_id = @group AND edge_node = @edgeNode`,
    );

    const metricsCleared = db.prepare(
      'DELETE FROM gateway_metrics WHERE group_id = @group AND edge_node = @edgeNode',
    );
    const metricSet = db.prepare(
      `INSERT INTO gateway_metrics (group_id, edge_node, name, value, vtype, updated_at)
       VALUES (@group, @edgeNode, @name, @value, @vtype, @at)
       ON CONFLICT (group_id, edge_node, name) DO UPDATE SET
         value = excluded.value, vtype = excluded.vtype, updated_at = excluded.updated_at`,
    );
    const setMetrics = (group: string, edgeNode: string, metrics: readonly GatewayMetric[]): void => {
      for (const m of metrics)
        metricSet.run({ group, edgeNode, name: m.name, at: m.at, ...encodeMetricValue(m.value) });
    };

    const applyEvent = (e: RegistryEvent, counts: { nodeDeaths: number; staleNodeDeaths: number }): void => {
      switch (e.type) {
        case 'nodeBirth':
          nodeBirth.run({ group: e.group, edgeNode: e.edgeNode, bdSeq: e.bdSeq, at: e.at });
          if (e.metrics !== undefined) {
            metricsCleared.run({ group: e.group, edgeNode: e.edgeNode });
            setMetrics(e.group, e.edgeNode, e.metrics);
          }
          return;
        case 'nodeMetrics':
          setMetrics(e.group, e.edgeNode, e.metrics);
          return;
        case 'nodeDeath':
          if (nodeDeath.run(e).changes > 0) {
            counts.nodeDeaths++;
            for (const id of clock.liveOnGateway(e.group, e.edgeNode)) offline(e.group, id, e.at);
            nodeDevicesDead.run({ group: e.group, edgeNode: e.edgeNode, at: e.at });
          } else counts.staleNodeDeaths++;
          return;
        case 'deviceBirth': {
          const p = e.properties;
          deviceBirth.run({
            group: e.group,
            device: e.device,
            edgeNode: e.edgeNode,
            at: e.at,
            kind: p.kind ?? null,
            nc: b(p.nc),
            robot: b(p.robot),
            dataDepth: p.dataDepth ?? null,
          });
          // Back from offline (or from silence); the state it reports next opens its next interval.
          {
            const lastSeen = back(e.group, e.device, e.at);
            if (lastSeen !== undefined) clock.resume(e.group, e.device, lastSeen, e.at);
          }
          clock.transition(e.group, e.device, null, e.at);
          return;
        }
        case 'deviceDeath':
          if (deviceDeath.run(e).changes > 0) offline(e.group, e.device, e.at);
          return;
      }
    };
    const applySeen = (d: DeviceActivity): void => {
      const lastSeen = back(d.enterprise, d.machine, d.seenAt);
      if (lastSeen !== undefined) {
        clock.resume(d.enterprise, d.machine, lastSeen, d.seenAt, d.state, d.stateAt ?? d.seenAt);
      }
      deviceSeen.run({
        enterprise: d.enterprise,
        machine: d.machine,
        gateway: d.gateway,
        seenAt: d.seenAt,
        sampleAt: d.sampleAt ?? null,
        state: d.state ?? null,
        stateAt: d.stateAt ?? d.seenAt,
      });
      // A dead machine's last state report (from before its death in this batch) opens nothing.
      if (d.state !== undefined && isDead.get(d.enterprise, d.machine)?.dead === 0) {
        clock.transition(d.enterprise, d.machine, d.state, d.stateAt ?? d.seenAt, 'ignore');
      }
    };
    const applyGatewaySeen = (g: GatewayActivity): void => {
      gatewaySeen.run(g);
    };

    this.#tx = db.transaction((batch: IngestBatch): ApplyResult => {
      const counts = { nodeDeaths: 0, staleNodeDeaths: 0 };
      silent = new Map();
      let latest = Number.NEGATIVE_INFINITY;
      for (const e of batch.events) if (e.type !== 'nodeMetrics') latest = Math.max(latest, e.at);
      for (const d of batch.devices) latest = Math.max(latest, d.seenAt);
      if (Number.isFinite(latest)) silent = clock.silentSince(latest - silenceMs);
      for (const e of batch.events) applyEvent(e, counts);
      for (const d of batch.devices) applySeen(d);
      for (const g of batch.gateways) applyGatewaySeen(g);
      return counts;
    });
  }

  apply(batch: IngestBatch): ApplyResult {
    return this.#tx(batch);
  }
}
