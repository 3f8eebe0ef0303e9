/**
 * The hub's alerts, behind one entry (docs/alerts.md): AlertService (rules, evaluation,
 * lifecycle, acknowledgement, channels), the `alerts` config section, the rule schemas the
 * API validates with. Storage is hub/database/alerts.ts; the routes are hub/api/routes/alerts.ts.
 */
export {
  type AlertsConfig,
  AlertsConfigSchema,
  CHANNEL_TYPES,
  type ChannelConfig,
  channelProblems,
} from './config.js';
export { AlertError } from './errors.js';
export { type AlertJson, alertJson } from './message.js';
export {
  RULE_KINDS,
  type RuleCreateBody,
  RuleCreateBody as RuleCreateBodySchema,
  type RulePatchBody,
  RulePatchBody as RulePatchBodySchema,
  RuleScope,
  SCOPE_KINDS,
  SEVERITIES,
} from './rules.js';
export {
  AlertListReply,
  AlertReply,
  ChannelListReply,
  ChannelTestReply,
  RuleListReply,
  RuleReply,
} from './schemas.js';
export {
  type AlertActor,
  type AlertCounters,
  AlertService,
  type AlertServiceOptions,
  type ChannelInfo,
  type EvaluationResult,
  type RuleView,
} from './service.js';
