import { format, stripVTControlCharacters } from 'node:util';
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import type { Logger } from 'pino';

/**
 * node-opcua's notices that are not about the user's system: the Node 20 RSA PKCS#1 v1.5 hint
 * (Wanji's OPC UA security policies do not use it) and the one-off certificate creation.
 */
const ROUTINE = [/NODE-OPCUA-W27/, /security-revert=CVE-2023-46809/, /Creating default certificate/];

/**
 * What node-opcua says, line by line, around a connection the server refused or dropped: the
 * transport error (`Error client11 …`), request dumps with the whole base64 certificate, the
 * premature close. The driver logs one line per attempt with the status, what to do and the
 * next retry; these stay at debug level, never a dozen warnings per attempt.
 */
const CONNECTION_NOISE = [
  /\bError\s+client\d+\b/,
  /[A-Za-z0-9+/=]{200,}/, // a certificate or nonce in base64
  /premature socket termination/,
  /OpenSecureChannel(Request|Response)/,
  /requestData not found/,
  /rejected by server/,
  /socket (disconnected|has been disconnected)/i,
  /Sender Certificate/,
  /-----BEGIN CERTIFICATE-----|(client|sender|server)Certificate/i,
];

/**
 * node-opcua prints its warnings with console.log, on stdout, where commands print for people
 * and scripts. Send them to the log instead, routine notices at debug level.
 */
export function routeOpcuaLogs(logger: Logger): void {
  const log = logger.child({ component: 'node-opcua' });
  const text = (args: unknown[]): string => stripVTControlCharacters(format(...args));
  const quiet = (msg: string) =>
    ROUTINE.some((r) => r.test(msg)) || CONNECTION_NOISE.some((r) => r.test(msg));
  setWarningLogger((...args: unknown[]) => {
    const msg = text(args);
    if (quiet(msg)) log.debug(msg);
    else log.warn(msg);
  });
  setErrorLogger((...args: unknown[]) => {
    const msg = text(args);
    if (quiet(msg)) log.debug(msg);
    else log.error(msg);
  });
}
