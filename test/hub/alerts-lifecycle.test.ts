/**
 * Issue 12's alerts against a real hub: real Sparkplug gateways (TestEdgeNode) on its embedded
 * broker, rules made through the HTTP API, notifications to real receivers on loopback (a
 * webhook, a DingTalk robot whose signature is checked, a WeCom robot, an SMTP server). Time
 * moves by pushing the hub's clock forward (its timers stay real), and the test evaluates at
 * the moments it chooses (`hub.alerts.evaluate()`), so "offline for 10 minutes" takes no
 * minutes and no evaluation happens behind the test's back.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../../hub/hub.js';
import { DataType } from '../../protocol/index.js';
import { PushedClock } from '../support/pushed-clock.js';
import { HttpReceiver, SmtpReceiver } from './alerts-receivers.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const MIN = 60_000;
const DING_SECRET = 'SECd1ngs3cret';
const DING_TOKEN = 'tok-dingtalk-123';
const WECOM_KEY = 'key-wecom-456';
const SMTP_PASSWORD = 'smtp-pa55word';

interface ApiAlert {
  id: number;
  rule: { id: number; name: string };
  kind: string;
  state: string;
  subject: { type: string; enterprise: string; gateway: string | null; machine: string | null };
  detail: Record<string, unknown>;
  acknowledged: boolean;
  acknowledgedBy: string | null;
}
interface ApiRule {
  id: number;
  delivery: {
    channel: string;
    sent: number;
    pending: number;
    failedAttempts: number;
    lastError: string | null;
  }[];
}

describe('alerts: rules, lifecycle, suppression behind a dead gateway, notifications', () => {
  const dir = tempDir();
  const clock = new PushedClock();
  const receiver = new HttpReceiver();
  const flaky = new HttpReceiver();
  const smtp = new SmtpReceiver();
  let hub: Hub;
  const gw1 = new TestEdgeNode('E1', 'GW1');
  const gw2 = new TestEdgeNode('E1', 'GW2');
  let operator: { authorization: string };

  const api = async (method: string, path: string, body?: unknown, auth = operator): Promise<Response> =>
    fetch(`http://127.0.0.1:${hub.httpPort}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const json = async <T>(method: string, path: string, body?: unknown, status = 200): Promise<T> => {
    const r = await api(method, path, body);
    const text = await r.text();
    expect(r.status, `${method} ${path}: ${text}`).toBe(status);
    return JSON.parse(text) as T;
  };
  const alertsOf = async (query = ''): Promise<ApiAlert[]> =>
    (await json<{ alerts: ApiAlert[] }>('GET', `/api/v1/alerts${query}`)).alerts;

  /** Data from the machines that stay up, stamped with the hub's time, stored. */
  const refresh = async (node: TestEdgeNode, machines: string[]): Promise<void> => {
    const ts = clock.now();
    for (const m of machines) {
      await node.ddata(
        m,
        [{ name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 100, timestamp: ts }],
        {
          timestamp: ts,
        },
      );
    }
    await waitFor(
      () => machines.every((m) => (hub.registry.machine(node.group, m)?.lastSeenAt ?? 0) >= ts),
      `data from ${machines.join(', ')}`,
    );
  };
  const birth = async (node: TestEdgeNode, machines: string[]): Promise<void> => {
    for (const m of machines) await node.dbirth(m, cncBirth(clock.now()), clock.now());
    await refresh(node, machines);
  };

  beforeAll(async () => {
    await receiver.start();
    await smtp.start();
    await flaky.start();
    await flaky.close(); // its port, with nobody listening: "the receiver is down"
    hub = testHub(dir.path, {
      clock,
      alerts: {
        intervalMs: 3_600_000, // the test evaluates when it chooses
        retry: { minDelayMs: 50, maxDelayMs: 200, maxAttempts: 1_000, timeoutMs: 2_000 },
        channels: {
          hook: { type: 'webhook', url: `${receiver.url}/hook` }, // zh-CN by default
          ding: {
            type: 'dingtalk',
            url: `${receiver.url}/robot/send?access_token=${DING_TOKEN}`,
            secret: DING_SECRET,
            language: 'zh-CN',
          },
          wecom: {
            type: 'wecom',
            url: `${receiver.url}/cgi-bin/webhook/send?key=${WECOM_KEY}`,
            language: 'en',
          },
          mail: {
            type: 'email',
            host: '127.0.0.1',
            port: smtp.port,
            username: 'wanji',
            password: SMTP_PASSWORD,
            from: 'wanji@example.com',
            to: ['ops@example.com'],
            language: 'en',
          },
          flaky: { type: 'webhook', url: `${flaky.url}/hook`, language: 'en' },
        },
      },
    });
    await hub.start();
    operator = apiToken(hub.registry, 'operator');
    for (const [code, name, productionEquipment] of [
      ['E1', 'Acme Tools', 20],
      ['E3', 'Slow Steel', 10],
    ] as const) {
      hub.registry.upsertEnterprise(
        {
          code,
          name,
          regionCode: 'yiwu',
          industryCode: 'hardware',
          backbone: false,
          ledger: { productionEquipment, ncEquipment: 0, robots: 0 },
        },
        'zhang.san',
      );
    }
    await gw1.connect(hub.mqttUrl);
    await gw1.nbirth();
    await birth(gw1, ['M1', 'M2']);
  });

  afterAll(async () => {
    await gw1.close();
    await gw2.close();
    await hub?.close();
    await receiver.close();
    await flaky.close();
    await smtp.close();
    dir.remove();
  });

  let machineRule: number;
  let gatewayRule: number;

  it('makes rules through the API and refuses one that cannot work, naming the fix', async () => {
    const bad = await api('POST', '/api/v1/alerts/rules', {
      name: 'bad',
      kind: 'networking-rate',
      scope: { kind: 'machine', enterprise: 'E1', machine: 'M1' },
      durationMs: 0,
      channels: ['nope'],
    });
    const refusal = (await bad.json()) as { code: string; message: string };
    expect(bad.status).toBe(400);
    expect(refusal.code).toBe('WANJI_E_ALERT_RULE_INVALID');
    expect(refusal.message).toMatch(/scope\.kind "machine" does not fit/);
    expect(refusal.message).toMatch(/threshold: required/);
    expect(refusal.message).toMatch(/no channel "nope".*configured: hook, ding, wecom, mail, flaky/);

    machineRule = (
      await json<{ id: number }>(
        'POST',
        '/api/v1/alerts/rules',
        {
          name: '设备离线超过10分钟',
          kind: 'machine-offline',
          scope: { kind: 'enterprise', enterprise: 'E1' },
          durationMs: 10 * MIN,
          severity: 'warning',
          channels: ['hook', 'ding', 'wecom', 'mail'],
        },
        201,
      )
    ).id;
    gatewayRule = (
      await json<{ id: number }>(
        'POST',
        '/api/v1/alerts/rules',
        {
          name: 'gateway down',
          kind: 'gateway-offline',
          durationMs: MIN,
          severity: 'critical',
          channels: ['hook'],
        },
        201,
      )
    ).id;
    const rules = await json<{ rules: { id: number; scope: unknown; enabled: boolean }[] }>(
      'GET',
      '/api/v1/alerts/rules',
    );
    expect(rules.rules.map((r) => r.id)).toEqual([machineRule, gatewayRule]);
    expect(rules.rules[1]).toMatchObject({ scope: { kind: 'all' }, enabled: true });
  });

  it('a machine offline longer than the rule says fires once, notifies every channel, and clears when it returns', async () => {
    await gw1.ddeath('M1');
    await waitFor(() => hub.registry.machine('E1', 'M1')?.dead === true, 'M1 dead');
    expect(hub.alerts.evaluate().fired).toBe(0); // offline, but not for 10 minutes yet
    clock.offset += 11 * MIN;
    await refresh(gw1, ['M2']);
    expect(hub.alerts.evaluate().fired).toBe(1);
    expect(hub.alerts.evaluate().fired).toBe(0); // still offline: the same alert, not a second
    clock.offset += MIN;
    await refresh(gw1, ['M2']);
    expect(hub.alerts.evaluate()).toMatchObject({ fired: 0, cleared: 0, active: 1 });

    const active = await alertsOf('?state=active');
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({
      rule: { id: machineRule, name: '设备离线超过10分钟' },
      kind: 'machine-offline',
      state: 'active',
      subject: { type: 'machine', enterprise: 'E1', gateway: 'GW1', machine: 'M1' },
      acknowledged: false,
    });

    await waitFor(
      () => receiver.on('/hook').length === 1 && receiver.on('/robot/send').length === 1,
      'webhook and DingTalk',
    );
    await waitFor(
      () => receiver.on('/cgi-bin/webhook/send').length === 1 && smtp.mails.length === 1,
      'WeCom and mail',
    );

    const hook = receiver.on('/hook')[0]?.body as Record<string, unknown>;
    expect(hook).toEqual({
      event: 'fire',
      hub: 'wanji-hub',
      language: 'zh-CN',
      title: '[告警][警告] 设备离线：Acme Tools (E1) 设备 M1',
      text: expect.stringContaining('设备离线 11分钟'),
      alert: expect.objectContaining({ id: active[0]?.id, state: 'active', kind: 'machine-offline' }),
    });

    const ding = receiver.on('/robot/send')[0];
    expect(ding?.body).toEqual({
      msgtype: 'markdown',
      markdown: {
        title: '[告警][警告] 设备离线：Acme Tools (E1) 设备 M1',
        text: expect.stringContaining('### [告警]'),
      },
    });
    const timestamp = ding?.query.get('timestamp') ?? '';
    expect(ding?.query.get('access_token')).toBe(DING_TOKEN);
    expect(Math.abs(Number(timestamp) - Date.now())).toBeLessThan(60 * MIN); // DingTalk's window: an hour
    const sign = createHmac('sha256', DING_SECRET).update(`${timestamp}\n${DING_SECRET}`).digest('base64');
    expect(ding?.query.get('sign')).toBe(sign);

    const wecom = receiver.on('/cgi-bin/webhook/send')[0];
    expect(wecom?.query.get('key')).toBe(WECOM_KEY);
    expect(wecom?.body).toEqual({
      msgtype: 'markdown',
      markdown: {
        content: expect.stringMatching(
          /^### \[FIRING\]\[warning\] Machine offline: Acme Tools \(E1\) machine M1\n/,
        ),
      },
    });
    // English only, no Chinese beside it (the rule's name is the operator's own words)
    expect(JSON.stringify(wecom?.body).replace('设备离线超过10分钟', '')).not.toMatch(/[\u4e00-\u9fff]/);

    const mail = smtp.mails[0];
    expect(mail).toMatchObject({ from: 'wanji@example.com', to: ['ops@example.com'] });
    expect(mail?.auth).toEqual({ user: 'wanji', pass: SMTP_PASSWORD });
    expect(mail?.data).toContain('Subject: [FIRING][warning] Machine offline: Acme Tools (E1) machine M1');
    expect(mail?.data).toContain('offline for 11 min');

    // M1 returns: the alert clears, and the channels hear so.
    await birth(gw1, ['M1', 'M2']);
    expect(hub.alerts.evaluate()).toMatchObject({ fired: 0, cleared: 1, active: 0 });
    const cleared = await alertsOf('?state=cleared');
    expect(cleared.map((a) => a.id)).toEqual([active[0]?.id]);
    await waitFor(
      () => receiver.on('/hook').length === 2 && smtp.mails.length === 2,
      'the clear notifications',
    );
    expect(receiver.on('/hook')[1]?.body).toMatchObject({ event: 'clear', alert: { state: 'cleared' } });
    expect(smtp.mails[1]?.data).toContain('Subject: [CLEARED][warning] Machine offline');
  });

  it("a gateway's NDEATH is one gateway alert naming the machines it takes down, not one per machine", async () => {
    await gw2.connect(hub.mqttUrl);
    await gw2.nbirth();
    await birth(gw2, ['M3', 'M4', 'M5']);
    const hooksBefore = receiver.on('/hook').length;
    gw2.kill(); // the broker publishes its will: NDEATH
    await waitFor(() => hub.registry.gateway('E1', 'GW2')?.online === false, 'GW2 offline');
    await waitFor(() => hub.registry.machine('E1', 'M5')?.dead === true, 'its machines offline');
    expect(hub.alerts.evaluate().fired).toBe(0); // within the gateway rule's minute
    clock.offset += 15 * MIN; // past the machine rule's 10 minutes too
    await refresh(gw1, ['M1', 'M2']);
    expect(hub.alerts.evaluate().fired).toBe(1);
    expect(hub.alerts.evaluate().fired).toBe(0);

    const active = await alertsOf('?state=active');
    expect(active).toHaveLength(1);
    expect(active[0]).toMatchObject({
      rule: { id: gatewayRule },
      kind: 'gateway-offline',
      subject: { type: 'gateway', enterprise: 'E1', gateway: 'GW2', machine: null },
      detail: { machines: 3 },
    });
    await waitFor(() => receiver.on('/hook').length === hooksBefore + 1, 'the gateway notification');
    const hook = receiver.on('/hook')[hooksBefore]?.body as { title: string; text: string };
    expect(hook.title).toBe('[告警][严重] 网关离线：Acme Tools (E1) 网关 GW2');
    expect(hook.text).toContain('其下 3 台设备随之离线');
  });

  it('an operator acknowledges an alert (audited, who and when); a bureau token may not; an enterprise sees only its own', async () => {
    const [alert] = await alertsOf('?state=active&acknowledged=false');
    const bureau = await api('POST', `/api/v1/alerts/${alert?.id}/ack`, {}, apiToken(hub.registry, 'bureau'));
    expect(bureau.status).toBe(403);
    const bureauList = await api('GET', '/api/v1/alerts', undefined, apiToken(hub.registry, 'bureau'));
    expect(bureauList.status).toBe(403);

    const acked = await json<{ alert: ApiAlert; changed: boolean }>(
      'POST',
      `/api/v1/alerts/${alert?.id}/ack`,
      {
        note: 'site visit booked',
      },
    );
    expect(acked.changed).toBe(true);
    expect(acked.alert).toMatchObject({ state: 'active', acknowledged: true });
    expect(acked.alert.acknowledgedBy).toMatch(/^token:/);
    const again = await json<{ changed: boolean }>('POST', `/api/v1/alerts/${alert?.id}/ack`);
    expect(again.changed).toBe(false);
    expect(await alertsOf('?state=active&acknowledged=false')).toEqual([]);
    expect((await alertsOf('?acknowledged=true')).map((a) => a.id)).toEqual([alert?.id]);
    const audit = hub.registry.database.audit.list({ action: 'alert.ack' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      target: `alert ${alert?.id}`,
      outcome: 'ok',
      detail: { note: 'site visit booked' },
    });

    const own = await api(
      'GET',
      '/api/v1/alerts',
      undefined,
      apiToken(hub.registry, 'enterprise', { enterprise: 'E1' }),
    );
    expect(((await own.json()) as { total: number }).total).toBe(2);
    const other = await api(
      'GET',
      '/api/v1/alerts',
      undefined,
      apiToken(hub.registry, 'enterprise', { enterprise: 'E3' }),
    );
    expect(((await other.json()) as { total: number }).total).toBe(0);
    const hidden = await api(
      'GET',
      `/api/v1/alerts/${alert?.id}`,
      undefined,
      apiToken(hub.registry, 'enterprise', { enterprise: 'E3' }),
    );
    expect(hidden.status).toBe(404);
  });

  it("an enterprise's networking rate under the threshold fires, and clears when it rises", async () => {
    const rule = await json<{ id: number }>(
      'POST',
      '/api/v1/alerts/rules',
      {
        name: 'E3 under 50 %',
        kind: 'networking-rate',
        scope: { kind: 'enterprise', enterprise: 'E3' },
        threshold: 50,
        durationMs: 0,
        channels: ['hook'],
      },
      201,
    );
    expect(hub.alerts.evaluate().fired).toBe(1);
    const [alert] = await alertsOf(`?rule=${rule.id}`);
    expect(alert).toMatchObject({
      state: 'active',
      subject: { type: 'enterprise', enterprise: 'E3' },
      detail: { rate: 0, threshold: 50 },
    });

    const gw3 = new TestEdgeNode('E3', 'GW3');
    try {
      await gw3.connect(hub.mqttUrl);
      await gw3.nbirth();
      await birth(gw3, ['P1', 'P2', 'P3', 'P4', 'P5', 'P6']);
      await waitFor(() => (hub.registry.machine('E3', 'P6')?.lastSampleAt ?? null) !== null, 'E3 networked');
      expect(hub.alerts.evaluate().cleared).toBe(1); // 6 of 10: 60 %
      expect((await alertsOf(`?rule=${rule.id}`))[0]?.state).toBe('cleared');
    } finally {
      await gw3.close();
    }
  });

  it('a receiver that is down: the notification is retried with backoff, shown on the rule, then delivered when it is back', async () => {
    const rule = await json<{ id: number }>(
      'POST',
      '/api/v1/alerts/rules',
      {
        name: 'GW2 down, to the flaky receiver',
        kind: 'gateway-offline',
        scope: { kind: 'gateway', enterprise: 'E1', gateway: 'GW2' },
        durationMs: 0,
        channels: ['flaky'],
      },
      201,
    );
    expect(hub.alerts.evaluate().fired).toBe(1);
    const failing = await waitFor(async () => {
      const r = await json<ApiRule>('GET', `/api/v1/alerts/rules/${rule.id}`);
      const d = r.delivery[0];
      return d !== undefined && d.failedAttempts >= 2 ? d : undefined;
    }, 'two failed attempts');
    expect(failing).toMatchObject({ channel: 'flaky', sent: 0, pending: 1 });
    expect(failing.lastError).toMatch(/ECONNREFUSED/);

    await flaky.start(); // the same port
    await waitFor(() => flaky.requests.length === 1, 'delivery once the receiver is back', 10_000);
    expect(flaky.requests[0]?.body).toMatchObject({
      event: 'fire',
      language: 'en',
      alert: { kind: 'gateway-offline' },
    });
    const delivered = await json<ApiRule>('GET', `/api/v1/alerts/rules/${rule.id}`);
    expect(delivered.delivery[0]).toMatchObject({ channel: 'flaky', sent: 1, pending: 0 });
  });

  it('a test message goes through a channel; channel secrets never appear in an API reply', async () => {
    const before = receiver.on('/robot/send').length;
    const sent = await json<{ channel: string }>('POST', '/api/v1/alerts/channels/ding/test');
    expect(sent.channel).toBe('ding');
    await waitFor(() => receiver.on('/robot/send').length === before + 1, 'the test message');
    expect(receiver.on('/robot/send')[before]?.body).toMatchObject({
      msgtype: 'markdown',
      markdown: { title: expect.stringContaining('测试消息') },
    });

    const channels = await json<{ channels: unknown[] }>('GET', '/api/v1/alerts/channels');
    expect(channels.channels).toEqual([
      { name: 'hook', type: 'webhook', language: 'zh-CN' },
      { name: 'ding', type: 'dingtalk', language: 'zh-CN' },
      { name: 'wecom', type: 'wecom', language: 'en' },
      { name: 'mail', type: 'email', language: 'en' },
      { name: 'flaky', type: 'webhook', language: 'en' },
    ]);
    const replies = [
      JSON.stringify(channels),
      await (await api('GET', '/api/v1/alerts/rules')).text(),
      await (await api('GET', '/api/v1/alerts?limit=1000')).text(),
      await (await api('GET', '/api/v1/audit?limit=1000', undefined, apiToken(hub.registry, 'admin'))).text(),
    ];
    for (const text of replies) {
      for (const secret of [DING_SECRET, DING_TOKEN, WECOM_KEY, SMTP_PASSWORD])
        expect(text).not.toContain(secret);
    }
    const missing = await api('POST', '/api/v1/alerts/channels/nope/test');
    expect(missing.status).toBe(404);

    // The OpenAPI document lists the routes, for the web app and other clients.
    const doc = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/docs/json`)).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/api/v1/alerts',
      '/api/v1/alerts/rules',
      '/api/v1/alerts/{id}/ack',
      '/api/v1/alerts/channels',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    const audited = hub.registry.database.audit.list({ action: 'alert.rule.create' });
    expect(audited.map((e) => e.outcome).sort()).toEqual(['ok', 'ok', 'ok', 'ok', 'refused']);
  });
});
