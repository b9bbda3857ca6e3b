// Browser test of the system state panel (系统状态). The back office's data
// API address points at a port where nothing listens. Parents open the home
// page on a phone and on a PC, which sends two page views of the
// registration stage, and one parent registers a child, whose verification
// fails. A city admin then sees the data links drawn, the data API's in red
// with the failing interface, one server row per running process with its
// figures and a drill-down, and the visits by device. The cockpit names the
// failing link. A 徐汇 district admin sees the links but no servers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSignedIn } from '../admin.mjs';
import { assertChartDrawn } from '../charts.mjs';
import { ParentClient, registerChild } from '../parent.mjs';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const phoneAgent = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const desktopAgent = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

/** Returns how many sampled pixels of the chart named name are the failing links' red (#d32f2f). */
async function redPixels(page, name) {
  return page.locator(`[data-chart="${name}"]`).evaluate((element) => {
    const canvas = element.querySelector('canvas');
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let red = 0;
    for (let i = 0; i < pixels.length; i += 4 * 3) {
      if (pixels[i + 3] > 0 && Math.abs(pixels[i] - 211) < 12 && Math.abs(pixels[i + 1] - 47) < 12 && Math.abs(pixels[i + 2] - 47) < 12) red++;
    }
    return red;
  });
}

/** Opens the parents' home page with userAgent and waits until its page view is counted. */
async function viewHomePage(browser, edgeURL, userAgent) {
  const context = await browser.newContext({ userAgent, locale: 'zh-CN' });
  const page = await context.newPage();
  const counted = page.waitForResponse((response) => response.url().endsWith('/api/v1/page-views') && response.status() === 204);
  await page.goto(`${edgeURL}/`);
  await counted;
  await context.close();
}

describe('system state panel', () => {
  let stack;
  let browser;

  before(async () => {
    // Port 9 (discard) has no listener on the test machine, so every data
    // API call is refused. The cache is off so the page shows each new
    // heartbeat.
    stack = await startStack({
      name: 'systemstate',
      settings: { SYSTEM_STATE_INTERVAL: '1s', DASHBOARD_CACHE_TTL: '0', DATA_API_URL: 'http://127.0.0.1:9' },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('city admin sees links, servers and visits', async () => {
    await viewHomePage(browser, stack.edgeURL, phoneAgent);
    await viewHomePage(browser, stack.edgeURL, desktopAgent);
    const parent = new ParentClient(stack.edgeURL);
    await parent.signIn('demo-parent-11');
    const receipt = await registerChild(parent);
    await parent.waitForStatus(receipt, ['recorded', 'needs_manual_verification']);

    const { context, page, problems } = await openSignedIn(browser, stack.backOfficeURL, 'city', '/dashboard/system');
    await assertChartDrawn(page, 'system-links');

    const links = page.locator('[data-table="system-links"] .el-table__body tr');
    await links.first().waitFor();
    const linkTexts = await links.allInnerTexts();
    assert.equal(linkTexts.length, 7, `links table: ${linkTexts.join(' | ')}`);
    // The edge's Redis probe, the back office's consumer-group probe and
    // the parent's sign-in make these three healthy.
    for (const name of ['提交写入队列', '队列入库', '统一身份认证']) {
      const row = linkTexts.find((text) => text.includes(name));
      assert.match(row || '', /正常/, `link ${name} is not healthy: ${row}`);
    }
    // The verifier's first refused call may come after the first load, so
    // the check waits for a refresh (every 15 s).
    const dataAPI = page.locator('[data-table="system-links"] .el-table__body tr', { hasText: '数据接口' });
    await dataAPI.filter({ hasText: '故障' }).waitFor({ timeout: 60_000 });
    const dataAPIText = await dataAPI.innerText();
    assert.match(dataAPIText, /POST \/\S+/, `the data API row names no interface: ${dataAPIText}`);
    assert.match(dataAPIText, /connection_refused/, `the data API row has no error code: ${dataAPIText}`);
    await page.waitForTimeout(1500);
    assert.ok(await redPixels(page, 'system-links') > 50, 'the failing data API link is not drawn red');

    const servers = page.locator('[data-table="system-servers"] > .el-table__inner-wrapper > .el-table__body-wrapper tr.el-table__row');
    await servers.first().waitFor();
    const serverTexts = await servers.allInnerTexts();
    assert.ok(serverTexts.length >= 2, `servers: ${serverTexts.join(' | ')}; want the edge and the back office`);
    assert.ok(serverTexts.some((text) => text.includes('入口服务')), `no edge row: ${serverTexts.join(' | ')}`);
    assert.ok(serverTexts.some((text) => text.includes('管理端')), `no back-office row: ${serverTexts.join(' | ')}`);
    for (const text of serverTexts) {
      assert.match(text, /\d+\.\d%/, `server row without CPU, memory or disk figures: ${text}`);
      assert.match(text, /\d+\.\d ms/, `server row without a round-trip time: ${text}`);
    }
    await servers.first().locator('.el-table__expand-icon').click();
    const drillDown = page.locator('[data-section="server-drill-down"]').first();
    await drillDown.waitFor();
    assert.match(await drillDown.innerText(), /超阈值项[\s\S]*该进程的链路/, 'the drill-down lacks breaches or links');

    await assertChartDrawn(page, 'system-visits');
    const registration = page.locator('[data-table="system-visits"] .el-table__body tr', { hasText: '信息登记' });
    const cells = (await registration.locator('td').allInnerTexts()).map((text) => text.trim());
    // 阶段, then today: PC views, mobile views, PC visitors, mobile visitors, all visitors.
    assert.deepEqual(cells.slice(1, 6), ['1', '1', '1', '1', '2'], `registration visits today: ${cells.join(' | ')}`);

    await page.screenshot({ path: screenshotPath('system-state'), fullPage: true });
    await context.close();
    assert.deepEqual(problems, [], 'the page raised errors');
  });

  test('cockpit names the failing link', async () => {
    const { context, page, problems } = await openSignedIn(browser, stack.backOfficeURL, 'city', '/cockpit');
    const links = page.locator('[data-figure="links"]');
    await links.waitFor();
    assert.match(await links.innerText(), /故障：数据接口（用数）/, 'the cockpit does not name the failing data API link');
    await context.close();
    assert.deepEqual(problems, [], 'the page raised errors');
  });

  test('district admin sees links but no servers', async () => {
    const { context, page, problems } = await openSignedIn(browser, stack.backOfficeURL, 'district', '/dashboard/system');
    await assertChartDrawn(page, 'system-links');
    await page.getByText('服务器指标仅向市级用户展示。').waitFor();
    assert.equal(await page.locator('[data-table="system-servers"]').count(), 0, 'a district admin sees the servers');
    const districts = await page.locator('[data-section="system-windows"] .district').allInnerTexts();
    assert.deepEqual(districts.map((text) => text.split(' ')[0]), ['徐汇区'], `district windows: ${districts.join(' | ')}`);
    await context.close();
    assert.deepEqual(problems, [], 'the page raised errors');
  });
});
