/**
 * A synthetic OPC UA server for the benchmark: `machines` objects of `tags` Double variables,
 * `ns=1;s=<machine>.t<i>` (scenarios.ts: benchNodeId). Each variable is a getter that counts
 * its reads (MinimumSamplingInterval 1 s), so every sample the server takes is a change and
 * every monitored item sends one notification per sampling interval: a point per second.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, OPCUACertificateManager, OPCUAServer, Variant } from 'node-opcua';

export interface SyntheticOpcuaOptions {
  readonly machines: readonly string[];
  readonly tags: number;
  readonly port?: number;
}

export const BENCH_NAMESPACE_URI = 'urn:wanji:bench';

export class SyntheticOpcuaServer {
  readonly #opts: SyntheticOpcuaOptions;
  #server: OPCUAServer | undefined;
  #url: string | undefined;

  constructor(opts: SyntheticOpcuaOptions) {
    this.#opts = opts;
  }

  get endpointUrl(): string {
    if (this.#url === undefined) throw new Error('synthetic OPC UA server is not started');
    return this.#url;
  }

  async start(): Promise<void> {
    const pki = join(tmpdir(), 'wanji-bench-pki');
    mkdirSync(pki, { recursive: true });
    const server = new OPCUAServer({
      port: this.#opts.port ?? 0,
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      serverCertificateManager: new OPCUACertificateManager({
        rootFolder: pki,
        automaticallyAcceptUnknownCertificate: true,
        disableFileWatchers: true,
      }),
      disableDiscovery: true,
      serverInfo: { applicationUri: BENCH_NAMESPACE_URI, productUri: BENCH_NAMESPACE_URI },
      // Room for the gateway's monitored items: node-opcua's defaults are far lower.
      serverCapabilities: {
        maxMonitoredItemsPerSubscription: 1_000_000,
        // Retries after timeouts open new sessions before the server has dropped the old ones.
        maxSessions: 1000,
        operationLimits: { maxMonitoredItemsPerCall: 100_000, maxNodesPerRead: 100_000 },
      },
      maxConnectionsPerEndpoint: 1000,
    });
    this.#server = server;
    await server.initialize();
    const addressSpace = server.engine.addressSpace;
    if (addressSpace === null) throw new Error('no address space');
    const ns = addressSpace.getOwnNamespace();
    for (const [m, machine] of this.#opts.machines.entries()) {
      const object = ns.addObject({
        organizedBy: addressSpace.rootFolder.objects,
        browseName: machine,
        nodeId: `s=${machine}`,
      });
      for (let t = 0; t < this.#opts.tags; t++) {
        let reads = m * 1000 + t;
        ns.addVariable({
          componentOf: object,
          browseName: `t${t}`,
          nodeId: `s=${machine}.t${t}`,
          dataType: 'Double',
          minimumSamplingInterval: 1000,
          value: {
            get: () => new Variant({ dataType: DataType.Double, value: reads++ }),
          },
        });
      }
    }
    await server.start();
    const port = server.endpoints[0]?.port;
    this.#url = `opc.tcp://127.0.0.1:${port}`;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.shutdown(0);
  }
}
