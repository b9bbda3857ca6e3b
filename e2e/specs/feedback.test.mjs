// The 办不成事 feedback prompt end to end, at a phone's viewport, with the
// idle timeout set to 2 seconds. The parent starts the registration form
// and stops typing, and the prompt opens by itself. The report goes to the
// edge, through the Redis stream into the back office, and on to the
// service-rating simulator. Then the parent leaves the half-filled form
// through the site title, the prompt opens again, and 继续离开 goes home.
// Last, a city admin finds both reports and their counts in the admin app,
// on the feedback list and on the enrolment dashboard.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

let stack;
let browser;
let page;
const pageErrors = [];

before(async () => {
  stack = await startStack({ settings: { EDGE_FEEDBACK_IDLE_TIMEOUT: '2s', RATING_INTERVAL: '100ms' } });
  browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: 'Asia/Shanghai',
  });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`));
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Reads the rating simulator's ticket, or null while it has none. */
async function ratingTicket(ticketId) {
  const response = await fetch(`${stack.env.RATING_API_URL}/v1/bad-experience/reports/${ticketId}`);
  return response.ok ? response.json() : null;
}

test('idle and leave prompts reach the rating system and the admin list', async () => {
  await page.goto(`${stack.edgeURL}/register`);
  // The link under the form is blue on the grey page, not the header's white.
  const linkColour = await page.getByRole('button', { name: '办不成事？点此反映' })
    .evaluate((element) => getComputedStyle(element).color);
  assert.equal(linkColour, 'rgb(29, 95, 191)');
  await page.getByLabel('幼儿姓名').fill('王小明');

  // No input for 2 seconds opens the prompt.
  const dialog = page.getByTestId('feedback-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 10_000 });
  assert.equal(await dialog.getAttribute('data-trigger'), 'idle');
  await dialog.getByRole('button', { name: '提交反映' }).click();
  await dialog.getByText('请选择遇到的问题类型。').waitFor();
  await dialog.getByLabel('表单内容看不懂、不会填').check();
  await dialog.getByLabel('问题描述').fill('不知道居住证号码应该填哪个');
  await dialog.getByLabel('联系电话').fill('13912345678');
  const posted = page.waitForResponse((response) => response.url().endsWith('/api/v1/feedback') && response.request().method() === 'POST');
  await dialog.getByRole('button', { name: '提交反映' }).click();
  assert.equal((await posted).status(), 202);
  await dialog.getByText('感谢您的反映').waitFor();
  await page.screenshot({ path: screenshotPath('feedback-idle'), fullPage: true });
  await dialog.getByRole('button', { name: '继续办理' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '王小明', 'the form keeps what the parent typed');

  // Leaving the half-filled form through the site title prompts again.
  await page.getByRole('link', { name: '上海市适龄幼儿入园登记报名' }).click();
  await dialog.waitFor({ state: 'visible' });
  assert.equal(await dialog.getAttribute('data-trigger'), 'leave');
  assert.equal(new URL(page.url()).pathname, '/register', 'the parent stays on the form until choosing to leave');
  await dialog.getByLabel('系统提示不符合条件，但我认为符合').check();
  await dialog.getByRole('button', { name: '提交反映' }).click();
  await dialog.getByText('感谢您的反映').waitFor();
  await dialog.getByRole('button', { name: '不用了，继续离开' }).click();
  await page.waitForURL(`${stack.edgeURL}/`);

  // The city admin's list shows both reports, delivered to the rating system.
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const admin = await context.newPage();
  admin.on('pageerror', (error) => pageErrors.push(`admin uncaught: ${error.message}`));
  await admin.goto(`${stack.backOfficeURL}/review/feedback`);
  await admin.waitForURL((url) => url.pathname === '/sign-in');
  await admin.getByRole('tab', { name: '开发登录' }).click();
  await admin.getByRole('radio', { name: '市级管理员' }).check({ force: true });
  await admin.getByRole('button', { name: '登录', exact: true }).click();
  await admin.waitForURL(`${stack.backOfficeURL}/review/feedback`);

  const table = admin.locator('[data-test="feedback-table"]');
  const deadline = Date.now() + 30_000;
  let delivered = 0;
  while (Date.now() < deadline) {
    await admin.reload();
    await table.getByText('不知道居住证号码应该填哪个').waitFor();
    delivered = await table.getByText('已转送好差评').count();
    if (delivered === 2) break;
    await admin.waitForTimeout(500);
  }
  assert.equal(delivered, 2, 'both reports delivered to the rating system within 30 s');
  const row = table.locator('tr', { hasText: '不知道居住证号码应该填哪个' });
  assert.match(await row.innerText(), /139\*\*\*\*5678/, 'the list masks the phone');
  assert.match(await row.innerText(), /停留超时/);
  assert.match(await table.locator('tr', { hasText: '系统提示不符合条件' }).innerText(), /中途离开/);
  const ticketId = (await row.locator('td').last().innerText()).trim();
  const ticket = await ratingTicket(ticketId);
  assert.equal(ticket?.report.content, '不知道居住证号码应该填哪个');
  assert.equal(ticket?.report.phone, '13912345678', 'the rating system gets the phone to follow up');
  assert.equal(ticket?.report.page, '/register');

  const summary = admin.locator('[data-test="feedback-summary"]');
  assert.match(await summary.innerText(), /反映总数\s*2/);
  await admin.screenshot({ path: screenshotPath('feedback-admin'), fullPage: true });

  // The enrolment dashboard counts both reports, sent from the registration form.
  await admin.goto(`${stack.backOfficeURL}/dashboard/enrolment`);
  const panel = admin.locator('[data-panel="enrolment-feedback"]');
  await panel.locator('[data-figure="feedback-total"]', { hasText: /^2$/ }).waitFor();
  for (const name of ['day', 'category', 'district', 'trigger', 'step']) {
    await panel.locator(`[data-chart="enrolment-feedback-${name}"] canvas`).first().waitFor();
  }
  await panel.scrollIntoViewIfNeeded();
  await admin.screenshot({ path: screenshotPath('feedback-dashboard') });
  assert.deepEqual(pageErrors, []);
});
