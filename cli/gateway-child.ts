/**
 * The entry point of one child process of the demo's gateways (cli/demo-gateways.ts): runs the
 * gateways whose configs the parent gives it, powers them on and off on request, and logs pino
 * JSON lines on stdout, which the parent forwards to its own log. Exits when the parent goes away.
 */
import { pino } from 'pino';
import { validateGatewayConfig } from '../gateway/config/index.js';
import type { Gateway } from '../gateway/gateway.js';
import { childLogDestination, serveParent } from '../protocol/child-ipc.js';
import { type GatewayChildCall, reportGateways } from './demo-gateways.js';
import { routeOpcuaLogs } from './opcua-logs.js';

let logger = pino({ level: 'info' }, childLogDestination());
const configs = new Map<string, unknown>();
const running = new Map<string, Gateway>();
let GatewayClass: typeof Gateway | undefined;
let closed = false;

async function powerOn(code: string): Promise<void> {
  const config = configs.get(code);
  if (config === undefined) throw new Error(`this gateway process has no gateway for ${code}`);
  if (running.has(code) || closed || GatewayClass === undefined) return;
  const gateway = new GatewayClass(validateGatewayConfig(config, `<generated config of ${code}>`), {
    logger,
  });
  running.set(code, gateway);
  await gateway.start();
}

async function powerOff(code: string): Promise<Gateway | undefined> {
  const gateway = running.get(code);
  if (gateway === undefined) return undefined;
  running.delete(code);
  await gateway.close();
  return gateway;
}

async function closeAll(): Promise<void> {
  closed = true;
  const gateways = [...running.values()];
  running.clear();
  const results = await Promise.allSettled(gateways.map((g) => g.close()));
  for (const r of results) {
    if (r.status === 'rejected') logger.warn({ err: r.reason }, 'demo: a gateway did not close cleanly');
  }
}

async function handle(call: GatewayChildCall): Promise<unknown> {
  switch (call.op) {
    case 'init': {
      logger = pino({ level: call.logLevel }, childLogDestination());
      // Before node-opcua is loaded: its notices go to the log, not to stdout as text.
      routeOpcuaLogs(logger);
      GatewayClass = (await import('../gateway/gateway.js')).Gateway;
      for (const [code, config] of Object.entries(call.configs)) configs.set(code, config);
      return null;
    }
    case 'on': {
      // Spaced like the parent's own starts, so a child's gateways do not all connect at once.
      const starts: Promise<void>[] = [];
      for (const code of call.codes) {
        if (closed) break;
        starts.push(powerOn(code));
        if (call.spacingMs > 0) await new Promise((resolve) => setTimeout(resolve, call.spacingMs));
      }
      const results = await Promise.allSettled(starts);
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ code: call.codes[i], r }] : []));
      for (const f of failed)
        logger.error({ err: f.r.reason, enterprise: f.code }, 'demo: a gateway did not start');
      if (failed.length > 0) throw new Error(`${failed.length} gateway(s) did not start (see the log)`);
      return null;
    }
    case 'off': {
      const closed = await Promise.all(call.codes.map(powerOff));
      return reportGateways(closed.filter((g) => g !== undefined));
    }
    case 'pki': {
      const { openPki } = await import('../gateway/southbound/opcua/pki.js');
      const pki = await openPki(
        call.dir,
        { applicationUri: call.applicationUri, defaultUri: call.applicationUri, who: 'the demo gateways' },
        false,
        logger,
      );
      await pki.manager.dispose();
      return null;
    }
    case 'report':
      return reportGateways(running.values());
    case 'close':
      await closeAll();
      setImmediate(() => process.disconnect?.());
      return null;
  }
}

serveParent<GatewayChildCall>({
  handle,
  onDisconnect: async () => {
    await closeAll();
    return 0;
  },
  name: 'wanji gateway-child',
  runBy: '`wanji demo`',
});
