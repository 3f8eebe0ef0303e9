/**
 * Metric aliases for one edge node. Sparkplug wants an alias unique across the node's whole
 * metric set (node and devices); Wanji also keeps each alias stable for as long as the gateway
 * runs, so a reload that adds a tag leaves every other metric's alias as the host knows it.
 * Aliases are handed out from 1 in the order asked, so the same config gives the same
 * aliases after a restart. An alias is never reused, even after its metric is removed.
 */
export class AliasTable {
  /** Per device, then per metric name (names are shared strings, so no key is built per metric). */
  readonly #devices = new Map<string, Map<string, number>>();
  readonly #node = new Map<string, number>();
  #next = 1;

  /** The alias of a device (machine) metric. */
  device(deviceId: string, metric: string): number {
    let metrics = this.#devices.get(deviceId);
    if (metrics === undefined) {
      metrics = new Map();
      this.#devices.set(deviceId, metrics);
    }
    return this.#alias(metrics, metric);
  }

  /** The alias of a node (gateway) metric. */
  node(metric: string): number {
    return this.#alias(this.#node, metric);
  }

  #alias(table: Map<string, number>, metric: string): number {
    let alias = table.get(metric);
    if (alias === undefined) {
      alias = this.#next++;
      table.set(metric, alias);
    }
    return alias;
  }
}
