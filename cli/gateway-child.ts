/**
 * The entry point of one child process of the demo's gateways (cli/gateway-pool.ts): runs the
 * gateways whose configs the parent gives it in a GatewaysInProcess, powers them on and off on
 * request, and logs pino JSON lines on stdout, which the parent forwards to its own log. Exits
 * when the parent goes away.
 */
import { pino } from 'pino';
import { type GatewayConfig, validateGatewayConfig } from '../gateway/config/index.js';
import { openPki } from '../gateway/southbound/opcua/pki.js';
import { childLogDestination, serveParent } from '../protocol/child-ipc.js';
import { type GatewayChildCall, GatewaysInProcess } from './gateway-pool.js';
import { routeOpcuaLogs } from './opcua-logs.js';

let logger = pino({ level: 'info' }, childLogDestination());
let gateways: GatewaysInProcess | undefined;

function running(): GatewaysInProcess {
  if (gateways === undefined) throw new Error('this gateway process has no gateways yet (init first)');
  return gateways;
}

async function handle(call: GatewayChildCall): Promise<unknown> {
  switch (call.op) {
    case 'init': {
      logger = pino({ level: call.logLevel }, childLogDestination());
      routeOpcuaLogs(logger);
      // Validated again here: the copy that crossed the pipe shares no hidden classes.
      const configs = new Map<string, GatewayConfig>(
        Object.entries(call.configs).map(([code, c]) => [
          code,
          validateGatewayConfig(c, `<generated config of ${code}>`),
        ]),
      );
      gateways = new GatewaysInProcess(configs, logger);
      return null;
    }
    case 'on':
      // Spaced like the parent's own starts, so a child's gateways do not all connect at once.
      await running().on(call.codes, call.spacingMs);
      return null;
    case 'off':
      return await running().off(call.codes);
    case 'report':
      return await running().report();
    case 'pki': {
      const pki = await openPki(
        call.dir,
        { applicationUri: call.applicationUri, defaultUri: call.applicationUri, who: 'the demo gateways' },
        false,
        logger,
      );
      await pki.manager.dispose();
      return null;
    }
    case 'close':
      await gateways?.close();
      setImmediate(() => process.disconnect?.());
      return null;
  }
}

serveParent<GatewayChildCall>({
  handle,
  onDisconnect: async () => {
    await gateways?.close();
    return 0;
  },
  name: 'wanji gateway-child',
  runBy: '`wanji demo`',
});
