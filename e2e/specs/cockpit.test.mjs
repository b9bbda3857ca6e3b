// Browser test of the leader cockpit (领导驾驶舱) and the enrolment
// dashboard. The stack is seeded in demo mode with 20,000 generated
// registrations. A city admin opens the cockpit at 1920×1080, and every
// chart must have series data and a canvas with something drawn on it.
// Clicking 徐汇区 in the ranking drills into its streets. The children
// report is filtered by nationality and age. The certificate-call page
// shows the generated certificate sources and prefill counters written
// to Redis the way the edge writes them. A count alert shows as a count,
// and a district admin's enrolment dashboard starts at the district.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { assertChartDrawn } from '../charts.mjs';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const root = resolve(import.meta.dirname, '..', '..');
const registrations = 20_000;

async function devSignInAsCity(page) {
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: '市级管理员' }).check({ force: true });
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

async function devSignInAsXuhui(page) {
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: '区级管理员' }).check({ force: true });
  await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: /^徐汇区$/ }).click();
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

/**
 * Sends PUT /api/v1/dashboard/alert-thresholds/{code} from the signed-in
 * page with its CSRF token, and returns the status and the JSON body.
 */
function putThreshold(page, code, threshold) {
  return page.evaluate(async ([code, threshold]) => {
    const me = await (await fetch('/api/v1/me')).json();
    const response = await fetch(`/api/v1/dashboard/alert-thresholds/${code}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken },
      body: JSON.stringify({ threshold }),
    });
    return { status: response.status, body: await response.json() };
  }, [code, threshold]);
}

function assertScreenshot(name) {
  const size = statSync(screenshotPath(name)).size;
  assert.ok(size > 50_000, `${name}.png has ${size} bytes; expected a real screenshot`);
}

describe('leader cockpit', () => {
  let stack;
  let browser;
  const problems = [];

  before(async () => {
    stack = await startStack();
    execFileSync(join(root, 'bin', 'backoffice'), ['dashboard', 'generate-enrolment', '-registrations', String(registrations)],
      { env: stack.env, stdio: ['ignore', 'ignore', 'inherit'] });
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('cockpit')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('cockpit renders every group with data and drills into a district', async () => {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    await page.goto(`${stack.backOfficeURL}/cockpit`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsCity(page);
    await page.waitForURL(`${stack.backOfficeURL}/cockpit`);

    await page.locator('[data-figure="registrations"]', { hasText: registrations.toLocaleString('zh-CN') }).waitFor();
    for (const name of ['cockpit-map', 'cockpit-categories', 'cockpit-hourly', 'cockpit-admissions', 'cockpit-levels', 'cockpit-gross']) {
      await assertChartDrawn(page, name);
    }
    // 20,000 registrations give 14,000 applications and 6,000 admissions.
    for (const milestone of ['registrations-10000', 'applications-10000']) {
      const text = await page.locator(`[data-milestone="${milestone}"]`).innerText();
      assert.match(text, /\d{4}\/\d{1,2}\/\d{1,2}/, `milestone ${milestone} shows no time: ${text}`);
    }
    for (const milestone of ['registrations-100000', 'applications-100000', 'admissions-10000']) {
      assert.match(await page.locator(`[data-milestone="${milestone}"]`).innerText(), /尚未达到/, `milestone ${milestone} is not pending`);
    }
    const attendance = await page.locator('[data-panel="attendance"]').innerText();
    assert.match(attendance, /出勤率|尚未接入/, 'the attendance panel shows figures or names the missing feed');
    await page.screenshot({ path: screenshotPath('cockpit') });
    assertScreenshot('cockpit');
    // A smaller copy for the documentation.
    await page.screenshot({ path: screenshotPath('cockpit').replace(/\.png$/, '.jpg'), type: 'jpeg', quality: 70 });

    await page.locator('[data-area="310104"]').click();
    await page.locator('.map h2', { hasText: '徐汇区' }).waitFor();
    await assertChartDrawn(page, 'cockpit-map');
    const streets = await page.locator('.ranking li').count();
    assert.ok(streets > 1, `the 徐汇区 drill-down ranks ${streets} streets`);
    // 徐汇区 alone has far fewer than 10,000 registrations.
    await page.locator('.panel h2', { hasText: '招生里程碑 · 徐汇区' }).waitFor();
    assert.match(await page.locator('[data-milestone="registrations-10000"]').innerText(), /尚未达到/,
      'the 徐汇区 registration milestone is not its own');
    await page.screenshot({ path: screenshotPath('cockpit-drilldown') });
    assertScreenshot('cockpit-drilldown');
    await context.close();
  });

  test('cockpit shows a count alert as a count', async () => {
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.backOfficeURL}/dashboard/alerts`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsCity(page);
    await page.waitForURL(`${stack.backOfficeURL}/dashboard/alerts`);

    // Every district with an unresolved question alerts at a threshold of
    // 0, and the rate thresholds are moved out of the way so that these
    // alerts are the first four the cockpit lists.
    for (const [code, threshold] of [['registration_plan_rate', 5], ['application_rate', 0], ['unresolved_questions', 0]]) {
      const { status, body } = await putThreshold(page, code, threshold);
      assert.equal(status, 200, `PUT ${code} ${threshold}: ${JSON.stringify(body)}`);
    }

    // A rate threshold written as a percentage is rejected with its unit named.
    const rejected = await putThreshold(page, 'gross_enrolment_rate', 85);
    assert.equal(rejected.status, 400);
    assert.equal(rejected.body.error.code, 'threshold_out_of_range');
    assert.match(rejected.body.error.message, /比例/);

    // The alerts page names the editor by display name, not username.
    await page.reload();
    const editor = await page.locator('.el-table__body tr', { hasText: '在线咨询未解决问题数高于' }).last().innerText();
    assert.match(editor, /市级管理员（开发登录）/, `the threshold row names its editor by username: ${editor}`);
    assert.doesNotMatch(editor, /dev\.city/, `the threshold row shows the username: ${editor}`);

    // The page edits a rate threshold in percent and stores it as a fraction.
    const grossRow = page.locator('.el-table__body tr', { has: page.locator('[data-threshold="gross_enrolment_rate"]') });
    await grossRow.locator('input').fill('80');
    await grossRow.getByRole('button', { name: '保存' }).click();
    await page.locator('.el-message', { hasText: '阈值已保存。' }).waitFor();
    const stored = await page.evaluate(async () => (await (await fetch('/api/v1/dashboard/alert-thresholds')).json()).items);
    assert.equal(stored.find((item) => item.code === 'gross_enrolment_rate').threshold, 0.8);

    await page.goto(`${stack.backOfficeURL}/cockpit`);
    const alert = page.locator('[data-alert^="unresolved_questions-"]').first();
    await alert.waitFor();
    const text = (await alert.innerText()).trim();
    assert.match(text, /^\S+：在线咨询未解决问题数高于 [\d,]+ 个，阈值 0 个$/, `the cockpit shows the count alert as ${text}`);
    assert.doesNotMatch(text, /%/, `the count alert is shown as a percentage: ${text}`);
    await context.close();
    assert.deepEqual(problems, [], 'the pages raised errors');
  });

  test('enrolment dashboard drills from the map to streets', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.backOfficeURL}/dashboard/enrolment`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsCity(page);
    await page.waitForURL(`${stack.backOfficeURL}/dashboard/enrolment`);

    for (const name of ['enrolment-area', 'enrolment-ranking', 'enrolment-category', 'enrolment-trend', 'enrolment-opinion-status']) {
      await assertChartDrawn(page, name);
    }
    // Admissions have a trend by admission time and their own milestone.
    await page.getByRole('radio', { name: '录取' }).check({ force: true });
    await page.locator('.milestones', { hasText: '录取里程碑' }).waitFor();
    await assertChartDrawn(page, 'enrolment-trend');
    await page.getByRole('radio', { name: '信息登记' }).check({ force: true });
    await page.locator('.milestones', { hasText: '登记里程碑' }).waitFor();
    // The ranking table lists the same areas as the map and drills the
    // same way when a row is clicked.
    await page.locator('.ranking-table .el-table__body tr', { hasText: '徐汇区' }).first().click();
    await page.locator('.el-breadcrumb', { hasText: '徐汇区' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.ranking-table .el-table__body tr').length > 1
      && ![...document.querySelectorAll('.ranking-table .el-table__body tr')].some((row) => row.innerText.includes('徐汇区')));
    await assertChartDrawn(page, 'enrolment-area');
    await page.screenshot({ path: screenshotPath('dashboard-enrolment-xuhui'), fullPage: true });
    await context.close();
    assert.deepEqual(problems, [], 'the pages raised errors');
  });

  test('district enrolment dashboard starts at the district', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.backOfficeURL}/dashboard/enrolment`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsXuhui(page);
    await page.waitForURL(`${stack.backOfficeURL}/dashboard/enrolment`);

    const breadcrumb = page.locator('.range-bar .el-breadcrumb');
    await breadcrumb.filter({ hasText: '徐汇区' }).waitFor();
    assert.doesNotMatch(await breadcrumb.innerText(), /全市/, 'the district admin\'s breadcrumb starts at 全市');
    // The areas are 徐汇区's streets, so the ranking does not list 徐汇区 itself.
    await page.waitForFunction(() => document.querySelectorAll('.ranking-table .el-table__body tr').length > 1);
    const rows = await page.locator('.ranking-table .el-table__body tr').allInnerTexts();
    assert.ok(!rows.some((row) => /^\d+\s+(徐汇区|长宁区|浦东新区)/.test(row)), `the district admin's ranking lists districts: ${rows.slice(0, 3)}`);

    // Picking 自定义 sends nothing until both dates are chosen.
    const customRequests = [];
    page.on('request', (request) => {
      if (request.url().includes('/api/v1/dashboard/') && request.url().includes('period=custom')) customRequests.push(request.url());
    });
    // The label takes the click, after the loading mask over the page is gone.
    await page.locator('.range-bar .el-radio-button', { hasText: '自定义' }).click();
    await page.locator('[data-hint="pick-dates"]').waitFor();
    await page.waitForTimeout(1000);
    assert.deepEqual(customRequests, [], 'the page queried a custom range without dates');
    await context.close();
    assert.deepEqual(problems, [], 'the pages raised errors');
  });

  test('children report filters by nationality and age', async () => {
    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.backOfficeURL}/dashboard/reports`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsCity(page);
    await page.waitForURL(`${stack.backOfficeURL}/dashboard/reports`);

    await page.getByRole('tab', { name: '事业发展报表' }).click();
    const pane = page.locator('#pane-development');
    await pane.getByRole('radio', { name: '在园幼儿情况表' }).check({ force: true });
    // Element Plus hides the checkbox inputs, so the labels take the clicks.
    await pane.locator('[data-filter="nationality"] .el-checkbox', { hasText: '外籍' }).click();
    await pane.locator('[data-filter="age"] .el-checkbox', { hasText: '4 岁' }).click();
    const answered = page.waitForResponse((response) => response.url().includes('/dashboard/development/report?')
      && response.url().includes('nationality=foreign') && response.status() === 200);
    await pane.getByRole('button', { name: '查询', exact: true }).click();
    await answered;

    const rows = pane.locator('.el-table__body tr');
    await rows.first().waitFor();
    const texts = await rows.allInnerTexts();
    assert.ok(texts.length > 0, 'the filtered children report has no rows');
    for (const text of texts) {
      assert.match(text, /外籍/, `row without the nationality filter: ${text}`);
      assert.match(text, /4 岁/, `row without the age filter: ${text}`);
    }
    const href = await pane.getByRole('link', { name: '导出 Excel' }).getAttribute('href');
    assert.match(href, /nationality=foreign/, `the export link ${href} drops the nationality filter`);
    assert.match(href, /age=4/, `the export link ${href} drops the age filter`);
    await page.screenshot({ path: screenshotPath('dashboard-children-report'), fullPage: true });
    await context.close();
    assert.deepEqual(problems, [], 'the pages raised errors');
  });

  test('certificate-call page shows calls, rates and requirements', async () => {
    // The edge's counters for today (Shanghai) as its prefill handler
    // writes them: a hash of district:type:outcome counts, a HyperLogLog of
    // owner blind indexes per district, and the set of counted days.
    const prefix = stack.env.REDIS_PREFIX;
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const redis = (...args) => execFileSync('redis-cli', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    redis('SADD', `${prefix}certcalls:days`, day);
    redis('HSET', `${prefix}certcalls:${day}`, '310104:birth_certificate:success', '40', '310104:household_register:not_found', '6',
      '310115:birth_certificate:success', '25', '310115:residence_permit:failure', '5');
    redis('PFADD', `${prefix}certcallers:${day}:310104`, 'a1', 'a2', 'a3');
    redis('PFADD', `${prefix}certcallers:${day}:310115`, 'b1', 'b2');

    const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, locale: 'zh-CN' });
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    await page.goto(`${stack.backOfficeURL}/dashboard/certificates`);
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await devSignInAsCity(page);
    await page.waitForURL(`${stack.backOfficeURL}/dashboard/certificates`);

    for (const name of ['certificates-calls', 'certificates-rates', 'certificates-type-success', 'certificates-type-coverage']) {
      await assertChartDrawn(page, name);
    }
    assert.match(await page.locator('[data-figure="callers"]').innerText(), /\b5\b/, 'the callers figure is not the 5 counted');
    assert.match(await page.locator('[data-figure="successful-calls"]').innerText(), /\b65\b/, 'the successful calls are not the 65 counted');
    assert.doesNotMatch(await page.locator('[data-figure="prefill-rate"]').innerText(), /\b0\.0%/, 'the prefill rate of the generated registrations is 0');
    const requirements = page.locator('.requirements-table .el-table__body tr');
    assert.equal(await requirements.count(), 16, 'the requirements table does not list the 16 districts');
    await page.locator('.formulas li', { hasText: '证照预填率 =' }).waitFor();

    await requirements.filter({ hasText: '徐汇区' }).first().click();
    await page.locator('.el-breadcrumb', { hasText: '徐汇区' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('.requirements-table .el-table__body tr').length === 1);
    assert.match(await page.locator('[data-figure="callers"]').innerText(), /\b3\b/, '徐汇区 callers are not its 3');
    await page.screenshot({ path: screenshotPath('dashboard-certificates'), fullPage: true });
    await context.close();
    assert.deepEqual(problems, [], 'the pages raised errors');
  });
});
