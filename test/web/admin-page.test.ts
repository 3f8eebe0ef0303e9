/**
 * The admin pages in real Chromium against a real hub with a simulated fleet: an admin
 * creates a user and an API token in the browser (each secret shown once, and working); an
 * operator uploads a ledger with a title row, a bad row and a 合计 row, sees the error in the
 * preview, downloads the annotated XLSX (read back here), imports the good rows and the
 * enterprise table changes; the refusals (a row's, a whole file's) read in Chinese and, one
 * click later, in English, from the codes the hub sends; an operator sees neither users, tokens nor the audit log (nor
 * does the API give them); a bureau user sees no admin at all.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../hub/helpers.js';
import { axeViolations, launch, screenshot, skipWithoutChromium, VIEWPORTS } from './browser.js';
import { signInAs, startWebFleet, type WebFleet } from './fleet-fixture.js';

interface EnterpriseStats {
  code: string;
  name: string;
  productionEquipment: number;
  ncEquipment: number;
  robots: number;
}

describe.skipIf(skipWithoutChromium)('the admin pages', () => {
  let browser: Browser;
  let fleet: WebFleet;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    dir = tempDir();
    [browser, fleet] = await Promise.all([launch(), startWebFleet({ enterprises: 2, machines: 1 })]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
    dir?.remove();
  });

  it('lets an admin create a user and an API token, each secret shown once and working', async () => {
    const { context, page } = await signInAs(browser, fleet, 'admin', { next: '/admin/users' });
    await page.getByRole('link', { name: '用户', exact: true }).waitFor();
    for (const tab of ['台账导入', '网关 MQTT 账号', 'API 令牌', '审计日志'])
      await page.getByRole('link', { name: tab }).waitFor();

    await page.locator('#user-new-name').fill('wang-bureau');
    await page.locator('#user-new-role').selectOption('bureau');
    await page.locator('#user-new-regions').selectOption(['yiwu']);
    await page.getByRole('button', { name: '创建' }).click();
    const password = await page.locator('#user-secret').inputValue();
    expect(password.length).toBeGreaterThanOrEqual(12);
    const users = await fleet.get<{ users: { name: string; role: string; regions: string[] }[] }>(
      '/api/v1/users',
    );
    expect(users.users.find((u) => u.name === 'wang-bureau')).toMatchObject({
      role: 'bureau',
      regions: ['yiwu'],
    });
    await page.getByRole('cell', { name: 'wang-bureau', exact: true }).waitFor();
    // The password shown signs the new user in.
    const session = await fetch(`${fleet.url}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: fleet.url },
      body: JSON.stringify({ name: 'wang-bureau', password }),
    });
    expect(session.status).toBe(200);
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      await screenshot(page, `admin-users-${name}`);
    }
    await page.setViewportSize(VIEWPORTS.wall);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('link', { name: 'API 令牌' }).click();
    await page.locator('#token-name').fill('dashboard-feed');
    await page.locator('#token-role').selectOption('bureau');
    await page.getByRole('button', { name: '创建' }).click();
    const token = await page.locator('#token-secret').inputValue();
    const tokens = await fleet.get<{ tokens: { id: string; name: string; role: string; status: string }[] }>(
      '/api/v1/tokens',
    );
    const made = tokens.tokens.find((x) => x.name === 'dashboard-feed');
    expect(made).toMatchObject({ role: 'bureau', status: 'active' });
    await page.getByRole('cell', { name: made!.id }).waitFor();
    const withToken = await fetch(`${fleet.url}/api/v1/stats`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(withToken.status).toBe(200);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'admin-tokens');

    // Both changes are in the audit log, filtered as asked.
    await page.getByRole('link', { name: '审计日志' }).click();
    await page.locator('#audit-action').fill('user.create');
    await page.getByRole('button', { name: '筛选' }).click();
    // The user's name is in the row's target (and may be in its detail too): any of them.
    await page.getByRole('cell', { name: 'wang-bureau', exact: true }).first().waitFor();
    await expect.poll(() => page.getByRole('cell', { name: 'token.create' }).count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'admin-audit');
    await context.close();
  });

  it('lets an operator preview a ledger, download the annotated errors and import the good rows', async () => {
    const [first] = fleet.enterprises;
    const file = `${dir.path}/台账.xlsx`;
    const wb = new ExcelJS.Workbook();
    const sheet = wb.addWorksheet('台账');
    sheet.addRow(['2026 年企业设备台账']);
    sheet.addRow([
      '企业代码',
      '企业名称',
      '所属区县',
      '所属行业',
      '是否骨干企业',
      '生产设备总数',
      '数控设备数',
      '工业机器人数',
    ]);
    sheet.addRow(['new-01', '义乌新材料', '义乌市', '五金', '否', 30, 12, 2]);
    sheet.addRow([first!.code, first!.name, first!.regionCode, first!.industryCode, '是', 25, 15, 3]);
    sheet.addRow(['bad-01', '永康配件', '永康市', '不存在的行业', '否', 10, 5, 0]);
    sheet.addRow(['合计', '', '', '', '', 65, 32, 5]);
    writeFileSync(file, Buffer.from(await wb.xlsx.writeBuffer()));
    // A file the import cannot take at all: its header lacks the region column and others.
    const headerless = `${dir.path}/no-region.csv`;
    writeFileSync(headerless, 'code,name\nx-01,某企业\n');

    const { context, page } = await signInAs(browser, fleet, 'operator', { next: '/admin' });
    await page.waitForURL((u) => u.pathname === '/admin/ledgers');
    await page.getByRole('link', { name: '网关 MQTT 账号' }).waitFor();
    // Users, tokens and the audit log are admin's: not offered, not reachable, refused by the API.
    for (const tab of ['用户', 'API 令牌', '审计日志'])
      expect(await page.getByRole('link', { name: tab, exact: true }).count()).toBe(0);
    for (const path of ['/api/v1/users', '/api/v1/tokens', '/api/v1/audit'])
      expect((await context.request.get(`${fleet.url}${path}`)).status()).toBe(403);

    // A refused file says why in Chinese.
    await page.locator('#ledger-file').setInputFiles(headerless);
    await page.getByRole('button', { name: '预览检查' }).click();
    await page.getByRole('alert').getByText('缺少“区县”列').waitFor();
    expect(await page.getByRole('alert').textContent()).not.toMatch(/no region column/);

    await page.locator('#ledger-file').setInputFiles(file);
    await page.getByRole('button', { name: '预览检查' }).click();
    const errors = page.locator('.errors tbody tr');
    await errors.first().waitFor();
    expect(await errors.count()).toBe(1);
    // The reason in Chinese (the hub sends its code; the page words it), not the hub's English.
    expect(await errors.first().textContent()).toMatch(
      /bad-01[\s\S]*所属行业[\s\S]*未知的行业“不存在的行业”；可填写的行业：/,
    );
    expect(await errors.first().textContent()).not.toMatch(/unknown industry/);
    // The title and 合计 rows are skipped and said so; one enterprise new, one ledger changed.
    expect(await page.locator('.preview li').allTextContents()).toEqual([
      '第 1 行：表头上方的标题行，已跳过',
      '第 6 行：合计行，不是企业，已跳过',
    ]);
    await page.getByRole('cell', { name: 'new-01' }).waitFor();
    await page.getByRole('cell', { name: '生产 10 / 数控 6 / 机器人 1' }).waitFor();
    // A preview changes nothing.
    const before = await fleet.get<{ byEnterprise: EnterpriseStats[] }>('/api/v1/statistics');
    expect(before.byEnterprise.map((e) => e.code)).not.toContain('new-01');
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      await page.setViewportSize(viewport);
      await screenshot(page, `admin-ledgers-preview-${name}`);
    }
    await page.setViewportSize(VIEWPORTS.wall);
    expect(await axeViolations(page)).toEqual([]);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: '下载错误标注表' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('台账-错误标注.xlsx');
    const annotated = new ExcelJS.Workbook();
    const bytes = readFileSync(await download.path());
    await annotated.xlsx.load(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const rows = annotated.worksheets[0]!;
    const header = rows.getRow(2).values as unknown[];
    const errorColumn = header.indexOf('错误');
    expect(errorColumn).toBeGreaterThan(8);
    expect(String(rows.getRow(5).getCell(errorColumn).value)).toMatch(/^未知的行业“不存在的行业”/);
    expect(String(rows.getRow(6).getCell(errorColumn).value)).toBe('合计行：不是记录，已跳过');
    expect(rows.getRow(3).getCell(errorColumn).value).toBeNull();
    expect(rows.getRow(5).getCell(1).value).toBe('bad-01');

    await page.getByRole('button', { name: '仅导入无误的 2 行' }).click();
    await page.getByText('已导入：新增 1 家，变更 1 家，无变化 0 家。').waitFor();
    const after = await fleet.get<{ byEnterprise: EnterpriseStats[] }>('/api/v1/statistics');
    expect(after.byEnterprise.find((e) => e.code === 'new-01')).toMatchObject({
      name: '义乌新材料',
      productionEquipment: 30,
      ncEquipment: 12,
      robots: 2,
    });
    expect(after.byEnterprise.find((e) => e.code === first!.code)).toMatchObject({
      productionEquipment: 25,
      ncEquipment: 15,
      robots: 3,
    });
    expect(after.byEnterprise.map((e) => e.code)).not.toContain('bad-01');

    // A gateway credential, its password and the lines for gateway.yaml shown once.
    await page.getByRole('link', { name: '网关 MQTT 账号' }).click();
    await page.locator('#mqtt-group').fill(first!.code);
    await page.locator('#mqtt-node').fill('gw-9');
    await page.getByRole('button', { name: '创建' }).click();
    const mqttPassword = await page.locator('#mqtt-secret').inputValue();
    const snippet = await page.locator('#mqtt-snippet').inputValue();
    expect(snippet).toContain(`username: "${first!.code}.gw-9"`);
    expect(snippet).toContain(`password: ${JSON.stringify(mqttPassword)}`);
    const creds = await fleet.get<{ users: { username: string; status: string }[] }>('/api/v1/mqtt-users');
    expect(creds.users).toContainEqual(
      expect.objectContaining({ username: `${first!.code}.gw-9`, status: 'active' }),
    );
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'admin-mqtt-users');

    // The template comes in the page's language.
    await page.getByRole('link', { name: '台账导入' }).click();
    await page.getByRole('button', { name: 'English' }).click();
    const [template] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Template (Excel)' }).click(),
    ]);
    expect(template.suggestedFilename()).toBe('ledger-import-template.xlsx');
    const tb = readFileSync(await template.path());
    const tw = new ExcelJS.Workbook();
    await tw.xlsx.load(tb.buffer.slice(tb.byteOffset, tb.byteOffset + tb.byteLength));
    expect((tw.worksheets[0]!.getRow(1).values as unknown[]).slice(1, 3)).toEqual([
      'enterprise code',
      'enterprise name',
    ]);
    expect(tw.worksheets[1]!.name).toBe('Regions and industries');

    // The refusals in English, from the same codes: a whole file's, then a row's.
    await page.locator('#ledger-file').setInputFiles(headerless);
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.getByRole('alert').getByText('no region column').waitFor();
    await page.locator('#ledger-file').setInputFiles(file);
    await page.getByRole('button', { name: 'Preview' }).click();
    const reasons = page.locator('.errors tbody tr [data-reasons]');
    await reasons.getByText('unknown industry "不存在的行业"; valid industries:').waitFor();
    expect(await reasons.textContent()).not.toMatch(/未知/);
    // One click back to Chinese rewords the reasons on the page as they are.
    await page.getByRole('button', { name: '中文' }).click();
    await reasons.getByText('未知的行业“不存在的行业”').waitFor();
    await page.getByRole('button', { name: 'English' }).click();

    await page.goto(`${fleet.url}/admin/users`);
    await page.getByText('This account may not see this page.').waitFor();
    await context.close();
  });

  it('shows a bureau user no admin section, and the API refuses it the upload tools', async () => {
    const { context, page } = await signInAs(browser, fleet, 'bureau');
    await page.getByRole('link', { name: '总览' }).waitFor();
    expect(await page.getByRole('link', { name: '管理' }).count()).toBe(0);
    await page.goto(`${fleet.url}/admin/ledgers`);
    await page.getByText('当前账号无权查看此页面。').waitFor();
    expect(await page.locator('#ledger-file').count()).toBe(0);
    expect((await context.request.get(`${fleet.url}/api/v1/registry/import/template`)).status()).toBe(403);
    expect((await context.request.get(`${fleet.url}/api/v1/mqtt-users`)).status()).toBe(403);
    await context.close();
  });
});
