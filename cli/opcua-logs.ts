import { format, stripVTControlCharacters } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua';
import type { Logger } from 'pino';

/**
 * node-opcua prints its warnings with console.log, on stdout, where commands print for people
 * and scripts (on Node 20 it warns about RSA PKCS#1 v1.5 at start-up). Send them to the log.
 */
export function routeOpcuaLogs(logger: Logger): void {
  const strip = (args: unknown[]): string => stripVTControlCharacters(format(...args));
  setWarningLogger((...args: unknown[]) => logger.warn({ component: 'node-opcua' }, strip(args)));
  setErrorLogger((...args: unknown[]) => logger.error({ component: 'node-opcua' }, strip(args)));
}
