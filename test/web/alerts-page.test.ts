/**
 * The alerts page in real Chromium against a real hub with simulated gateways and a local
 * webhook receiver as its one notification channel: an operator sends a test message and makes
 * a "gateway offline" rule in the page's form (which offers only what each kind takes); a
 * gateway is killed (the broker publishes its will, NDEATH) and its one alert shows on the page,
 * saying how many machines it takes down, and reaches the receiver; acknowledged in the page,
 * with a note, it is in the audit log; the gateway comes back and the alert clears, on the page
 * and at the receiver. An enterprise user sees its alerts but no rules; a bureau user cannot
 * reach the page or its data.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cncBirth, TestEdgeNode } from '../hub/helpers.js';
import { waitFor } from '../support/wait.js';
import { axeViolations, launch, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface WebhookMessage {
  event: 'fire' | 'clear' | 'test';
  title: string;
  text: string;
  alert: ApiAlert | null;
}
interface ApiAlert {
  id: number;
  kind: string;
  state: 'active' | 'cleared';
  subject: { type: string; enterprise: string | null; gateway: string | null };
  detail: { machines?: number };
  acknowledged: boolean;
  acknowledgedBy: string | null;
  ackNote: string | null;
}
interface ApiRule {
  id: number;
  name: string;
  kind: string;
  threshold: number | null;
  enabled: boolean;
  scope: { kind: string };
  durationMs: number;
  channels: string[];
  delivery: { channel: string; sent: number; pending: number; failed: number }[];
}

/** A webhook receiver on port 0 that takes every POST and keeps its JSON. */
async function startReceiver(): Promise<{ url: string; messages: WebhookMessage[]; close(): Promise<void> }> {
  const messages: WebhookMessage[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        messages.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const RULE = 'e2e 网关离线';
const MACHINES = 4;

describe.skipIf(skipWithoutChromium)('the alerts page', () => {
  let browser: Browser;
  let fleet: WebFleet;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const back: TestEdgeNode[] = [];
  const alerts = async (query = '') =>
    (await fleet.get<{ total: number; alerts: ApiAlert[] }>(`/api/v1/alerts${query}`)).alerts;
  const rules = async () => (await fleet.get<{ rules: ApiRule[] }>('/api/v1/alerts/rules')).rules;
  /** Evaluates now as well as on the hub's 1 s interval, so that no test waits for it. */
  const evaluate = () => fleet.hub.alerts.evaluate();

  beforeAll(async () => {
    receiver = await startReceiver();
    [browser, fleet] = await Promise.all([
      launch(),
      startWebFleet({
        enterprises: 3,
        machines: MACHINES,
        hub: {
          alerts: {
            intervalMs: 1_000,
            retry: { minDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 30, timeoutMs: 5_000 },
            channels: { 'ops-webhook': { type: 'webhook', url: receiver.url, language: 'zh-CN' } },
          },
        },
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(back.map((g) => g.close()));
    await browser?.close();
    await fleet?.close();
    await receiver?.close();
  });

  /** The alert row on the page, in the active or the cleared part. */
  const row = (page: Page, part: 'active' | 'cleared', id: number) =>
    page.locator(`[data-section="${part}"] tbody tr[data-alert="${id}"]`);

  it('lets an operator make a rule; a dead gateway fires one alert to the page and the webhook, acknowledged and cleared', async () => {
    const { context, page, name: operator } = await signInAs(browser, fleet, 'operator', { next: '/alerts' });
    await expect
      .poll(() => page.locator('[data-section="active"] .notice').textContent())
      .toBe('没有当前告警。');

    // The configured channel, and a test message through it.
    const channel = page.locator('[data-section="channels"] tr[data-channel="ops-webhook"]');
    expect(await channel.locator('td').first().innerText()).toBe('Webhook');
    await channel.getByRole('button', { name: '发送测试消息' }).click();
    await expect
      .poll(() => channel.getByRole('status').textContent())
      .toContain('已通过“ops-webhook”发送测试消息');
    expect(receiver.messages.filter((m) => m.event === 'test')).toHaveLength(1);

    // The form offers what each kind takes: networking-rate a threshold and no gateway scope.
    await page.getByRole('button', { name: '新建规则' }).click();
    const form = page.getByRole('form', { name: '新建告警规则' });
    await form.locator('select[name="kind"]').selectOption('networking-rate');
    await expect.poll(() => form.locator('input[name="threshold"]').inputValue()).toBe('50');
    const scopes = () =>
      form.locator('select[name="scope"] option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
    expect(await scopes()).toEqual(['all', 'region', 'enterprise']);
    await form.locator('select[name="kind"]').selectOption('gateway-offline');
    await expect.poll(() => form.locator('input[name="threshold"]').count()).toBe(0);
    expect(await scopes()).toEqual(['all', 'region', 'enterprise', 'gateway']);

    // A gateway-offline rule over all gateways, after 1 second, to the webhook.
    await form.locator('input[name="name"]').fill(RULE);
    await form.locator('select[name="severity"]').selectOption('critical');
    await form.locator('input[name="duration"]').fill('1');
    await form.locator('select[name="unit"]').selectOption('second');
    await form.getByLabel('ops-webhook (Webhook)').check();
    await screenshot(page, 'alerts-rule-form');
    expect(await axeViolations(page)).toEqual([]);
    await form.getByRole('button', { name: '创建' }).click();
    // One rule row, or the hub's refusal as the form shows it.
    const refusal = form.getByRole('alert');
    await expect
      .poll(async () =>
        (await refusal.count()) > 0
          ? refusal.innerText()
          : page.locator('[data-section="rules"] tbody tr[data-rule]').count(),
      )
      .toBe(1);
    const [rule] = await rules();
    expect(rule).toMatchObject({
      name: RULE,
      kind: 'gateway-offline',
      scope: { kind: 'all' },
      durationMs: 1_000,
      channels: ['ops-webhook'],
    });
    const ruleRow = page.locator(`[data-section="rules"] tr[data-rule="${rule!.id}"]`);
    expect(await ruleRow.locator('th').innerText()).toBe(RULE);

    // The gateway dies: one alert, for the gateway, saying it takes its 4 machines down.
    const dead = fleet.enterprises[0]!;
    dead.gateway.kill();
    await waitFor(
      async () => {
        evaluate();
        return receiver.messages.some((m) => m.event === 'fire');
      },
      'the fire message at the webhook receiver',
      20_000,
    );
    const [fired] = await alerts('?state=active');
    expect(fired).toMatchObject({
      kind: 'gateway-offline',
      subject: { type: 'gateway', enterprise: dead.code, gateway: 'gw-1' },
      detail: { machines: MACHINES },
    });
    expect(await alerts('?state=active')).toHaveLength(1);
    const fire = receiver.messages.find((m) => m.event === 'fire')!;
    expect(fire.alert?.id).toBe(fired!.id);
    expect(fire.title).toContain('网关离线');

    const active = row(page, 'active', fired!.id);
    await active.waitFor({ timeout: 15_000 });
    expect(await active.locator('[data-field="severity"]').innerText()).toContain('严重');
    expect(await active.locator('[data-field="detail"]').innerText()).toBe(`连带 ${MACHINES} 台设备离线`);
    const subject = active.locator('[data-field="subject"]');
    expect(await subject.innerText()).toContain('gw-1');
    expect(await subject.getByRole('link').getAttribute('href')).toBe(`/enterprises/${dead.code}`);
    expect(await active.locator('[data-field="ack"]').innerText()).toContain('未确认');
    await screenshot(page, 'alerts');
    expect(await axeViolations(page)).toEqual([]);

    // Acknowledged in the page with a note: on the alert and in the audit log.
    await active.getByRole('button', { name: '确认', exact: true }).click();
    const ackForm = active.getByRole('form', { name: `确认告警 ${fired!.id}` });
    await ackForm.getByLabel('备注（可选）').fill('现场已派人');
    await ackForm.getByRole('button', { name: '确认告警' }).click();
    await expect.poll(() => active.getAttribute('data-acknowledged')).toBe('true');
    expect(await active.locator('[data-field="ack"]').innerText()).toContain(operator);
    const [acked] = await alerts('?state=active');
    expect(acked).toMatchObject({
      acknowledged: true,
      acknowledgedBy: `user:${operator}`,
      ackNote: '现场已派人',
    });
    const audit = await fleet.get<{ entries: { actor: string; action: string; target: string }[] }>(
      '/api/v1/audit?action=alert.ack',
    );
    expect(audit.entries).toContainEqual(
      expect.objectContaining({
        actor: `user:${operator}`,
        action: 'alert.ack',
        target: `alert ${fired!.id}`,
      }),
    );

    // The gateway comes back (a new session, its births): the alert clears, page and webhook.
    const again = new TestEdgeNode(dead.code, 'gw-1', 1);
    back.push(again);
    await again.connect(fleet.hub.mqttUrl);
    await again.nbirth();
    for (const m of dead.machines) await again.dbirth(m, cncBirth(Date.now()));
    await waitFor(
      async () => {
        await fleet.hub.flush();
        evaluate();
        return receiver.messages.some((m) => m.event === 'clear' && m.alert?.id === fired!.id);
      },
      'the clear message at the webhook receiver',
      20_000,
    );
    const cleared = row(page, 'cleared', fired!.id);
    await cleared.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.locator('[data-section="active"] .notice').textContent())
      .toBe('没有当前告警。');
    expect(await cleared.locator('[data-field="cleared"]').innerText()).not.toBe('–');

    // The rule's deliveries: what the API says was sent to the webhook (the fire and the clear).
    await waitFor(
      async () => (await rules())[0]?.delivery.find((d) => d.channel === 'ops-webhook')?.sent === 2,
      'both notifications counted as sent',
      10_000,
    );
    await expect
      .poll(() => ruleRow.locator('[data-channel="ops-webhook"]').innerText(), { timeout: 10_000 })
      .toContain('ops-webhook：已发送 2，待发送 0，失败 0');
    await context.close();
  }, 120_000);

  it('shows an enterprise user its own alerts without rules, and keeps a bureau user out', async () => {
    const [own] = await alerts();
    expect(own).toBeDefined();
    const ent = await signInAs(browser, fleet, 'enterprise', {
      enterprise: fleet.enterprises[0]!.code,
      next: '/alerts',
    });
    await row(ent.page, 'cleared', own!.id).waitFor();
    expect(await ent.page.locator('[data-section="rules"]').count()).toBe(0);
    expect(await ent.page.locator('[data-section="channels"]').count()).toBe(0);
    await ent.context.close();

    const other = await signInAs(browser, fleet, 'enterprise', {
      enterprise: fleet.enterprises[1]!.code,
      next: '/alerts',
    });
    await other.page.locator('[data-section="cleared"] .notice').waitFor();
    expect(await other.page.locator('tr[data-alert]').count()).toBe(0);
    await other.context.close();

    const bureau = await signInAs(browser, fleet, 'bureau', {
      regions: [fleet.enterprises[0]!.regionCode],
      next: '/alerts',
    });
    await bureau.page.getByText('当前账号无权查看此页面。').waitFor();
    expect(await bureau.page.locator('tr[data-alert]').count()).toBe(0);
    expect(await bureau.page.getByRole('link', { name: '告警' }).count()).toBe(0);
    expect((await bureau.page.request.get(`${fleet.url}/api/v1/alerts`)).status()).toBe(403);
    await bureau.context.close();
  }, 60_000);

  it('fits 3840×2160 and a 390×844 phone, with no serious accessibility violation', async () => {
    // A second gateway dies: an active alert above the cleared one.
    fleet.enterprises[2]!.gateway.kill();
    await waitFor(
      async () => {
        evaluate();
        return (await alerts('?state=active')).length === 1;
      },
      "e2e-03's gateway alert",
      20_000,
    );
    for (const viewport of [VIEWPORTS.wall4k, VIEWPORTS.phone]) {
      const { context, page } = await signInAs(browser, fleet, 'operator', { next: '/alerts', viewport });
      await page.locator('[data-section="active"] tbody tr[data-alert]').waitFor();
      await page.locator('[data-section="rules"] tbody tr[data-rule]').waitFor();
      const width = await page.locator('html').evaluate((el) => el.scrollWidth);
      expect(width).toBeLessThanOrEqual(viewport.width);
      await screenshot(page, 'alerts');
      expect(await axeViolations(page)).toEqual([]);
      await context.close();
    }
  }, 90_000);

  it('counts the alerts and their notifications in /metrics and /healthz', async () => {
    // Two fired (e2e-01, e2e-03), one cleared; three notifications taken by the webhook.
    const sample = (text: string, name: string) =>
      Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    await waitFor(
      async () => {
        const r = await fetch(`${fleet.url}/metrics`, { headers: fleet.admin });
        const text = await r.text();
        return (
          sample(text, 'wanji_alerts_fired_total') === 2 &&
          sample(text, 'wanji_alerts_cleared_total') === 1 &&
          sample(text, 'wanji_alert_notifications_sent_total') === 3 &&
          sample(text, 'wanji_alert_evaluations_total') > 0
        );
      },
      '/metrics counting 2 fired, 1 cleared, 3 sent',
      10_000,
    );
    const health = (await (await fetch(`${fleet.url}/healthz`)).json()) as {
      counters: { alerts: Record<string, number> };
    };
    expect(health.counters.alerts).toMatchObject({ fired: 2, cleared: 1, sent: 3, givenUp: 0 });
    expect(receiver.messages.filter((m) => m.event === 'fire')).toHaveLength(2);
  });

  it('edits, disables and deletes a rule in the page', async () => {
    const { context, page } = await signInAs(browser, fleet, 'operator', { next: '/alerts' });
    const [rule] = await rules();
    const ruleRow = page.locator(`[data-section="rules"] tr[data-rule="${rule!.id}"]`);
    await ruleRow.getByRole('button', { name: '编辑' }).click();
    const form = page.getByRole('form', { name: `编辑规则：${RULE}` });
    expect(await form.locator('input[name="name"]').inputValue()).toBe(RULE);
    expect(await form.locator('select[name="kind"]').inputValue()).toBe('gateway-offline');
    expect(await form.locator('input[name="duration"]').inputValue()).toBe('1');
    expect(await form.locator('select[name="unit"]').inputValue()).toBe('second');
    // Another kind: journal-backlog takes a threshold (messages).
    await form.locator('select[name="kind"]').selectOption('journal-backlog');
    await form.locator('input[name="threshold"]').fill('500');
    await form.getByRole('button', { name: '保存' }).click();
    await expect
      .poll(async () => (await rules())[0])
      .toMatchObject({ kind: 'journal-backlog', threshold: 500 });
    await expect.poll(() => form.count()).toBe(0);

    await ruleRow.getByRole('button', { name: '停用' }).click();
    await expect.poll(async () => (await rules())[0]?.enabled).toBe(false);
    await expect.poll(() => ruleRow.locator('[data-field="enabled"]').textContent()).toBe('停用');

    page.once('dialog', (d) => void d.accept());
    await ruleRow.getByRole('button', { name: '删除' }).click();
    await expect.poll(async () => (await rules()).length).toBe(0);
    await page.locator('[data-section="rules"] .notice').waitFor();
    await context.close();
  }, 60_000);
});
