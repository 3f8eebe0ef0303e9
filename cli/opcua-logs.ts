import { format, stripVTControlCharacters } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import type { Logger } from 'pino';

/**
 * node-opcua's notices that are not about the user's system: the Node 20 RSA PKCS#1 v1.5 hint
 * (Wanji's OPC UA security policies do not use it) and the one-off certificate creation.
 */
const ROUTINE = [/NODE-OPCUA-W27/, /security-revert=CVE-2023-46809/, /Creating default certificate/];

/**
 * node-opcua prints its warnings with console.log, on stdout, where commands print for people
 * and scripts. Send them to the log instead, routine notices at debug level.
 */
export function routeOpcuaLogs(logger: Logger): void {
  const log = logger.child({ component: 'node-opcua' });
  const text = (args: unknown[]): string => stripVTControlCharacters(format(...args));
  setWarningLogger((...args: unknown[]) => {
    const msg = text(args);
    if (ROUTINE.some((r) => r.test(msg))) log.debug(msg);
    else log.warn(msg);
  });
  setErrorLogger((...args: unknown[]) => log.error(text(args)));
}
