/**
 * What a notification says, in one language per channel (zh-CN by default, or en): a title
 * and a few lines, rendered from the stored alert, so that a notification retried a day later
 * says what happened then, not what the state is now. The stored alert as JSON (`alertJson`)
 * is the same for the API and a webhook, so it lives here too.
 */
import type { Static } from '@sinclair/typebox';
import type { AlertRow } from '../database/alerts.js';
import type { ChannelLanguage } from './config.js';
import type { AlertReply, RuleKind, Severity } from './schemas.js';

/** The alert as the API shows it (GET /api/v1/alerts) and a webhook receives it. */
export type AlertJson = Static<typeof AlertReply>;

/** The key, in an alert's stored detail, of its enterprise's name (kept out of `detail` in AlertJson). */
export const ENTERPRISE_NAME = 'enterpriseName';

export type NoticeEvent = 'fire' | 'clear' | 'test';

export interface Notice {
  readonly event: NoticeEvent;
  readonly language: ChannelLanguage;
  readonly title: string;
  /** Plain lines; the robots' markdown is made from them. */
  readonly lines: readonly string[];
  /** Absent for a test message. */
  readonly alert?: AlertJson;
}

const KIND_TITLE: Readonly<Record<ChannelLanguage, Readonly<Record<RuleKind, string>>>> = {
  'zh-CN': {
    'gateway-offline': '网关离线',
    'machine-offline': '设备离线',
    'data-stale': '设备数据停滞',
    'journal-backlog': '网关缓存积压',
    'machine-alarm': '设备报警',
    'networking-rate': '联网率低于阈值',
  },
  en: {
    'gateway-offline': 'Gateway offline',
    'machine-offline': 'Machine offline',
    'data-stale': 'Machine data stale',
    'journal-backlog': 'Gateway journal backlog growing',
    'machine-alarm': 'Machine in alarm',
    'networking-rate': 'Networking rate under threshold',
  },
};

const SEVERITY: Readonly<Record<ChannelLanguage, Readonly<Record<Severity, string>>>> = {
  'zh-CN': { critical: '严重', warning: '警告', info: '提示' },
  en: { critical: 'critical', warning: 'warning', info: 'info' },
};

const WORDS = {
  'zh-CN': {
    fire: '告警',
    clear: '已恢复',
    test: '测试消息',
    rule: '规则',
    subject: '对象',
    since: '开始时间',
    cleared: '恢复时间',
    lasted: '持续',
    hub: '平台',
    gateway: '网关',
    machine: '设备',
    enterprise: '企业',
    testLine: '这是一条测试消息：通知渠道可用。',
  },
  en: {
    fire: 'FIRING',
    clear: 'CLEARED',
    test: 'Test message',
    rule: 'Rule',
    subject: 'Subject',
    since: 'Since',
    cleared: 'Cleared',
    lasted: 'Lasted',
    hub: 'Hub',
    gateway: 'gateway',
    machine: 'machine',
    enterprise: 'enterprise',
    testLine: 'This is a test message: the notification channel works.',
  },
} as const;

/** "2 h 5 min" / "2小时5分钟"; seconds only under a minute. */
export function duration(ms: number, lang: ChannelLanguage): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const zh = lang === 'zh-CN';
  if (s < 60) return zh ? `${s}秒` : `${s} s`;
  const parts: string[] = [];
  if (d > 0) parts.push(zh ? `${d}天` : `${d} d`);
  if (h > 0) parts.push(zh ? `${h}小时` : `${h} h`);
  if (m > 0 && d === 0) parts.push(zh ? `${m}分钟` : `${m} min`);
  return parts.join(zh ? '' : ' ');
}

/** Local time at `utcOffsetMin`: "2026-12-06 14:05:09 (UTC+8)". */
export function localTime(iso: string, utcOffsetMin: number): string {
  const t = new Date(Date.parse(iso) + utcOffsetMin * 60_000).toISOString();
  const sign = utcOffsetMin < 0 ? '−' : '+';
  const abs = Math.abs(utcOffsetMin);
  const offset = `${Math.floor(abs / 60)}${abs % 60 === 0 ? '' : `:${String(abs % 60).padStart(2, '0')}`}`;
  return `${t.slice(0, 10)} ${t.slice(11, 19)} (UTC${sign}${offset})`;
}

function subjectText(a: AlertJson, lang: ChannelLanguage): string {
  const w = WORDS[lang];
  const s = a.subject;
  const who =
    s.enterpriseName === null ? (s.enterprise ?? '') : `${s.enterpriseName} (${s.enterprise ?? ''})`;
  if (s.type === 'gateway') return `${who} ${w.gateway} ${s.gateway ?? ''}`;
  if (s.type === 'machine') return `${who} ${w.machine} ${s.machine ?? ''}`;
  return `${w.enterprise} ${who}`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The sentence that says what the condition is. */
function whatLine(a: AlertJson, lang: ChannelLanguage, lastedMs: number): string {
  const d = a.detail;
  const zh = lang === 'zh-CN';
  const lasted = duration(lastedMs, lang);
  switch (a.kind as RuleKind) {
    case 'gateway-offline': {
      const n = num(d.machines) ?? 0;
      return zh
        ? `网关离线 ${lasted}，其下 ${n} 台设备随之离线（不再逐台告警）`
        : `offline for ${lasted}; takes ${n} machine${n === 1 ? '' : 's'} down with it (no alert per machine)`;
    }
    case 'machine-offline':
      return zh ? `设备离线 ${lasted}` : `offline for ${lasted}`;
    case 'data-stale':
      return zh ? `设备在线，但 ${lasted} 未收到有效数据` : `online, but no valid sample for ${lasted}`;
    case 'journal-backlog':
      return zh
        ? `缓存积压 ${num(d.backlog) ?? '?'} 条（阈值 ${num(d.threshold) ?? '?'}），${lasted} 未减少`
        : `${num(d.backlog) ?? '?'} messages in its journal (threshold ${num(d.threshold) ?? '?'}), not shrinking for ${lasted}`;
    case 'machine-alarm':
      return zh ? `设备报警已持续 ${lasted}` : `in alarm for ${lasted}`;
    case 'networking-rate':
      return zh
        ? `联网率 ${num(d.rate) ?? '?'}%，低于 ${num(d.threshold) ?? '?'}%，已 ${lasted}`
        : `networking rate ${num(d.rate) ?? '?'} %, under ${num(d.threshold) ?? '?'} % for ${lasted}`;
    default:
      return '';
  }
}

export function alertNotice(
  a: AlertJson,
  event: 'fire' | 'clear',
  lang: ChannelLanguage,
  ctx: { hubId: string; utcOffsetMin: number; now: number },
): Notice {
  const w = WORDS[lang];
  const kind = KIND_TITLE[lang][a.kind as RuleKind] ?? a.kind;
  const sev = SEVERITY[lang][a.severity as Severity] ?? a.severity;
  const since = Date.parse(a.since);
  const end = event === 'clear' && a.clearedAt !== null ? Date.parse(a.clearedAt) : Date.parse(a.firedAt);
  const sep = lang === 'zh-CN' ? '：' : ': ';
  const title = `[${event === 'fire' ? w.fire : w.clear}][${sev}] ${kind}${sep}${subjectText(a, lang)}`;
  const lines = [
    event === 'fire'
      ? whatLine(a, lang, end - since)
      : `${w.clear}${sep}${w.lasted} ${duration(end - since, lang)}`,
    `${w.rule}${sep}${a.rule.name}`,
    `${w.subject}${sep}${subjectText(a, lang)}`,
    `${w.since}${sep}${localTime(a.since, ctx.utcOffsetMin)}`,
    ...(event === 'clear' && a.clearedAt !== null
      ? [`${w.cleared}${sep}${localTime(a.clearedAt, ctx.utcOffsetMin)}`]
      : []),
    `${w.hub}${sep}${ctx.hubId}`,
  ];
  return { event, language: lang, title, lines, alert: a };
}

export function testNotice(lang: ChannelLanguage, ctx: { hubId: string; channel: string }): Notice {
  const w = WORDS[lang];
  const sep = lang === 'zh-CN' ? '：' : ': ';
  return {
    event: 'test',
    language: lang,
    title: `[${w.test}] Wanji ${ctx.hubId}`,
    lines: [w.testLine, `${w.hub}${sep}${ctx.hubId}`, `channel${sep}${ctx.channel}`],
  };
}

/** The robots' markdown: a heading, then the lines. */
export function markdown(n: Notice): string {
  const [first, ...rest] = n.lines;
  return [`### ${n.title}`, '', `**${first ?? ''}**`, '', ...rest.map((l) => `- ${l}`)].join('\n');
}

const iso = (ms: number): string => new Date(ms).toISOString();

function parseDetail(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function alertJson(a: AlertRow): AlertJson {
  const colon = a.subject.indexOf(':');
  const type = a.subject.slice(0, colon);
  const rest = a.subject.slice(colon + 1);
  const slash = rest.indexOf('/');
  const second = slash < 0 ? null : rest.slice(slash + 1);
  const detail = parseDetail(a.detail);
  const { [ENTERPRISE_NAME]: name, ...shown } = detail;
  const gateway = type === 'gateway' ? second : typeof detail.gateway === 'string' ? detail.gateway : null;
  return {
    id: a.id,
    rule: { id: a.ruleId, name: a.ruleName },
    kind: a.kind,
    severity: a.severity,
    state: a.state,
    subject: {
      type,
      enterprise: a.enterprise,
      enterpriseName: typeof name === 'string' ? name : null,
      region: a.region,
      gateway,
      machine: type === 'machine' ? second : null,
    },
    detail: shown,
    since: iso(a.since),
    firedAt: iso(a.firedAt),
    clearedAt: a.clearedAt === null ? null : iso(a.clearedAt),
    acknowledged: a.acknowledgedAt !== null,
    acknowledgedAt: a.acknowledgedAt === null ? null : iso(a.acknowledgedAt),
    acknowledgedBy: a.acknowledgedBy,
    ackNote: a.ackNote,
  };
}
