/**
 * The API's reply types, taken from the hub's own TypeBox schemas (type-only: nothing of the
 * hub is bundled), so the pages and the hub never disagree about a field.
 */
import type { Static } from '@sinclair/typebox';
import type {
  GatewayDetail as GatewayDetailSchema,
  GatewayList as GatewayListSchema,
  MachineDetail as MachineDetailSchema,
  MachineList as MachineListSchema,
  SeriesReply as SeriesReplySchema,
  StatsReply as StatsSchema,
} from '../../hub/api/schemas';
import type {
  AuditList as AuditListSchema,
  TokenCreated as TokenCreatedSchema,
  TokenList as TokenListSchema,
} from '../../hub/api/schemas-security';
import type {
  DeclarationHistory as DeclarationHistorySchema,
  ImportReportSchema,
  MachineLedgerReply as MachineLedgerSchema,
  ReferenceList as ReferenceListSchema,
} from '../../hub/registry/schemas';
import type {
  MachineDaysReply as MachineDaysSchema,
  StatisticsReply as StatisticsSchema,
  TrendReply as TrendSchema,
} from '../../hub/stats/schemas';
import type {
  PlatformList as PlatformListSchema,
  RecognitionList as RecognitionListSchema,
  TargetsReply as TargetsSchema,
} from '../../hub/stats/targets-schemas';

export type Stats = Static<typeof StatsSchema>;
export type GroupStats = Stats['byRegion'][number];

// The enterprises and fleet pages.
export type Statistics = Static<typeof StatisticsSchema>;
export type EnterpriseStats = Statistics['byEnterprise'][number];
export type Trend = Static<typeof TrendSchema>;
export type ReferenceList = Static<typeof ReferenceListSchema>;
export type DeclarationHistory = Static<typeof DeclarationHistorySchema>;
export type MachineLedger = Static<typeof MachineLedgerSchema>;
export type MachineList = Static<typeof MachineListSchema>;
export type MachineItem = MachineList['machines'][number];
export type MachineDetail = Static<typeof MachineDetailSchema>;
export type GatewayList = Static<typeof GatewayListSchema>;
export type GatewayItem = GatewayList['gateways'][number];
export type GatewayDetail = Static<typeof GatewayDetailSchema>;

// The machine page.
export type SeriesReply = Static<typeof SeriesReplySchema>;
export type MachineDays = Static<typeof MachineDaysSchema>;
export type MachineDay = MachineDays['machines'][number];

// The alerts page: written out here because the alert schemas live with their routes
// (hub/api/routes/alerts.ts: AlertReply, RuleReply; hub/alerts/rules.ts: the rule fields),
// which bring the hub's server code along. Keep these in step with them.
export type AlertRuleKind =
  | 'gateway-offline'
  | 'machine-offline'
  | 'data-stale'
  | 'journal-backlog'
  | 'machine-alarm'
  | 'networking-rate';
export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertScopeKind = 'all' | 'region' | 'enterprise' | 'gateway' | 'machine';
export interface AlertRuleScope {
  kind: AlertScopeKind;
  region?: string;
  enterprise?: string;
  gateway?: string;
  machine?: string;
}
export interface AlertItem {
  readonly id: number;
  readonly rule: { readonly id: number; readonly name: string };
  readonly kind: string;
  readonly severity: string;
  readonly state: 'active' | 'cleared';
  readonly subject: {
    readonly type: string;
    readonly enterprise: string | null;
    readonly enterpriseName: string | null;
    readonly region: string | null;
    readonly gateway: string | null;
    readonly machine: string | null;
  };
  readonly detail: Readonly<Record<string, unknown>>;
  readonly since: string;
  readonly firedAt: string;
  readonly clearedAt: string | null;
  readonly acknowledged: boolean;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly ackNote: string | null;
}
export interface AlertList {
  readonly total: number;
  readonly alerts: readonly AlertItem[];
}
export interface AlertDelivery {
  readonly channel: string;
  readonly sent: number;
  readonly pending: number;
  readonly failed: number;
  readonly failedAttempts: number;
  readonly lastSentAt: string | null;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}
export interface AlertRuleFields {
  name: string;
  kind: AlertRuleKind;
  scope: AlertRuleScope;
  threshold: number | null;
  durationMs: number;
  severity: AlertSeverity;
  channels: string[];
  enabled: boolean;
}
export interface AlertRuleItem extends Readonly<AlertRuleFields> {
  readonly id: number;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedBy: string;
  readonly updatedAt: string;
  readonly activeAlerts: number;
  readonly delivery: readonly AlertDelivery[];
}
export interface AlertChannel {
  readonly name: string;
  readonly type: string;
  readonly language: string;
}

// The programme targets page.
export type Targets = Static<typeof TargetsSchema>;
export type TargetProgress = Targets['targets'][number];
export type RecognitionList = Static<typeof RecognitionListSchema>;
export type PlatformList = Static<typeof PlatformListSchema>;

// The admin pages. Types of hub files that need Node are written out here (type imports of
// them would pull Node's types into the app).
export type ImportReport = Static<typeof ImportReportSchema>;
export type ReferenceItem = ReferenceList['items'][number];
export type TokenList = Static<typeof TokenListSchema>;
export type TokenItem = TokenList['tokens'][number];
export type TokenCreated = Static<typeof TokenCreatedSchema>;
export type AuditList = Static<typeof AuditListSchema>;
export type AuditEntry = AuditList['entries'][number];
export type TokenRole = TokenItem['role'];
export interface UserItem {
  readonly name: string;
  readonly role: 'admin' | 'operator' | 'bureau' | 'enterprise';
  readonly regions: readonly string[];
  readonly enterprise: string | null;
  readonly disabled: boolean;
  readonly sessions: number;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastLoginAt: string | null;
}
export interface UserCreated {
  readonly user: UserItem;
  readonly password?: string;
}
export interface MqttUserItem {
  readonly username: string;
  readonly group: string;
  readonly node: string;
  readonly status: 'active' | 'revoked';
  readonly createdBy: string;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}
export interface MqttUserCreated {
  readonly password: string;
  readonly credential: MqttUserItem;
}
