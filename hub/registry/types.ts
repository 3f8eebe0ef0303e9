import type { DeviceHealth, EnterpriseDeclaration, Ledger } from '../../protocol/index.js';

export interface Region {
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly aliases: readonly string[];
}

export interface Industry extends Region {
  readonly keySubIndustry: boolean;
}

export interface Enterprise {
  readonly code: string;
  readonly name: string;
  readonly regionCode: string;
  readonly industryCode: string;
  readonly backbone: boolean;
  readonly ledger: Ledger;
  readonly declaredBy: string;
  /** ms */
  readonly declaredAt: number;
}

/** One ledger declaration as it was made (the history behind Enterprise). */
export interface DeclarationRecord extends EnterpriseDeclaration {
  readonly declaredBy: string;
  readonly declaredAt: number;
}

export interface Gateway {
  /** Sparkplug group = enterprise code. */
  readonly group: string;
  readonly edgeNode: string;
  readonly online: boolean;
  readonly bdSeq: number | null;
  readonly firstSeen: number;
  readonly lastBirthAt: number | null;
  readonly lastDeathAt: number | null;
  readonly lastSeenAt: number | null;
}

export interface MachineRecord {
  readonly enterprise: string;
  readonly id: string;
  readonly kind: string | null;
  readonly nc: boolean | null;
  readonly robot: boolean | null;
  readonly dataDepth: string | null;
  /** The last state the machine reported (offline is derived from `dead` and silence). */
  readonly state: string | null;
  /** Edge node id the machine was last seen on. */
  readonly gateway: string;
  readonly firstSeen: number;
  readonly lastSeenAt: number | null;
  /** Last valid, non-historical sample. */
  readonly lastSampleAt: number | null;
  readonly dead: boolean;
  /**
   * The machine's link health as its gateway last reported it (`Devices/<id>/Health`):
   * offline while the gateway is offline; null when the gateway does not report health.
   */
  readonly health: DeviceHealth | null;
  /** From the enterprise's declaration; null when the group is not a declared enterprise. */
  readonly regionCode: string | null;
  readonly industryCode: string | null;
  /** What an operator decided about it (docs/statistics.md, "What is counted"). */
  readonly status: MachineStatus;
  readonly confirmedAt: number | null;
  readonly confirmedBy: string | null;
  readonly retiredAt: number | null;
  readonly retiredBy: string | null;
  /** The machine this one was merged into (it is then retired). */
  readonly mergedInto: string | null;
}

/**
 * unconfirmed: discovered from a birth, no operator has looked at it (the default);
 * confirmed: an operator says it is a real machine of the enterprise; retired: an operator
 * took it out of every count (gone, invented, or a duplicate merged into another). A birth
 * changes none of these: only confirming a retired machine brings it back.
 */
export type MachineStatus = 'confirmed' | 'unconfirmed' | 'retired';
export const MACHINE_STATUSES: readonly MachineStatus[] = ['confirmed', 'unconfirmed', 'retired'];

export interface MachineFilter {
  readonly enterprise?: string;
  readonly region?: string;
  readonly industry?: string;
  /** With `onlineSince`: only machines that are (true) or are not (false) online. */
  readonly online?: boolean;
  readonly onlineSince?: number;
  readonly status?: MachineStatus;
  /** A part of the machine id, the enterprise code or its name. */
  readonly search?: string;
  /** Not online (since `onlineSince`) first, then alarm, then degraded; else by enterprise and id. */
  readonly attention?: boolean;
  readonly limit?: number;
  readonly offset?: number;
}

/** Machine attributes a DBIRTH announces in its `Properties/*` metrics. */
export interface MachineProperties {
  readonly kind?: string;
  readonly nc?: boolean;
  readonly robot?: boolean;
  readonly dataDepth?: string;
}

/** The latest value of one gateway (Sparkplug node) metric, e.g. `Devices/M1/Health`. */
export interface GatewayMetric {
  readonly name: string;
  readonly value: number | string | boolean | null;
  /** When the hub received it (ms). */
  readonly at: number;
}

/** Birth and death events and gateway metric updates, applied in order. */
export type RegistryEvent =
  | {
      readonly type: 'nodeBirth';
      readonly group: string;
      readonly edgeNode: string;
      readonly bdSeq: number;
      readonly at: number;
      /** The NBIRTH's metrics (bdSeq and Node Control aside): they replace all stored ones. */
      readonly metrics?: readonly GatewayMetric[];
    }
  | {
      /** An NDATA: the changed gateway metrics. */
      readonly type: 'nodeMetrics';
      readonly group: string;
      readonly edgeNode: string;
      readonly at: number;
      readonly metrics: readonly GatewayMetric[];
    }
  | {
      readonly type: 'nodeDeath';
      readonly group: string;
      readonly edgeNode: string;
      readonly bdSeq: number;
      readonly at: number;
    }
  | {
      readonly type: 'deviceBirth';
      readonly group: string;
      readonly edgeNode: string;
      readonly device: string;
      readonly at: number;
      readonly properties: MachineProperties;
    }
  | {
      readonly type: 'deviceDeath';
      readonly group: string;
      readonly edgeNode: string;
      readonly device: string;
      readonly at: number;
    };

/** Coalesced "last seen" news about one machine, applied after the batch's events. */
export interface DeviceActivity {
  readonly enterprise: string;
  readonly machine: string;
  readonly gateway: string;
  readonly seenAt: number;
  readonly sampleAt?: number;
  readonly state?: string;
  readonly stateAt?: number;
}

export interface GatewayActivity {
  readonly group: string;
  readonly edgeNode: string;
  readonly seenAt: number;
}

export interface IngestBatch {
  readonly events: readonly RegistryEvent[];
  readonly devices: readonly DeviceActivity[];
  readonly gateways: readonly GatewayActivity[];
}

/**
 * Measured machine counts of one enterprise (this hub's, or a child hub's), retired machines left
 * out: the statistics' one word for what was measured (hub/stats/figures.ts sums and caps it).
 */
export interface Activity {
  readonly machines: number;
  readonly networked: number;
  readonly online: number;
  /** Online and not reporting powered_off. */
  readonly poweredOn: number;
  /** Networked machines that announced themselves NC (Properties/NC). */
  readonly networkedNc: number;
  /** Networked machines that announced themselves industrial robots. */
  readonly networkedRobots: number;
}

/** An enterprise's (Sparkplug group's) Activity as the registry counts it, for the statistics. */
export interface EnterpriseActivity extends Activity {
  readonly enterprise: string;
  /** Networked machines no operator has confirmed. */
  readonly networkedUnconfirmed: number;
}
