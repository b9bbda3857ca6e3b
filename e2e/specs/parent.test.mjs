// The parents' pages end to end, at a phone's viewport. The parent signs in
// through the identity simulator and fills the registration form, which
// survives a throttled request, a reload and an expired session. The form
// goes to the edge first with a resident ID whose province code does not
// exist, which only the edge checks, and the edge's error shows next to the
// field. The page itself flags an impossible birth date and a wrong check
// digit. The parent fetches the child's birth certificate and a guardian's
// property certificate (a masked number and a prefill token each), uploads
// the household register, and submits. The test follows the receipt until
// the registration is verified, repeats the submission, applies for two
// matched kindergartens and reads the ranked choices on the receipt. Last,
// the drafts: signing out, or another account signing in, empties the form.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { tinyPng } from '../files.mjs';
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

async function postJSON(url, body) {
  const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

/**
 * Returns a resident ID, with an odd (male) or even (female) sequence, whose
 * holder has a certificate of certificateType in the certificate simulator
 * and whose name matches in the identity data simulator, so that the
 * registration is verified.
 */
async function residentIdHolding(region, birthDate, { male, certificateType, name }) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const sequence = String(100 + 2 * randomInt(0, 440) + (male ? 1 : 0));
    const id = residentId(region, birthDate, sequence);
    const certificates = await postJSON(`${stack.env.CERTIFICATES_URL}/v1/certificates/query`,
      { holderDocumentType: 'resident_id', holderDocumentNumber: id, certificateTypes: [certificateType] });
    if (certificates.status !== 200) continue;
    const verification = await postJSON(`${stack.env.DATA_API_URL}/v1/identity/verify`,
      { documentType: 'resident_id', documentNumber: id, name });
    if (verification.body.match) return id;
  }
  throw new Error(`no resident ID in ${region} holds a ${certificateType} in 100 tries`);
}

async function signInAs(subject, returnPath) {
  await page.waitForURL((url) => url.href.startsWith(stack.identityURL));
  await page.locator(`button[data-subject="${subject}"]`).click();
  await page.waitForURL(`${stack.edgeURL}${returnPath}`);
}

function registrationPosted() {
  return page.waitForResponse((response) => response.url().endsWith('/api/v1/registrations')
    && response.request().method() === 'POST');
}

/** Fills every field of the registration form for a boy living at his Shanghai hukou address. */
async function fillRegistration({ childName, birthDate, childId, guardianName, guardianId }) {
  await page.getByLabel('幼儿姓名').fill(childName);
  await page.locator('[data-field="child.sex"]').getByLabel('男').check();
  await page.getByLabel('出生日期').fill(birthDate);
  const childDocument = page.locator('[data-field="child.document"]');
  assert.equal(await childDocument.getByLabel('证件类型').inputValue(), 'resident_id');
  await childDocument.getByLabel('证件号码').fill(childId);

  const hukou = page.locator('[data-field="child.hukou"]');
  await hukou.getByLabel('是', { exact: true }).check();
  await hukou.getByLabel('户籍所在区').selectOption({ label: '徐汇区' });
  await hukou.locator('#f-child-hukou-streetCode option', { hasText: '天平路街道' }).waitFor({ state: 'attached' });
  await hukou.getByLabel('街道（镇）').selectOption({ label: '天平路街道' });
  await hukou.locator('#f-child-hukou-committeeCode option').nth(1).waitFor({ state: 'attached' });
  await hukou.getByLabel('居（村）委').selectOption({ index: 1 });
  await hukou.getByLabel('户籍详细地址').fill('漕溪北路100弄3号');

  const residence = page.locator('[data-field="residence"]');
  await residence.getByRole('button', { name: '与户籍地址相同' }).click();
  assert.equal(await residence.getByLabel('居住所在区').inputValue(), '310104');
  assert.equal(await residence.getByLabel('居（村）委').inputValue(), await hukou.getByLabel('居（村）委').inputValue());
  await residence.getByLabel('详细地址').fill('漕溪北路100弄3号502室');
  await page.getByLabel('现居住地址与户籍地址一致（人户一致）').check();

  const guardian = page.locator('[data-field="guardians[0]"]');
  await guardian.getByLabel('与幼儿关系').selectOption({ label: '母亲' });
  await guardian.getByLabel('姓名').fill(guardianName);
  await guardian.getByLabel('手机号码').fill('13912345678');
  await guardian.getByLabel('证件号码').fill(guardianId);
  await guardian.getByLabel('该监护人为本市户籍').check();
  await page.getByLabel('出生地省份').selectOption('上海市');
}

async function storedDraftKeys() {
  return page.evaluate(() => [sessionStorage, localStorage].flatMap((storage) =>
    Array.from({ length: storage.length }, (_, i) => storage.key(i)).filter((key) => key.startsWith('ps.'))));
}

test('parent registers and applies on a phone', async (t) => {
  const catalogue = await (await fetch(`${stack.edgeURL}/api/v1/catalogue`)).json();
  const birthDate = addDays(catalogue.year.birthFrom, 40);
  assert.ok(birthDate <= catalogue.year.birthTo, `birth date ${birthDate} is outside the age window`);
  const childId = await residentIdHolding('310104', birthDate, { male: true, certificateType: 'birth_certificate', name: '张小明' });
  const guardianId = await residentIdHolding('310104', '1990-05-12', { male: false, certificateType: 'property_certificate', name: '王芳' });
  // "99" is no province's code, which the edge checks and the page does not.
  const unknownProvinceId = residentId('990104', birthDate, childId.slice(14, 17));
  const form = { childName: '张小明', birthDate, childId: unknownProvinceId, guardianName: '王芳', guardianId };
  let registrationNumber = '';
  let registrationBody = '';
  let applicationNumber = '';

  await t.test('signs in through the identity simulator', async () => {
    await page.goto(stack.edgeURL);
    await page.locator('main').getByRole('link', { name: '登录', exact: true }).click();
    await signInAs('demo-parent-01', '/');
    await page.locator('[data-greeting]').waitFor();
    assert.equal(await page.locator('[data-greeting]').textContent(), '您好，张伟');
    assert.match(await page.locator('[data-window="registration"]').textContent(), /开放中/);
  });

  await t.test('fills the registration form', async () => {
    await page.getByRole('link', { name: '开始信息登记' }).click();
    await page.waitForURL(`${stack.edgeURL}/register`);
    await fillRegistration(form);
  });

  await t.test('counts a long address uncut', async () => {
    const field = page.locator('[data-field="residence.address"]');
    const input = field.getByLabel('详细地址');
    const address = '漕溪北路100弄3号502室';
    const padded = (length) => address + '甲'.repeat(length - [...address].length);
    const long = padded(150);
    await input.fill(long);
    assert.equal([...await input.inputValue()].length, 150, 'the input cut the pasted address');
    assert.equal(await input.getAttribute('maxlength'), null);
    const counter = field.locator('.character-count');
    assert.equal(await counter.getAttribute('data-over'), 'true');
    assert.match(await counter.textContent(), /150\/100 字/);
    assert.match(await counter.textContent(), /已超出 100 字上限 50 个字/);

    await input.fill(padded(100));
    assert.match(await counter.textContent(), /已达到 100 字上限/);
    await input.fill(address);
    assert.equal(await counter.getAttribute('data-over'), null);
    assert.equal((await counter.textContent()).trim(), `${[...address].length}/100 字`);
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
    assert.equal(await page.locator('#f-child-document-number').inputValue(), unknownProvinceId);
    await page.locator(`#f-child-hukou-committeeCode option[value="${committee}"]`).waitFor({ state: 'attached' });
    assert.equal(await page.locator('#f-child-hukou-committeeCode').inputValue(), committee);
    assert.equal(await page.locator('#f-guardians-0-name').inputValue(), '王芳');
  });

  await t.test('asks to sign in again and keeps the draft', async () => {
    await page.context().clearCookies();
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    assert.equal((await answer).status(), 401);
    const alert = page.locator('.form-alert-region');
    await alert.getByRole('link', { name: '重新登录' }).click();
    await signInAs('demo-parent-01', '/register');
    await page.locator('.draft-notice').waitFor();
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明');
    assert.equal(await page.locator('#f-guardians-0-document-number').inputValue(), guardianId);
    await page.locator('#f-residence-committeeCode option').nth(1).waitFor({ state: 'attached' });
  });

  await t.test('shows the edge error next to the ID field', async () => {
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    assert.equal(response.status(), 400);
    const body = await response.json();
    assert.equal(body.error.code, 'invalid_resident_id_region');
    assert.equal(body.error.field, 'child.document.number');

    const error = page.locator('[data-field="child.document.number"] .field-error');
    await error.waitFor();
    assert.equal(await error.getAttribute('data-code'), 'invalid_resident_id_region');
    assert.equal(await error.textContent(), body.error.message);
    const input = page.locator('#f-child-document-number');
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.match(await input.getAttribute('aria-describedby'), /\be-child-document-number\b/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-child-document-number');
    assert.match(await page.locator('.form-alert-region').textContent(), /省级行政区代码/);
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '张小明', 'the form lost what was typed');
  });

  await t.test('checks ID date and check digit', async () => {
    let posted = 0;
    const countPosts = (request) => {
      if (request.url().endsWith('/api/v1/registrations') && request.method() === 'POST') posted += 1;
    };
    page.on('request', countPosts);
    const input = page.locator('#f-child-document-number');
    const error = page.locator('[data-field="child.document.number"] .field-error');
    const submit = page.getByRole('button', { name: '提交登记' });

    // 30 February does not exist.
    await input.fill('31010420230230371X');
    await submit.click();
    await error.waitFor();
    assert.match(await error.textContent(), /出生日期无效/);
    assert.equal(await page.locator('[data-field="child.sex"] .field-error').count(), 0, 'the page blamed the sex');
    assert.equal(await page.locator('[data-field="child.birthDate"] .field-error').count(), 0, 'the page blamed the birth date');

    await input.fill(withWrongCheckDigit(childId));
    assert.equal(await error.count(), 0, 'typing did not clear the error');
    await submit.click();
    await error.waitFor();
    assert.match(await error.textContent(), /校验码不正确/);

    page.off('request', countPosts);
    assert.equal(posted, 0, 'the page sent an ID it could tell was invalid');
  });

  await t.test('attaches certificates', async () => {
    await page.locator('#f-child-document-number').fill(childId);
    assert.equal(await page.locator('[data-field="child.document.number"] .field-error').count(), 0);
    const birthCertificate = page.locator('[data-certificate="birth_certificate"]');
    const fetchBirth = birthCertificate.getByRole('button', { name: /^一键调取电子证照：出生医学证明/ });

    // The parent's look-up budget runs out: the row shows the edge's
    // message, and every fetch button counts down Retry-After.
    await page.route('**/api/v1/prefill/certificates', (route) => route.fulfill({
      status: 429,
      headers: { 'Retry-After': '3', 'Content-Type': 'application/json' },
      body: JSON.stringify({ error: { code: 'too_many_requests', message: '操作过于频繁，请 3 秒后再试。' } }),
    }), { times: 1 });
    await fetchBirth.click();
    await birthCertificate.locator('.certificate-message', { hasText: '操作过于频繁' }).waitFor();
    assert.match(await fetchBirth.textContent(), /请 [1-3] 秒后重试/);
    assert.equal(await fetchBirth.isDisabled(), true);
    assert.equal(await page.locator('[data-certificate="property_certificate"]').getByRole('button', { name: /^一键调取/ }).isDisabled(), true);
    await birthCertificate.getByRole('button', { name: '一键调取电子证照：出生医学证明', exact: true }).waitFor({ timeout: 5_000 });
    assert.equal(await fetchBirth.isEnabled(), true);

    // The page gets a masked number and a token, never the full number.
    const fetchBirthCertificate = async () => {
      const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/prefill/certificates'));
      await fetchBirth.click();
      const response = await answer;
      assert.equal(response.status(), 200);
      assert.equal(JSON.parse(response.request().postData()).documentNumber, childId);
      // The edge counts the look-up in the residence district chosen above.
      assert.equal(JSON.parse(response.request().postData()).districtCode, '310104');
      const [certificate] = (await response.json()).certificates;
      assert.ok(certificate.prefillToken, 'the look-up returned no prefill token');
      assert.equal(certificate.number, undefined, 'the look-up returned the full number');
      await birthCertificate.locator('.certificate-attached').waitFor();
      assert.match(await birthCertificate.locator('.certificate-attached').textContent(),
        new RegExp(`已调取电子证照，编号 ${certificate.maskedNumber.replaceAll('*', '\\*')}`));
      assert.match(await birthCertificate.locator('.certificate-attached').textContent(), /签发/);
    };
    await fetchBirthCertificate();

    // Editing the child's number drops the fetched certificate.
    await page.locator('#f-child-document-number').fill(`${childId.slice(0, 17)}`);
    await birthCertificate.locator('.certificate-message', { hasText: '请重新调取' }).waitFor();
    assert.equal(await birthCertificate.locator('.certificate-attached').count(), 0);
    await page.locator('#f-child-document-number').fill(childId);
    await fetchBirthCertificate();

    // A guardian's certificate is fetched with the guardian's document: the
    // parent picks the guardian once there are two.
    await page.getByRole('button', { name: '添加监护人' }).click();
    await page.locator('[data-field="guardians[1]"]').getByLabel('姓名').fill('张强');
    const property = page.locator('[data-certificate="property_certificate"]');
    const picker = property.getByLabel('用哪位监护人的证件调取');
    assert.deepEqual(await picker.locator('option').allTextContents(), ['监护人1（王芳）', '监护人2（张强）']);
    await picker.selectOption({ label: '监护人1（王芳）' });
    const answer = page.waitForResponse((response) => response.url().endsWith('/api/v1/prefill/certificates'));
    await property.getByRole('button', { name: '一键调取电子证照：不动产权证书', exact: true }).click();
    const response = await answer;
    assert.equal(JSON.parse(response.request().postData()).documentNumber, guardianId);
    await property.locator('.certificate-attached').waitFor();
    assert.match(await property.locator('.certificate-holder').textContent(), /持证人：监护人1（王芳）/);
    await page.locator('[data-field="guardians[1]"]').getByRole('button', { name: '删除此监护人' }).click();
    assert.equal(await property.locator('.certificate-attached').count(), 1, 'removing the other guardian dropped the certificate');

    const householdRegister = page.locator('[data-certificate="household_register"]');
    await page.getByLabel('上传户口簿').setInputFiles({ name: 'hukou.png', mimeType: 'image/png', buffer: tinyPng() });
    await householdRegister.locator('.certificate-attached').waitFor();
    assert.match(await householdRegister.locator('.certificate-attached').textContent(), /已上传：hukou\.png/);

    await page.screenshot({ path: screenshotPath('parent-registration'), fullPage: true });
  });

  await t.test('shows rejected token on its row', async () => {
    // The edge rejects a token that does not open at
    // certificates[i].prefillToken, and the page shows that error on the
    // certificate's row.
    await page.route('**/api/v1/registrations', (route) => {
      const body = JSON.parse(route.request().postData());
      const fetched = body.certificates.find((certificate) => certificate.type === 'birth_certificate');
      fetched.prefillToken = `A${fetched.prefillToken}`;
      return route.continue({ postData: JSON.stringify(body) });
    }, { times: 1 });
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    assert.equal(response.status(), 400);
    const { error } = await response.json();
    assert.equal(error.code, 'invalid_prefill_token');
    assert.match(error.field, /^certificates\[\d\]\.prefillToken$/);

    const birthCertificate = page.locator('[data-certificate="birth_certificate"]');
    const rowError = birthCertificate.locator('.field-error');
    await rowError.waitFor();
    assert.equal(await rowError.getAttribute('data-code'), 'invalid_prefill_token');
    assert.equal(await rowError.textContent(), error.message);
    await birthCertificate.getByRole('button', { name: '一键调取电子证照：出生医学证明', exact: true }).click();
    await birthCertificate.locator('.certificate-attached').waitFor();
    assert.equal(await rowError.count(), 0, 'the row kept the error after a new look-up');
  });

  await t.test('submits and follows the receipt', async () => {
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    const body = await response.json();
    assert.equal(response.status(), 202, `registration answered ${response.status()}: ${JSON.stringify(body)}`);
    registrationBody = response.request().postData();
    const sent = JSON.parse(registrationBody).certificates;
    assert.deepEqual(Object.fromEntries(sent.map((certificate) => [certificate.type, Object.keys(certificate).sort()])), {
      birth_certificate: ['prefillToken', 'source', 'type'],
      property_certificate: ['prefillToken', 'source', 'type'],
      household_register: ['fileId', 'source', 'type'],
    }, 'certificates go as a token or a file, without numbers');

    await page.waitForURL(/\/receipt\/\d{12}$/);
    registrationNumber = (await page.locator('.receipt-number').textContent()).trim();
    assert.match(registrationNumber, /^\d{12}$/);
    assert.equal(registrationNumber, body.receiptNumber);
    assert.match(await page.locator('.receipt-status [data-status]').textContent(), /已受理|已入库|已核验/);
    assert.doesNotMatch(await page.locator('.receipt-card').textContent(), /入库时间/);

    await page.locator('.receipt-status [data-status="verified"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('.receipt-hint').textContent(), '身份信息已核验通过。');
    await page.screenshot({ path: screenshotPath('parent-receipt'), fullPage: true });
  });

  await t.test('downloads the form PDF or says why not', async () => {
    // A refusal such as 503 pdf_busy at the peak shows its message and the
    // retry time on the page, not a download that silently fails.
    const busy = { error: { code: 'pdf_busy', message: '当前下载登记表的人数较多，请稍后再试。登记结果不受影响。' } };
    await page.route('**/form.pdf', (route) => route.fulfill({
      status: 503, contentType: 'application/json', headers: { 'Retry-After': '7' }, body: JSON.stringify(busy),
    }), { times: 1 });
    await page.locator('[data-form-pdf]').click();
    const problem = page.locator('[data-pdf-problem]');
    await problem.waitFor();
    assert.equal(await problem.textContent(), `${busy.error.message}（约 7 秒后可重试）`);

    const download = page.waitForEvent('download');
    await page.locator('[data-form-pdf]').click();
    const file = await download;
    assert.equal(file.suggestedFilename(), `registration-${registrationNumber}.pdf`);
    const bytes = await readFile(await file.path());
    assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
    assert.equal(await problem.count(), 0, 'the message stays after a successful download');
  });

  await t.test('shows a repeated submission as verified', async () => {
    // The same registration again returns the first receipt with its
    // current status. The form is filled anew and its request replaced by
    // the first one, because a repeat must match it exactly, certificate
    // tokens and file included.
    await page.goto(`${stack.edgeURL}/register`);
    await fillRegistration({ ...form, childId });
    await page.route('**/api/v1/registrations', (route) => route.continue({ postData: registrationBody }), { times: 1 });
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    const body = await response.json();
    assert.equal(response.status(), 200, `the repeat answered ${response.status()}: ${JSON.stringify(body)}`);
    assert.equal(body.duplicate, true);
    assert.equal(body.status, 'verified');

    await page.waitForURL(`${stack.edgeURL}/receipt/${registrationNumber}`);
    await page.locator('[data-duplicate]').waitFor();
    assert.equal(await page.locator('.receipt-status [data-status]').textContent(), '✓已核验');
  });

  await t.test('applies for two matched kindergartens', async () => {
    await page.getByRole('link', { name: '去报名' }).click();
    await page.waitForURL(`${stack.edgeURL}/apply/${registrationNumber}`);
    const district = page.locator('[data-field="districtCode"]').getByLabel('报名区');
    await district.locator('option[value="310104"]').waitFor({ state: 'attached' });
    assert.deepEqual(await district.locator('option').allTextContents(), ['徐汇区（居住所在区、户籍所在区）'],
      'the page offers districts other than the child\'s');
    assert.equal(await district.inputValue(), '310104', 'the residence district is not the default');

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
    applicationNumber = (await page.locator('.receipt-number').textContent()).trim();
    assert.match(applicationNumber, /^\d{14}$/);
    assert.equal(applicationNumber, body.receiptNumber);

    // The receipt lists the ranked choices, and speaks of the district's
    // review rather than of identity checks.
    const ranked = page.locator('.receipt-choices li');
    await ranked.nth(1).waitFor();
    assert.deepEqual((await ranked.allTextContents()).map((text) => text.replace(/\s+/g, '')),
      [`志愿一${second}`, `志愿二${first}`]);
    await page.locator('.receipt-status [data-status]')
      .filter({ hasText: /已入库|验证通过|已退回|已录取|未录取/ }).waitFor({ timeout: 30_000 });
    const hint = await page.locator('.receipt-hint').textContent();
    assert.doesNotMatch(hint, /核验身份信息/);
    if (await page.locator('.receipt-status [data-status="recorded"]').count()) assert.equal(hint, '报名已提交，等待所在区审核。');
    await page.screenshot({ path: screenshotPath('parent-application-receipt'), fullPage: true });

    await page.getByRole('link', { name: '查看我的办理' }).click();
    await page.locator(`[data-receipt="${applicationNumber}"]`).waitFor();
    assert.equal(await page.locator(`[data-receipt="${registrationNumber}"]`).count(), 1);
    // Each receipt names its child, so a family with twins can distinguish its receipts.
    for (const number of [registrationNumber, applicationNumber]) {
      assert.equal(await page.locator(`[data-receipt="${number}"] .receipt-item-child`).textContent(), '张小明');
    }
  });

  await t.test('locks the form once applied', async () => {
    await page.goto(`${stack.edgeURL}/apply/${registrationNumber}`);
    const existing = page.locator('[data-existing-application]');
    await existing.waitFor();
    assert.match(await existing.textContent(), new RegExp(`报名编号 ${applicationNumber}，(已受理|已入库|验证通过|已录取|未录取)`));
    assert.equal(await existing.getByRole('link').getAttribute('href'), `/receipt/${applicationNumber}`);
    assert.equal(await page.getByRole('button', { name: '提交报名' }).isDisabled(), true);
    assert.equal(await page.locator('[data-field="districtCode"] select').isDisabled(), true);
    assert.equal(await page.getByLabel('备注').isDisabled(), true);
  });

  await t.test('shows unknown receipt as missing', async () => {
    await page.goto(`${stack.edgeURL}/receipt/209900000000`);
    await page.locator('[data-not-found]').waitFor();
    const text = await page.locator('main').textContent();
    assert.match(text, /未找到该回执/);
    assert.doesNotMatch(text, /请记下或截图保存编号/);
    assert.doesNotMatch(text, /209900000000/);
    assert.equal(await page.locator('main').getByRole('link', { name: '返回首页' }).getAttribute('href'), '/');
  });

  await t.test('empties the form after signing out', async () => {
    await page.goto(`${stack.edgeURL}/register`);
    await page.getByLabel('幼儿姓名').fill('张小红');
    await page.locator('#f-child-document-number').fill(childId);
    await page.waitForFunction(() => sessionStorage.getItem('ps.registrationDraft')?.includes('张小红'));

    await page.locator('.site-header').getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL(`${stack.edgeURL}/`);
    await page.locator('main').getByRole('link', { name: '登录', exact: true }).waitFor();
    assert.deepEqual(await storedDraftKeys(), [], 'signing out left drafts behind');

    await page.locator('main').getByRole('link', { name: '登录', exact: true }).click();
    await signInAs('demo-parent-02', '/');
    assert.equal(await page.locator('[data-greeting]').textContent(), '您好，王芳');
    await page.getByRole('link', { name: '开始信息登记' }).click();
    await page.waitForURL(`${stack.edgeURL}/register`);
    assert.equal(await page.locator('.draft-notice').count(), 0);
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '');
    assert.equal(await page.locator('#f-child-document-number').inputValue(), '');
  });

  await t.test('rejects child of another account', async () => {
    await fillRegistration({ ...form, childId, guardianName: '王芳' });
    const answer = registrationPosted();
    await page.getByRole('button', { name: '提交登记' }).click();
    const response = await answer;
    assert.equal(response.status(), 409);
    const { error } = await response.json();
    assert.equal(error.code, 'already_registered_elsewhere');
    const alert = page.locator('.form-alert-region [data-code="already_registered_elsewhere"]');
    await alert.waitFor();
    assert.equal((await alert.textContent()).trim(), error.message);
    assert.equal(await alert.getByRole('link').count(), 0, 'the page links to another family\'s receipt');
  });

  await t.test('drops draft for another account', async () => {
    // 王芳's session ends without 退出登录, and 李娜 signs in on the same tab.
    await page.waitForFunction(() => sessionStorage.getItem('ps.registrationDraft')?.includes('张小明'));
    await page.context().clearCookies();
    await page.reload();
    await page.locator('main .card').getByRole('link', { name: '登录', exact: true }).waitFor();
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '', 'a signed-out page shows the last account\'s draft');

    await page.locator('main .card').getByRole('link', { name: '登录', exact: true }).click();
    await signInAs('demo-parent-03', '/register');
    await page.locator('.site-user-name', { hasText: '李娜' }).waitFor();
    assert.equal(await page.locator('.draft-notice').count(), 0);
    assert.equal(await page.getByLabel('幼儿姓名').inputValue(), '');
    assert.equal(await page.locator('#f-guardians-0-document-number').inputValue(), '');
    assert.deepEqual((await storedDraftKeys()).filter((key) => key !== 'ps.draftOwner'), []);
  });

  await t.test('asks no province of a passport child', async () => {
    // Only a resident ID names a mainland province; a child with a Hong
    // Kong, Macau, Taiwan or foreign document may leave it empty.
    await page.locator('#f-child-document-type').selectOption('passport');
    await page.locator('[data-field="child.hukou.inShanghai"]').getByLabel('否').check();
    const province = page.locator('[data-field="child.hukou.province"]');
    await province.getByText('持港澳台或外国证件的幼儿可不填。').waitFor();
    await page.getByRole('button', { name: '提交登记' }).click();
    await page.locator('[data-field="child.name"] .field-error').waitFor();
    assert.equal(await province.locator('.field-error').count(), 0);

    await page.locator('#f-child-document-type').selectOption('resident_id');
    await page.getByRole('button', { name: '提交登记' }).click();
    await province.locator('.field-error', { hasText: '请选择户籍所在省份。' }).waitFor();
  });

  await t.test('wrote non-empty screenshots', () => {
    for (const name of ['parent-registration', 'parent-receipt', 'parent-application', 'parent-application-receipt']) {
      assert.ok(statSync(screenshotPath(name)).size > 0, `${name}.png is empty`);
    }
  });

  await t.test('raised no page or CSP errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
