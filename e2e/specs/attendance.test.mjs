// Browser test of the attendance pages (来离园监测). A week of attendance is
// generated for 20,000 children. A city admin opens the overview, which must
// show figures and charts with data, and drills down from the city to a
// district and a street by clicking the bar chart. Screenshots go to
// e2e/screenshots.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Waits until the chart in the card titled title has at least one data point, and returns the count. */
async function chartPoints(page, title) {
  const chart = page.locator('.el-card', { hasText: title }).locator('.attendance-chart');
  await chart.locator('canvas').first().waitFor();
  await page.waitForFunction((element) => Number(element.dataset.points) > 0, await chart.elementHandle(), { timeout: 30_000 });
  return Number(await chart.getAttribute('data-points'));
}

/**
 * Waits until the page's loading mask is gone. The mask appears in the same
 * render as the drill-down trail's new step, and it takes every click while
 * it is there.
 */
async function loaded(page) {
  await page.waitForFunction(() => [...document.querySelectorAll('.el-loading-mask')]
    .every((mask) => mask.offsetParent === null || getComputedStyle(mask).display === 'none'), null, { timeout: 30_000 });
}

/** Takes a screenshot once the charts' entry animation (1 s by default) is over. */
async function screenshot(page, name) {
  await page.waitForTimeout(1500);
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
}

/** Clicks the first bar of the chart in the card titled title. */
async function clickFirstBar(page, title) {
  const chart = page.locator('.el-card', { hasText: title }).locator('.attendance-chart canvas').first();
  const box = await chart.boundingBox();
  // The bar chart's grid starts 50 px from the left and leaves 70 px below
  // for the labels, so the first bar sits just right of x = 50.
  await page.mouse.click(box.x + 50 + (box.width - 70) / 40, box.y + box.height - 75);
}

describe('attendance pages', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack();
    execFileSync(join(root, 'bin', 'backoffice'), ['monitoring', 'generate', '-days', '7', '-children', '20000'],
      { env: stack.env, stdio: ['ignore', 'ignore', 'inherit'] });
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('attendance-city')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('city admin drills down to a street', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1200 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const base = stack.backOfficeURL;
    await page.goto(`${base}/attendance/overview`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await page.getByRole('tab', { name: '开发登录' }).click();
    await page.getByRole('radio', { name: '市级管理员' }).check({ force: true });
    await page.getByRole('button', { name: '登录', exact: true }).click();
    await page.waitForURL(`${base}/attendance/overview`);

    const expected = page.locator('[data-test="attendance-cards"] .figure', { hasText: '应考勤' }).locator('.value');
    await expected.waitFor();
    await loaded(page);
    await page.waitForFunction((element) => Number(element.textContent) > 0, await expected.elementHandle());
    assert.equal(await chartPoints(page, '各单位出勤率'), 16, 'the city chart has one bar per district');
    assert.ok(await chartPoints(page, '晨检异常原因占比') > 0, 'the reason pie has slices');
    await screenshot(page, 'attendance-city');

    await clickFirstBar(page, '各单位出勤率');
    const trail = page.locator('.node-trail .el-button');
    await page.waitForFunction(() => document.querySelectorAll('.node-trail .el-button').length === 2, null, { timeout: 30_000 });
    await loaded(page);
    assert.equal(await trail.first().textContent(), '全市');
    assert.ok(await chartPoints(page, '各单位出勤率') > 0, 'the district chart has a bar per street');

    await clickFirstBar(page, '各单位出勤率');
    await page.waitForFunction(() => document.querySelectorAll('.node-trail .el-button').length === 3, null, { timeout: 30_000 });
    await loaded(page);
    assert.ok(await chartPoints(page, '各单位出勤率') > 0, 'the street chart has a bar per kindergarten');
    await screenshot(page, 'attendance-street');

    await page.locator('.el-menu-item', { hasText: '趋势与原因分析' }).click();
    await page.waitForURL(`${base}/attendance/trends`);
    assert.equal(await chartPoints(page, '出勤率趋势'), 5, 'the week trend has Monday to Friday');
    assert.ok(await chartPoints(page, '病假类型分布') > 0, 'the sick-leave pie has slices');
    await screenshot(page, 'attendance-trends');

    await page.locator('.el-menu-item', { hasText: '来离园时间分布' }).click();
    await page.waitForURL(`${base}/attendance/arrivals`);
    assert.ok(await chartPoints(page, '来园人数') > 0, 'the arrivals chart has slots');

    await page.locator('.el-menu-item', { hasText: '查询报表与导入' }).click();
    await page.waitForURL(`${base}/attendance/report`);
    const reportRows = page.locator('[data-test="report-table"] .el-table__body tr');
    await reportRows.first().waitFor();
    assert.ok(await reportRows.count() > 0, 'the report lists rows');
    await context.close();
  });
});
