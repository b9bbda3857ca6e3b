// Browser test of returns, deletions and SMS in the admin app. A parent
// registers a child in 徐汇区 and applies through the edge's API. The 徐汇
// admin returns the application in the browser, the parent applies again,
// the admin requests the deletion of the registration by typing 确认删除, a
// city admin approves it, and the SMS page lists both messages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';
import { ParentClient, registerChild, xuhui } from '../parent.mjs';

async function openSignedIn(browser, base, level) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${base}/review/returns`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: level === 'city' ? '市级管理员' : '区级管理员' }).check({ force: true });
  if (level === 'district') {
    await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${xuhui.name}$`) }).click();
  }
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${base}/review/returns`);
  return { context, page, problems };
}

describe('review and SMS pages', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('review-returns')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('return, deletion and their SMS', async () => {
    const base = stack.backOfficeURL;
    const parent = new ParentClient(stack.edgeURL);
    await parent.signIn('demo-parent-05');
    const registration = await registerChild(parent);
    await parent.waitForStatus(registration, ['recorded', 'verified', 'needs_manual_verification']);
    const first = await parent.apply(registration);
    assert.equal(first.status, 202, `first application: HTTP ${first.status}`);
    const application = first.body.receiptNumber;
    await parent.waitForStatus(application, ['recorded']);

    // The district admin returns the application in the browser.
    const district = await openSignedIn(browser, base, 'district');
    const row = district.page.locator('.el-table__body tr', { hasText: application });
    await row.getByRole('button', { name: '退回' }).click();
    await district.page.locator('textarea[data-test="return-reason"]').fill('户口簿照片不清晰，请重新上传');
    await district.page.locator('.el-dialog').getByRole('button', { name: '退回' }).click();
    await district.page.locator('.el-message--success').waitFor();
    await row.getByText('已退回').waitFor();
    await district.page.screenshot({ path: screenshotPath('review-returns'), fullPage: true });

    const returned = await parent.waitForStatus(application, ['returned']);
    assert.match(returned.note, /户口簿照片不清晰/);

    // The parent's receipt of the returned application leads to applying again.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, locale: 'zh-CN' });
    await phone.addCookies([...parent.cookies].filter(([, value]) => value !== '')
      .map(([name, value]) => ({ name, value, url: stack.edgeURL })));
    const receiptPage = await phone.newPage();
    await receiptPage.goto(`${stack.edgeURL}/receipt/${application}`);
    const applyAgain = receiptPage.getByRole('link', { name: '修改后重新报名' });
    await applyAgain.waitFor();
    assert.equal(await applyAgain.getAttribute('href'), `/apply/${registration}`);
    await phone.close();
    const second = await parent.apply(registration);
    assert.equal(second.status, 202, `application after the return: HTTP ${second.status} ${JSON.stringify(second.body)}`);
    assert.notEqual(second.body.receiptNumber, application);

    // The deletion request needs 确认删除 typed exactly.
    await district.page.locator('.el-menu-item', { hasText: '删除审核' }).click();
    await district.page.locator('.el-card__header').getByRole('button', { name: '申请删除' }).click();
    await district.page.locator('input[data-test="deletion-number"]').fill(registration);
    await district.page.locator('textarea[data-test="deletion-reason"]').fill('家长申请撤销本次登记');
    const submit = district.page.locator('.el-dialog').getByRole('button', { name: '申请删除' });
    await district.page.locator('input[data-test="deletion-confirmation"]').fill('删除');
    assert.ok(await submit.isDisabled(), 'the request button is enabled before 确认删除 is typed');
    await district.page.locator('input[data-test="deletion-confirmation"]').fill('确认删除');
    await submit.click();
    await district.page.locator('.el-table__body tr', { hasText: registration }).getByText('待审核').waitFor();

    // The city admin approves it.
    const city = await openSignedIn(browser, base, 'city');
    await city.page.locator('.el-menu-item', { hasText: '删除审核' }).click();
    const pending = city.page.locator('.el-table__body tr', { hasText: registration });
    await pending.getByRole('button', { name: '批准删除' }).click();
    await city.page.locator('.el-message-box').getByRole('button', { name: '批准删除' }).click();
    await pending.getByText('已批准').waitFor();
    await parent.waitForStatus(registration, ['deleted']);

    // The SMS page lists the family's messages with the phone masked.
    await city.page.locator('.el-menu-item', { hasText: '短信通知' }).click();
    await city.page.getByRole('tab', { name: '发送记录' }).click();
    const outbox = city.page.locator('.el-tab-pane:visible .el-table__body');
    // The first application has two messages: 报名成功 and the return.
    await outbox.locator('tr', { hasText: application }).first().waitFor();
    assert.equal(await outbox.locator('tr', { hasText: application }).count(), 2);
    await outbox.locator('tr', { hasText: registration }).waitFor();
    const text = await outbox.innerText();
    assert.match(text, /139\*\*\*\*5678/, 'the phone number is masked');
    assert.ok(!text.includes('13912345678'), 'the outbox shows the full phone number');
    assert.ok(!text.includes('周小安'), 'the outbox shows the full child name');
    await city.page.screenshot({ path: screenshotPath('review-sms-outbox'), fullPage: true });

    assert.deepEqual([...district.problems, ...city.problems], []);
    await district.context.close();
    await city.context.close();
  });

  test('district template and application switch', async () => {
    const base = stack.backOfficeURL;
    const district = await openSignedIn(browser, base, 'district');
    const { page } = district;

    // A template with an unknown placeholder is rejected with the list of
    // the allowed ones; a valid one is saved for the district.
    await page.locator('.el-menu-item', { hasText: '短信通知' }).click();
    await page.getByRole('button', { name: '新建模板' }).click();
    const body = page.locator('textarea[data-test="template-body"]');
    await body.fill('{学校}已退回');
    await page.locator('.el-dialog').getByRole('button', { name: '确定' }).click();
    await page.locator('.el-message--error', { hasText: '不支持占位符 {学校}' }).waitFor();
    await body.fill('【徐汇区教育局】{姓名}的报名已成功，编号 {报名号}。');
    await page.locator('.el-dialog').getByRole('button', { name: '确定' }).click();
    await page.locator('.el-tab-pane:visible .el-table__body tr', { hasText: '【徐汇区教育局】' }).waitFor();

    // Closing 徐汇's application window reaches the edge at once.
    const parent = new ParentClient(stack.edgeURL);
    await parent.signIn('demo-parent-06');
    const registration = await registerChild(parent);
    await parent.waitForStatus(registration, ['recorded', 'verified', 'needs_manual_verification']);

    await page.locator('.el-menu-item', { hasText: '登记报名开关' }).click();
    const row = page.locator('.el-table__body tr', { hasText: xuhui.name }).first();
    await row.getByRole('button', { name: '关闭' }).click();
    await page.locator('.el-dialog__footer').getByRole('button', { name: '关闭' }).click();
    await page.locator(`[data-test="district-state-${xuhui.code}"]`, { hasText: '已关闭' }).waitFor();

    // The edge swaps in the published snapshot a moment after the back office
    // commits the switch, so wait until it lists 徐汇's entries as closed.
    const deadline = Date.now() + 15000;
    for (;;) {
      const response = await fetch(`${stack.edgeURL}/api/v1/districts/${xuhui.code}/entries`);
      const text = await response.text();
      if (response.ok && text.includes('"open":false') && !text.includes('"open":true')) break;
      assert.ok(Date.now() < deadline, `the edge still lists 徐汇's entries as open: ${text.slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const rejected = await parent.apply(registration);
    assert.equal(rejected.status, 403, `application after closing: HTTP ${rejected.status}`);
    assert.equal(rejected.body.error.code, 'application_closed');
    assert.match(rejected.body.error.message, /报名已于/);
    await page.screenshot({ path: screenshotPath('review-windows'), fullPage: true });

    assert.deepEqual(district.problems, []);
    await district.context.close();
  });
});
