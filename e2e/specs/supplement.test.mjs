// 补报名 in the admin app. A parent registers a child in 徐汇区 through the
// edge's API and does not apply. The 徐汇 district admin types the
// registration number followed by Enter, as a USB QR scanner reading the
// registration form does, picks a campus and a category, records a
// property certificate and submits. The parent's receipt then shows the
// application as 验证通过, and a second look-up shows that the child has
// applied.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openSignedIn } from '../admin.mjs';
import { ParentClient, registerChild } from '../parent.mjs';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('district admin applies for a registered child', async () => {
  const parent = new ParentClient(stack.edgeURL);
  await parent.signIn('parent-supplement');
  const registration = await registerChild(parent);
  await parent.waitForStatus(registration, ['recorded', 'verified', 'needs_manual_verification']);

  const { page, problems } = await openSignedIn(browser, stack.backOfficeURL, 'district', '/review/supplement');
  const scan = page.locator('input[data-test="supplement-number"]');
  await scan.click();
  await page.keyboard.type(registration);
  const optionsLoaded = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/v1/supplementary/options');
  await page.keyboard.press('Enter');
  const options = await (await optionsLoaded).json();
  assert.ok(options.campuses.length > 0, 'the district has campuses');
  assert.ok(options.categories.length > 0, 'the district has categories with an entry');
  const campus = options.campuses.at(-1);
  const campusLabel = campus.isMain ? campus.kindergarten : `${campus.kindergarten}（${campus.name}）`;

  const card = page.locator('[data-test="supplement-registration"]');
  await card.getByText(registration).waitFor();
  assert.match(await card.innerText(), /周\*安/, 'the child name is masked');

  const form = page.locator('[data-test="supplement-form"]');
  // Any campus of the district may be chosen: the test takes the last one.
  await form.locator('[data-test="supplement-campus"]').click();
  await page.keyboard.type(campus.kindergarten);
  await page.getByRole('option', { name: campusLabel }).first().click();
  await form.locator('[data-test="supplement-category"]').click();
  // The child has a Shanghai hukou, so only that group's categories are offered.
  const category = options.categories.find((item) => item.group === 'shanghai_hukou');
  assert.ok(category, 'the district has a category of the Shanghai hukou group');
  await page.getByRole('option', { name: category.name, exact: true }).click();
  await form.getByRole('button', { name: '添加一份证照' }).click();
  await form.getByPlaceholder('证照编号').fill('沪房2026第000123号');
  await form.getByPlaceholder('持证人').fill('周建国');
  await form.getByPlaceholder('选填，最多 200 个字').fill('家长错过报名期，现场核验材料齐全');
  const applied = page.waitForResponse((response) => response.url().endsWith('/api/v1/supplementary/applications'));
  await form.locator('[data-test="supplement-submit"]').click();
  assert.equal((await applied).status(), 201);

  const done = page.locator('.el-alert', { hasText: '补报名成功' });
  await done.waitFor();
  const number = /报名编号 (\d{14})/.exec(await done.innerText())?.[1];
  assert.ok(number, 'the success message names the application number');
  await page.screenshot({ path: screenshotPath('supplement-done'), fullPage: true });

  const receipt = await parent.call('GET', `/api/v1/receipts/${number}`);
  assert.equal(receipt.status, 'documents_verified');
  const mine = await parent.call('GET', '/api/v1/me/receipts');
  assert.ok(mine.receipts.some((item) => item.receiptNumber === number), 'the parent lists the supplementary application');

  await scan.fill(registration);
  await page.keyboard.press('Enter');
  await card.locator('.el-alert', { hasText: number }).waitFor();
  assert.equal(await form.count(), 0, 'a child with a live application gets no second form');
  assert.deepEqual(problems, []);
});
