/**
 * A real parent hub (embedded broker, HTTP on port 0, anonymous MQTT off) for the child-hub
 * tests, with tokens of every role, child reports built by hand, and HTTP calls over fetch.
 */
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import type { ChildReport } from '../../hub/stats/child-report.js';
import { tempDir } from './helpers.js';
import { type CapturedLogs, capturingLogger } from './mqtt-security-helpers.js';

/** The parent's own enterprise (yiwu, 10 machines declared) and an enterprise token's. */
export const OWN = {
  code: 'P1',
  name: 'P1 公司',
  regionCode: 'yiwu',
  industryCode: 'hardware',
  backbone: true,
  ledger: { productionEquipment: 10, ncEquipment: 4, robots: 1 },
} as const;

export type ReportEnterprise = ChildReport['enterprises'][number];

/** One enterprise of a report: `machines` of them seen, all networked and online. */
export function enterprise(
  code: string,
  regionCode: string,
  production: number,
  machines: number,
): ReportEnterprise {
  return {
    code,
    name: `${code} 有限公司`,
    regionCode,
    industryCode: 'hardware',
    backbone: false,
    ledger: { productionEquipment: production, ncEquipment: 0, robots: 0 },
    activity: {
      machines,
      networked: machines,
      online: machines,
      poweredOn: machines,
      networkedNc: 0,
      networkedRobots: 0,
    },
  };
}

const NOTHING = { machines: 0, networked: 0, online: 0, poweredOn: 0, networkedNc: 0, networkedRobots: 0 };

export function report(
  hubId: string,
  enterprises: ReportEnterprise[],
  generatedAt = Date.now(),
): ChildReport {
  return {
    hubId,
    generatedAt,
    windows: { networkingMs: 7 * 86_400_000, onlineMs: 300_000 },
    enterprises,
    unattributed: { ...NOTHING },
  };
}

export interface Reply {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly text: string;
}

export class ParentHub {
  readonly dir = tempDir();
  logs: CapturedLogs = capturingLogger();
  hub!: Hub;

  async start(): Promise<void> {
    this.logs = capturingLogger();
    this.hub = new Hub({
      dataDir: this.dir.path,
      hostId: 'city-hub',
      mqtt: { port: 0 },
      http: { port: 0 },
      statistics: { snapshots: false },
      logger: this.logs.logger,
    });
    await this.hub.start();
    if (this.hub.registry.enterprise(OWN.code) === undefined) this.hub.registry.upsertEnterprise(OWN, 'test');
  }

  /** Closes the hub and starts a new one on the same data directory. */
  async restart(): Promise<void> {
    await this.hub.close();
    await this.start();
  }

  async close(): Promise<void> {
    await this.hub.close();
    this.dir.remove();
  }

  get url(): string {
    return `http://127.0.0.1:${this.hub.httpPort}`;
  }

  /** A token made straight in the registry, as `wanji token create` does. */
  token(
    role: 'admin' | 'operator' | 'bureau' | 'enterprise' | 'child-hub',
    opts: { enterprise?: string; regions?: string[]; hubId?: string; enterprises?: string[] } = {},
  ): string {
    const db = this.hub.registry.database;
    return new TokenStore(db, new AuditLog(db)).create(
      { role, ...opts },
      { actor: 'cli:test', source: 'cli' },
    ).token;
  }

  async call(token: string | undefined, method: string, path: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a file (export) or an empty body
    }
    return { status: res.status, json, text };
  }

  post(token: string, body: unknown): Promise<Reply> {
    return this.call(token, 'POST', '/api/v1/statistics/children', body);
  }

  audit(action: string) {
    return new AuditLog(this.hub.registry.database).list({ action, limit: 1_000 });
  }
}
