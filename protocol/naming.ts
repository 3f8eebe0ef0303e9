/**
 * Sparkplug names things in its own words, the programme in its own; this is where one becomes
 * the other, and nowhere else:
 *
 *   Sparkplug group id  = enterprise code   (a gateway config's `gateway.group`)
 *   Sparkplug edge node = gateway id        (a gateway config's `gateway.node`)
 *   Sparkplug device id = machine id
 *
 * The strings are the same, only the words differ. Code that speaks Sparkplug (topics, the
 * host's seq and birth bookkeeping, journal acknowledgements) keeps `group`/`edgeNode`/`device`;
 * code that speaks the programme (samples, the registry's machines, the API) keeps
 * `enterprise`/`gateway`/`machine`. Stored fields and API fields keep their names.
 */
import { type DeviceMessageType, deviceTopic, type NodeMessageType, nodeTopic } from './sparkplug/topic.js';

/** An edge node's Sparkplug ids. */
export interface EdgeNodeIds {
  /** Sparkplug group id (= enterprise code). */
  readonly group: string;
  /** Sparkplug edge node id (= gateway id). */
  readonly edgeNode: string;
}

/** A device's Sparkplug ids, as a DeviceTopic carries them. */
export interface DeviceIds extends EdgeNodeIds {
  /** Sparkplug device id (= machine id). */
  readonly device: string;
}

/** A gateway in the programme's words. */
export interface GatewayRef {
  /** Enterprise code (= Sparkplug group id). */
  readonly enterprise: string;
  /** Gateway id (= Sparkplug edge node id). */
  readonly gateway: string;
}

/** A machine in the programme's words: what a stored sample and a registry row are keyed by. */
export interface MachineRef {
  /** Enterprise code (= Sparkplug group id). */
  readonly enterprise: string;
  /** Machine id (= Sparkplug device id). */
  readonly machine: string;
}

/** A machine and the gateway that reports it. */
export interface MachineOnGateway extends MachineRef {
  /** Gateway id (= Sparkplug edge node id). */
  readonly gateway: string;
}

/** The gateway config's `gateway` section: Sparkplug ids, spelt as the config file spells them. */
export interface GatewayConfigIds {
  readonly group: string;
  readonly node: string;
}

/** Host side: the machine a device is. */
export function machineOf(d: Pick<DeviceIds, 'group' | 'device'>): MachineRef {
  return { enterprise: d.group, machine: d.device };
}

/** Host side: the machine a device is, with the gateway that reports it. */
export function machineOnGatewayOf(d: DeviceIds): MachineOnGateway {
  return { enterprise: d.group, machine: d.device, gateway: d.edgeNode };
}

/** Host side: the gateway an edge node is. */
export function gatewayOf(n: EdgeNodeIds): GatewayRef {
  return { enterprise: n.group, gateway: n.edgeNode };
}

/** Gateway side: the gateway a config's `gateway` section names. */
export function gatewayOfConfig(c: GatewayConfigIds): GatewayRef {
  return { enterprise: c.group, gateway: c.node };
}

/** Gateway side: the edge node a gateway is. */
export function edgeNodeOf(g: GatewayRef): EdgeNodeIds {
  return { group: g.enterprise, edgeNode: g.gateway };
}

/** Gateway side: the topic of a gateway's own (node) message. */
export function gatewayTopic(g: GatewayRef, type: NodeMessageType): string {
  return nodeTopic(g.enterprise, type, g.gateway);
}

/** Gateway side: the topic of a message about one of the gateway's machines (its devices). */
export function machineTopic(g: GatewayRef, type: DeviceMessageType, machine: string): string {
  return deviceTopic(g.enterprise, type, g.gateway, machine);
}
