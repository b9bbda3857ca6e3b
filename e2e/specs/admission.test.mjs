// Browser test of the admission pages of the admin app (录取管理). A parent
// registers a child in 徐汇区 with an electronic birth certificate and
// applies through the edge's API. The 徐汇 admin closes the application
// window, saves admission rules that admit only verified applications,
// verifies the child's birth certificate and the application on the review
// page, runs the proposal, finds the child on the proposed list and confirms
// it. The parent's receipt then reads admitted, and the SMS outbox contains
// the notice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';
import { ParentClient, registerChild, xuhui } from '../parent.mjs';

async function openSignedIn(browser, base, path) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${base}${path}`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: '区级管理员' }).check({ force: true });
  await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${xuhui.name}$`) }).click();
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${base}${path}`);
  return { context, page, problems };
}

describe('admission pages', () => {
  let stack;
  let browser;

  before(async () => {
    stack = await startStack({ name: 'admission' });
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('admission-rules')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('rules, proposal and confirmation', async () => {
    const parent = new ParentClient(stack.edgeURL);
    await parent.signIn('demo-parent-07');
    const registration = await registerChild(parent, { certificateTypes: ['birth_certificate'] });
    await parent.waitForStatus(registration, ['recorded', 'verified', 'needs_manual_verification']);
    const applied = await parent.apply(registration);
    assert.equal(applied.status, 202, `application: HTTP ${applied.status} ${JSON.stringify(applied.body)}`);
    const application = applied.body.receiptNumber;
    await parent.waitForStatus(application, ['recorded']);

    const base = stack.backOfficeURL;
    const { context, page, problems } = await openSignedIn(browser, base, '/admission/proposal');

    // While 徐汇 takes applications, the proposal is rejected.
    await page.locator('[data-test="admission-propose"]').click();
    await page.locator('.el-message--error', { hasText: '报名尚未截止' }).waitFor();

    await page.locator('.el-menu-item', { hasText: '登记报名开关' }).click();
    const row = page.locator('.el-table__body tr', { hasText: xuhui.name }).first();
    await row.getByRole('button', { name: '关闭' }).click();
    await page.locator('.el-dialog__footer').getByRole('button', { name: '关闭' }).click();
    await page.locator(`[data-test="district-state-${xuhui.code}"]`, { hasText: '已关闭' }).waitFor();

    // The rules page starts with the defaults and saves them.
    await page.locator('.el-menu-item', { hasText: '录取规则' }).click();
    await page.getByText('本区尚未保存录取规则').waitFor();
    const criteria = page.locator('[data-test="admission-criteria"] li');
    assert.equal(await criteria.count(), 5, 'five priority criteria are offered');
    // The rules admit only applications whose birth certificate a reviewer
    // verified; the switch needs a certificate to verify.
    const requireVerified = page.locator('[data-test="admission-require-verified"]');
    assert.ok(!(await requireVerified.evaluate((node) => node.classList.contains('is-checked'))), 'the verified-only switch starts off');
    await requireVerified.click();
    await page.locator('[data-test="admission-save-rules"]').click();
    await page.locator('.el-message--error', { hasText: '至少选择一种需验证的证件材料' }).waitFor();
    await page.locator('[data-test="admission-certificate-birth_certificate"]').click();
    await page.locator('[data-test="admission-save-rules"]').click();
    await page.getByText('录取规则已保存').waitFor();
    await page.screenshot({ path: screenshotPath('admission-rules'), fullPage: true });

    // The reviewer checks the fetched birth certificate and marks the
    // application 验证通过.
    await page.locator('.el-menu-item', { hasText: '报名审核与退回' }).click();
    await page.locator(`[data-test="verify-${application}"]`).click();
    const birthCertificate = page.locator('[data-verify-certificate="birth_certificate"]');
    await birthCertificate.getByText('电子证照').waitFor();
    assert.match(await birthCertificate.innerText(), /未核验/);
    const submit = page.locator('[data-test="verify-submit"]');
    assert.ok(await submit.isDisabled(), 'the application cannot be verified before its certificate');
    await page.locator('[data-test="verify-pass-birth_certificate"]').click();
    await birthCertificate.locator('[data-test="verify-state"]', { hasText: '核验通过' }).waitFor();
    await submit.click();
    await page.locator('.el-message--success', { hasText: '报名已验证通过' }).waitFor();
    await page.locator('[data-test="verify-status"]', { hasText: '验证通过' }).waitFor();
    await page.screenshot({ path: screenshotPath('review-verify'), fullPage: true });
    await page.locator('.el-drawer', { hasText: '核验报名材料' }).locator('.el-drawer__close-btn').click();
    await parent.waitForStatus(application, ['documents_verified']);

    await page.locator('.el-menu-item', { hasText: '拟录取名单' }).click();
    await page.locator('[data-test="admission-propose"]').click();
    await page.locator('.el-message--success', { hasText: '已生成' }).waitFor();
    await page.locator('[data-test="admission-round-status"]', { hasText: '待确认' }).waitFor();
    await page.locator('[data-test="admission-not-verified"]', { hasText: '所有报名的材料均已验证通过' }).waitFor();
    const item = page.locator('[data-test="admission-items"] .el-table__body tr', { hasText: application });
    await item.waitFor();
    assert.match(await item.innerText(), /拟录取/);
    assert.match(await item.innerText(), /第1志愿/);
    await page.screenshot({ path: screenshotPath('admission-proposal'), fullPage: true });

    await page.locator('[data-test="admission-confirm"]').click();
    await page.locator('.el-message-box').getByRole('button', { name: '确认录取名单' }).click();
    await page.locator('.el-message--success', { hasText: '录取名单已确认' }).waitFor();
    await page.locator('[data-test="admission-round-status"]', { hasText: '已确认' }).waitFor();
    assert.equal(await page.locator('[data-test="admission-confirm"]').count(), 0, 'no confirm button after the confirmation');
    assert.match(await item.innerText(), /已录取/);

    const receipt = await parent.waitForStatus(application, ['admitted']);
    assert.equal(receipt.status, 'admitted');

    await page.locator('.el-menu-item', { hasText: '短信通知' }).click();
    await page.getByRole('tab', { name: '发送记录' }).click();
    const outbox = page.locator('.el-tab-pane:visible .el-table__body');
    const notice = outbox.locator('tr', { hasText: application }).filter({ hasText: '录取' });
    await notice.first().waitFor();
    assert.ok(!(await outbox.innerText()).includes('13912345678'), 'the outbox shows the full phone number');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
