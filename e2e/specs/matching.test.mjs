// Browser test of the matching pages of the admin app (园所匹配). A 徐汇
// district admin adds a house-number rule in the dialog, and the edge's
// public matching API offers its campus for an address in the range at once,
// without a restart. The import reports the template's example rows row by
// row, and the validation page shows a match rate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const xuhui = { code: '310104', name: '徐汇区' };

async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx response as "Failed to load resource", and
    // the import is expected to respond 422.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  return { context, page, problems };
}

async function signInAsXuhuiAdmin(page, base, path) {
  await page.goto(`${base}${path}`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: '区级管理员' }).check({ force: true });
  await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${xuhui.name}$`) }).click();
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${base}${path}`);
}

/** Returns the campus IDs the edge matches to an address in 徐汇. */
async function matchedCampuses(edgeURL, address) {
  const query = new URLSearchParams({ district: xuhui.code, address });
  const response = await fetch(`${edgeURL}/api/v1/matching?${query}`);
  assert.equal(response.status, 200, `GET /api/v1/matching for ${address}`);
  const body = await response.json();
  return body.campuses.map((campus) => campus.id);
}

async function waitFor(condition, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((wait) => setTimeout(wait, 200));
  }
  assert.fail(`${what} within ${timeoutMs} ms`);
}

describe('matching pages', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('matching-rules')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('a new rule reaches the edge at once', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;
    await signInAsXuhuiAdmin(page, base, '/matching/rules');
    assert.deepEqual(await matchedCampuses(stack.edgeURL, '漕溪北路3118号'), [], 'no campus before the rule');

    await page.getByRole('button', { name: '新增规则' }).click();
    const dialog = page.locator('.el-dialog', { hasText: '新增匹配规则' });
    await dialog.waitFor();
    await dialog.locator('.el-radio-button', { hasText: '详细地址' }).click();
    await dialog.getByRole('textbox', { name: '门牌范围' }).fill('漕溪北路３１００－３１２０号');
    await dialog.locator('.el-radio', { hasText: '双号' }).click();
    await dialog.locator('.el-form-item', { hasText: '办园点' }).locator('.el-select').click();
    const option = page.locator('.el-select-dropdown__item:visible').first();
    const campusLabel = (await option.innerText()).trim();
    await option.click();
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存，家长端立即按新规则匹配。').waitFor();

    const row = page.locator('.el-table__body tr', { hasText: '漕溪北路3100-3120号' });
    await row.waitFor();
    assert.match(await row.innerText(), /双号/);
    assert.ok((await row.innerText()).includes(campusLabel.split('（')[0]), `the row names ${campusLabel}`);
    await page.screenshot({ path: screenshotPath('matching-rules'), fullPage: true });

    await waitFor(async () => (await matchedCampuses(stack.edgeURL, '漕溪北路3118号')).length === 1,
      'the edge matches 漕溪北路3118号 to the new campus');
    assert.deepEqual(await matchedCampuses(stack.edgeURL, '漕溪北路3119号'), [], 'the odd side stays unmatched');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('import reports invalid rows', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;
    await signInAsXuhuiAdmin(page, base, '/matching/rules');

    const downloading = page.waitForEvent('download');
    await page.getByText('下载导入模板').click();
    const template = await (await downloading).path();

    await page.getByRole('button', { name: '批量导入' }).click();
    const dialog = page.locator('.el-dialog', { hasText: '批量导入匹配规则' });
    await dialog.locator('input[type=file]').setInputFiles(template);
    await dialog.getByRole('button', { name: '上传导入' }).click();
    await dialog.getByText('本次未导入任何规则').waitFor();
    const rows = await dialog.locator('.el-table__body tr').allInnerTexts();
    assert.ok(rows.length >= 3, `the report lists ${rows.length} errors, expected one per example row at least`);
    assert.match(rows[0], /^2\s/, `the first error ${rows[0]} is on row 2`);
    await page.screenshot({ path: screenshotPath('matching-import'), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('validation shows a match rate', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;
    await signInAsXuhuiAdmin(page, base, '/matching/validation');

    await page.getByRole('button', { name: '开始验证' }).click();
    await page.locator('.el-statistic', { hasText: '匹配率' }).waitFor();
    const text = await page.locator('.el-statistic', { hasText: '登记人数' }).innerText();
    assert.match(text, /\d/, `登记人数 shows a number: ${text}`);
    await page.screenshot({ path: screenshotPath('matching-validation'), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
