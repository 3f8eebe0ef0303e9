/** Helpers for the MQTT security tests: a logger whose lines can be read back, MQTT options. */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connectAsync, type IClientOptions } from 'mqtt';
import { type Logger, pino } from 'pino';

export interface CapturedLogs {
  readonly logger: Logger;
  /** Parsed log lines whose `msg` is `msg`. */
  find(msg: string): Record<string, unknown>[];
  text(): string;
}

export function capturingLogger(): CapturedLogs {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        lines.push(line);
      },
    },
  );
  return {
    logger,
    find: (msg) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg),
    text: () => lines.join(''),
  };
}

export function mqttOptions(opts: IClientOptions): IClientOptions {
  return {
    clientId: `t-${Math.random().toString(16).slice(2, 10)}`,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...opts,
  };
}

/** Connects expecting a refusal; the error's message, or 'connected' when let in. */
export async function connectRefusal(url: string, opts: IClientOptions): Promise<string> {
  try {
    const c = await connectAsync(url, mqttOptions(opts));
    await c.endAsync(true);
    return 'connected';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A tool from the Debian packages the CI installs: its path, or undefined (skip; fail in CI). */
export function tool(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  if (process.env.CI) throw new Error(`${name} is required in CI (install its Debian package)`);
  return undefined;
}

export interface TestPki {
  /** CA certificate (PEM file) that signed the server certificate. */
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** A client certificate and key signed by the same CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Another CA, which signed nothing here. */
  readonly otherCa: string;
}

/** Self-signed test certificates for 127.0.0.1 / localhost, made with openssl in `dir`. */
export function makeTestPki(openssl: string, dir: string): TestPki {
  const run = (...args: string[]) => execFileSync(openssl, args, { cwd: dir, stdio: 'pipe' });
  const f = (n: string) => join(dir, n);
  for (const ca of ['ca', 'other-ca']) {
    run(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=wanji test ${ca}`,
      '-keyout',
      f(`${ca}.key`),
      '-out',
      f(`${ca}.crt`),
    );
  }
  const leaf = (name: string, cn: string, ext: string) => {
    run(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${cn}`,
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
    );
    writeFileSync(f(`${name}.ext`), ext);
    run(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      f(`${name}.ext`),
      '-out',
      f(`${name}.crt`),
    );
  };
  leaf('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'E100.GW-TLS', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: f('ca.crt'),
    cert: f('server.crt'),
    key: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCa: f('other-ca.crt'),
  };
}
