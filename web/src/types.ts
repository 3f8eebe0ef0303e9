/**
 * The API's reply types, taken from the hub's own TypeBox schemas (type-only: nothing of the
 * hub is bundled), so the pages and the hub never disagree about a field.
 */
import type { Static } from '@sinclair/typebox';
import type {
  ChannelListReply as AlertChannelListSchema,
  AlertListReply as AlertListSchema,
  RuleFields as AlertRuleFieldsSchema,
  RuleReply as AlertRuleSchema,
  AlertReply as AlertSchema,
} from '../../hub/alerts/schemas';
import type {
  EnterpriseList as EnterpriseListSchema,
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
  DeclarationImportReport as DeclarationImportReportSchema,
  PlatformList as PlatformListSchema,
  RecognitionList as RecognitionListSchema,
  TargetList as TargetListSchema,
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

// The alerts page.
export type AlertRuleFields = Static<typeof AlertRuleFieldsSchema>;
export type AlertRuleKind = AlertRuleFields['kind'];
export type AlertSeverity = AlertRuleFields['severity'];
export type AlertRuleScope = AlertRuleFields['scope'];
export type AlertScopeKind = AlertRuleScope['kind'];
export type AlertItem = Static<typeof AlertSchema>;
export type AlertList = Static<typeof AlertListSchema>;
export type AlertRuleItem = Static<typeof AlertRuleSchema>;
export type AlertDelivery = AlertRuleItem['delivery'][number];
export type AlertChannel = Static<typeof AlertChannelListSchema>['channels'][number];

// The programme targets page.
export type Targets = Static<typeof TargetsSchema>;
export type TargetProgress = Targets['targets'][number];
export type RecognitionList = Static<typeof RecognitionListSchema>;
export type PlatformList = Static<typeof PlatformListSchema>;
export type TargetList = Static<typeof TargetListSchema>;
export type TargetItem = TargetList['targets'][number];
export type DeclarationImportReport = Static<typeof DeclarationImportReportSchema>;
export type EnterpriseList = Static<typeof EnterpriseListSchema>;

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
