// The parents' pages end to end, at a phone's viewport. The parent signs in
// through the identity simulator and fills the registration form, which
// survives a throttled request, a reload and an expired session. The form
// goes to the edge first with a wrong resident ID check digit, which the
// edge rejects, and then with the right one. The test follows the receipt
// until the back office stores it, then applies for two matched
// kindergartens.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

// GB 11643-1999: the check digit of an 18-character resident ID.
const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheckDigits = '10X98765432';

function residentId(region, birthDate, sequence) {
  const body = `${region}${birthDate.replaceAll('-', '')}${sequence}`;
  const sum = [...body].reduce((total, digit, i) => total + Number(digit) * idWeights[i], 0);
  return body + idCheckDigits[sum % 11];
}

function withWrongCheckDigit(id) {
  const wrong = [...idCheckDigits].find((digit) => digit !== id.at(-1));
  return id.slice(0, -1) + wrong;
}

function addDays(date, days) {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  return day.toISOString().slice(0, 10);
}

// A valid 1×1 PNG, made here so the test ships no binary file.
function tinyPng() {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buffer) => {
    let c = 0xffffffff;
    for (const byte of buffer) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(1, 0);
  header.writeUInt32BE(1, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.from([0, 255, 255, 255]))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

let stack;
let browser;
let page;
const pageErrors = [];

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (error) => pageErrors.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/.test(message.text())) {
      pageErrors.push(`csp: ${message.text()}`);
    }
  });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('parent registers and applies on a phone', async (t) => {
  const catalogue = await (await fetch(`${stack.edgeURL}/api/v1/catalogue`)).json();
  const birthDate = addDays(catalogue.year.birthFrom, 40);
  assert.ok(birthDate <= catalogue.year.birthTo, `birth date ${birthDate} is outside the age window`);
  // An odd sequence number makes the child a boy.
  const sequence = String(100 + 2 * Math.floor(Math.random() * 440) + 1);
  const childId = residentId('310104', birthDate, sequence);
  const guardianId = residentId('310104', '1990-05-12', '002');
  let registrationNumber = '';

  await t.test('signs in through the identity simulator', async () => {
    await page.goto(stack.edgeURL);
    await page.locator('main').getByRole('link', { name: '登录', exact: true }).click();
    await page.waitForURL((url) => url.href.startsWith(stack.identityURL));
    await page.locator('button[data-subject="demo-parent-01"]').click();
    await page.waitForURL(`${stack.edgeURL}/`);
    await page.locator('[data-greeting]').waitFor();
    assert.equal(await page.locator('[data-greeting]').textContent(), '您好，张伟');
    assert.match(await page.locator('[data-window="registration"]').textContent(), /开放中/);
  });

  await t.test('fills the registration form', async () => {
    await page.getByRole('link', { name: '开始信息登记' }).click();
    await page.waitForURL(`${stack.edgeURL}/register`);

    await page.getByLabel('幼儿姓名').fill('张小明');
    await page.locator('[data-field="child.sex"]').getByLabel('男').check();
    await page.getByLabel('出生日期').fill(birthDate);
    const childDocument = page.locator('[data-field="child.document"]');
    assert.equal(await childDocument.getByLabel('证件类型').inputValue(), 'resident_id');
    await childDocument.getByLabel('证件号码').fill(withWrongCheckDigit(childId));

    const hukou = page.locator('[data-field="child.hukou"]');
    await hukou.getByLabel('是', { exact: true }).check();
    await hukou.getByLabel('所在区').selectOption({ label: '徐汇区' });
    await hukou.locator('#f-child-hukou-streetCode option', { hasText: '天平路街道' }).waitFor({ state: 'attached' });
    await hukou.getByLabel('街道（镇）').selectOption({ label: '天平路街道' });
    const committeeOptions = hukou.locator('#f-child-hukou-committeeCode option');
    await committeeOptions.nth(1).waitFor({ state: 'attached' });
    await hukou.getByLabel('居（村）委').selectOption({ index: 1 });
    await hukou.getByLabel('户籍详细地址').fill('漕溪北路100弄3号');

    const residence = page.locator('[data-field="residence"]');
    await residence.getByRole('button', { name: '与户籍地址相同' }).click();
    assert.equal(await residence.getByLabel('所在区').inputValue(), '310104');
    assert.equal(await residence.getByLabel('居（村）委').inputValue(), await hukou.getByLabel('居（村）委').inputValue());
    await residence.getByLabel('详细地址').fill('漕溪北路100弄3号502室');
    await page.getByLabel('现居住地址与户籍地址一致（人户一致）').check();

    const guardian = page.locator('[data-field="guardians[0]"]');
    await guardian.getByLabel('与幼儿关系').selectOption({ label: '母亲' });
    await guardian.getByLabel('姓名').fill('王芳');
    await guardian.getByLabel('手机号码').fill('13912345678');
    await guardian.getByLabel('证件号码').fill(guardianId);
    await guardian.getByLabel('该监护人为本市户籍').check();
    await page.getByLabel('出生地省份').selectOption('上海市');
  });

  await t.test('keeps the form through a throttled submission', async () => {
    // The edge's own limits are far above what one test sends, so the 429
    // comes from the browser's request interception, shaped as the edge's.
    await page.route('**/api/v1/registrations', (route) => route.fulfill({
      status: 429,
      headers: { 'Retry-After': '2', 'Content-Type': 'application/json' },
      body: JSON.stringify({ error: { code: 'too_many_requests', message: '当前访问人数较多，请 2 秒后再试。' } }),
    }), { times: 1 });
    const submit = page.locator('form button[type="submit"]');
    await submit.click();
    await page.locator('.form-alert-region [data-code="too_many_requests"]').waitFor();
    assert.match(await submit.textContent(), /请 [12] 秒后重试/);
    assert.equal(await submit.isDisabled(), true);
    await page.getByRole('button', { name: '提交登记' }).waitFor({ timeout: 5_000 });
    assert.equal(await submit.isEnabled(), true);
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明', 'the form lost what was typed');
  });

  await t.test('restores the draft after a reload', async () => {
    const committee = await page.locator('#f-child-hukou-committeeCode').inputValue();
    await page.reload();
    await page.locator('.draft-notice').waitFor();
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明');
    assert.equal(await page.locator('#f-child-document-number').inputValue(), withWrongCheckDigit(childId));
    await page.locator(`#f-child-hukou-committeeCode option[value="${committee}"]`).waitFor({ state: 'attached' });
    assert.equal(await page.locator('#f-child-hukou-committeeCode').inputValue(), committee);
    assert.equal(await page.locator('#f-guardians-0-name').inputValue(), '王芳');
  });

  await t.test('asks to sign in again and keeps the draft', async () => {
    await page.context().clearCookies();
    const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/registrations')
      && response.request().method() === 'POST');
    await page.getByRole('button', { name: '提交登记' }).click();
    assert.equal((await answer).status(), 401);
    const alert = page.locator('.form-alert-region');
    await alert.getByRole('link', { name: '重新登录' }).click();
    await page.waitForURL((url) => url.href.startsWith(stack.identityURL));
    await page.locator('button[data-subject="demo-parent-01"]').click();
    await page.waitForURL(`${stack.edgeURL}/register`);
    await page.locator('.draft-notice').waitFor();
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明');
    assert.equal(await page.locator('#f-guardians-0-document-number').inputValue(), guardianId);
    await page.locator('#f-residence-committeeCode option').nth(1).waitFor({ state: 'attached' });
  });

  await t.test('shows the edge error next to the ID field', async () => {
    const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/registrations')
      && response.request().method() === 'POST');
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    assert.equal(response.status(), 400);
    const body = await response.json();
    assert.equal(body.error.code, 'invalid_resident_id_checksum');
    assert.equal(body.error.field, 'child.document.number');

    const error = page.locator('[data-field="child.document.number"] .field-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'invalid_resident_id_checksum');
    assert.equal(await error.textContent(), body.error.message);
    const input = page.locator('#f-child-document-number');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.match(await input.getAttribute('aria-describedby'), /\be-child-document-number\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-child-document-number');
    assert.match(await page.locator('.form-alert-region').textContent(), /校验码/);
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明', 'the form lost what was typed');
  });

  await t.test('attaches certificates', async () => {
    await page.locator('#f-child-document-number').fill(childId);
    assert.equal(await page.locator('[data-field="child.document.number"] .field-error').count(), 0);

    // The simulator makes up each number's set of certificates, so the birth
    // certificate is either found or reported missing with an upload offered.
    const birthCertificate = page.locator('[data-certificate="birth_certificate"]');
    await page.getByRole('button', { name: '一键调取电子证照：出生医学证明' }).click();
    await birthCertificate.locator('.certificate-attached, .certificate-message').first().waitFor();

    const householdRegister = page.locator('[data-certificate="household_register"]');
    await page.getByLabel('上传户口簿').setInputFiles({ name: 'hukou.png', mimeType: 'image/png', buffer: tinyPng() });
    await householdRegister.locator('.certificate-attached').waitFor();
    assert.match(await householdRegister.locator('.certificate-attached').textContent(), /已上传：hukou\.png/);

    await page.screenshot({ path: screenshotPath('parent-registration'), fullPage: true });
  });

  await t.test('submits and follows the receipt', async () => {
    const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/registrations')
      && response.request().method() === 'POST');
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    const body = await response.json();
    assert.equal(response.status(), 202, `registration answered ${response.status()}: ${JSON.stringify(body)}`);

    await page.waitForURL(/\/receipt\/\d{12}$/);
    registrationNumber = (await page.locator('.receipt-number').textContent()).trim();
    assert.match(registrationNumber, /^\d{12}$/);
    assert.equal(registrationNumber, body.receiptNumber);
    assert.match(await page.locator('.receipt-status [data-status]').textContent(), /已受理|已入库/);

    await page.locator('.receipt-status [data-status]').filter({ hasText: /已入库|已核验/ }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('parent-receipt'), fullPage: true });
  });

  await t.test('applies for two matched kindergartens', async () => {
    await page.getByRole('link', { name: '去报名' }).click();
    await page.waitForURL(`${stack.edgeURL}/apply/${registrationNumber}`);
    assert.equal(await page.locator('[data-field="districtCode"]').getByLabel('报名区').inputValue(), '310104', 'the residence district is not the default');

    await page.locator('[data-entry-category]').waitFor();
    assert.equal(await page.locator('[data-entry-category]').textContent(), '本区人户一致');
    const campuses = page.locator('.campus-card');
    await campuses.first().waitFor();
    assert.ok(await campuses.count() >= 2, `only ${await campuses.count()} campus matched`);
    const first = (await campuses.nth(0).locator('.campus-name').textContent()).trim();
    const second = (await campuses.nth(1).locator('.campus-name').textContent()).trim();
    await campuses.nth(0).getByRole('button').click();
    await campuses.nth(1).getByRole('button').click();

    const choices = page.locator('.choice-item');
    assert.equal(await choices.count(), 2);
    assert.equal(await choices.nth(0).locator('.choice-ordinal').textContent(), '志愿一');
    assert.equal(await choices.nth(0).locator('.choice-name').textContent(), first);
    await page.getByRole('button', { name: `下移：${first}` }).click();
    assert.equal(await choices.nth(0).locator('.choice-name').textContent(), second);
    assert.equal(await choices.nth(1).locator('.choice-ordinal').textContent(), '志愿二');
    assert.equal(await choices.nth(1).locator('.choice-name').textContent(), first);

    await page.getByLabel('备注').fill('无');
    await page.screenshot({ path: screenshotPath('parent-application'), fullPage: true });

    const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/applications')
      && response.request().method() === 'POST');
    await page.getByRole('button', { name: '提交报名' }).click();
    const response = await answer;
    const body = await response.json();
    assert.equal(response.status(), 202, `application answered ${response.status()}: ${JSON.stringify(body)}`);

    await page.waitForURL(/\/receipt\/\d{14}$/);
    const applicationNumber = (await page.locator('.receipt-number').textContent()).trim();
    assert.match(applicationNumber, /^\d{14}$/);
    assert.equal(applicationNumber, body.receiptNumber);
    await page.locator('.receipt-status [data-status]')
      .filter({ hasText: /已入库|验证通过|已退回|已录取|未录取/ }).waitFor({ timeout: 30_000 });

    await page.getByRole('link', { name: '查看我的办理' }).click();
    await page.locator(`[data-receipt="${applicationNumber}"]`).waitFor();
    assert.equal(await page.locator(`[data-receipt="${registrationNumber}"]`).count(), 1);
  });

  await t.test('wrote non-empty screenshots', () => {
    for (const name of ['parent-registration', 'parent-receipt', 'parent-application']) {
      assert.ok(statSync(screenshotPath(name)).size > 0, `${name}.png is empty`);
    }
  });

  await t.test('raised no page or CSP errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
