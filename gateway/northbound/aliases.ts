/**
 * Metric aliases for one edge node. Sparkplug wants an alias unique across the node's whole
 * metric set (node and devices); Wanji also keeps each alias stable for as long as the gateway
 * runs, so a reload that adds a tag leaves every other metric's alias as the host knows it.
 * Aliases are handed out from 1 in the order asked, so the same config gives the same
 * aliases after a restart. An alias is never reused, even after its metric is removed.
 */
export class AliasTable {
  readonly #byKey = new Map<string, number>();
  #next = 1;

  /** The alias of a device (machine) metric. */
  device(deviceId: string, metric: string): number {
    return this.#alias(`d\u0000${deviceId}\u0000${metric}`);
  }

  /** The alias of a node (gateway) metric. */
  node(metric: string): number {
    return this.#alias(`n\u0000${metric}`);
  }

  #alias(key: string): number {
    let alias = this.#byKey.get(key);
    if (alias === undefined) {
      alias = this.#next++;
      this.#byKey.set(key, alias);
    }
    return alias;
  }
}
