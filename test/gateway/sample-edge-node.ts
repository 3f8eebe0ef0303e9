/** The sample gateway (fixtures.ts) as an edge node, for tests that drive its Sparkplug side. */
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { deviceDefinitions } from '../../gateway/northbound/device-model.js';
import { EdgeNode, type EdgeNodeOptions } from '../../gateway/northbound/edge-node.js';
import { sampleConfigObject } from './fixtures.js';

/**
 * An edge node for the sample gateway's group, node and machines (only those `keep` names, when
 * given), publishing to `mqtt` (the config's mqtt section); `options` gives the rest.
 */
export function sampleEdgeNode(
  mqtt: Record<string, unknown>,
  options: Omit<EdgeNodeOptions, 'group' | 'node' | 'mqtt' | 'devices'>,
  keep?: readonly string[],
): EdgeNode {
  const obj = sampleConfigObject();
  obj.mqtt = mqtt;
  const config = validateGatewayConfig(obj);
  const machines = keep === undefined ? config.machines : config.machines.filter((m) => keep.includes(m.id));
  return new EdgeNode({
    group: config.gateway.group,
    node: config.gateway.node,
    mqtt: config.mqtt,
    devices: deviceDefinitions(machines),
    ...options,
  });
}
