// Browser test of the form designer. A parent registers a child in 徐汇区
// and opens the application page. The 徐汇 district admin adds a field and
// a required certificate to the child's entry form in the designer and
// publishes it. The parent's page, on the same running stack, shows both
// within seconds. The parent fills the field, uploads the certificate and
// applies. The back office's filled-values API returns the value and the
// uploaded file from the database, and the reviewer opens the file from the
// application's materials on the review page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { tinyPng } from '../files.mjs';
import { findMatchedAddress, ParentClient, residentID, xuhui } from '../parent.mjs';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const parentSubject = 'demo-parent-03';
const fieldCode = 'fatherEmployer';
const fieldLabel = '父亲工作单位';
const employer = '上海𠮷祥贸易有限公司';
const certificateCode = 'property_certificate';
const certificateName = '不动产权证书';
// A whole PNG image: the edge checks an upload's type and that it is complete.
const pngFile = { name: '房产证.png', mimeType: 'image/png', buffer: tinyPng() };

/** Registers a 徐汇 child through the API and waits until the back office stored it. */
async function registerChild(parent) {
  const catalogue = await parent.call('GET', '/api/v1/catalogue');
  const { year, birthFrom } = catalogue.year;
  const birth = new Date(`${birthFrom}T00:00:00Z`);
  birth.setUTCMonth(birth.getUTCMonth() + 2);
  const birthDate = birth.toISOString().slice(0, 10);
  const address = await findMatchedAddress(parent);
  const place = { districtCode: xuhui.code, ...address };
  const receipt = await parent.call('POST', '/api/v1/registrations', {
    enrolmentYear: year,
    schemaVersion: catalogue.forms.registration.version,
    child: {
      name: '周小禾', sex: 'F', birthDate,
      document: { type: 'resident_id', number: residentID(xuhui.code, birthDate, 'F'), nationality: 'CHN' },
      hukou: { inShanghai: true, ...place, address: '测试路8弄2号', province: '' },
    },
    residence: { ...place, address: '测试路8弄2号301室', atHukouAddress: true },
    guardians: [{
      relation: 'mother', name: '周芳', phone: '13900000003',
      document: { type: 'resident_id', number: residentID('310104', '1991-02-03', 'F') }, hukouInShanghai: true,
    }],
    certificates: [],
    extra: {},
  });
  await parent.waitForStatus(receipt.receiptNumber, ['recorded', 'verified', 'needs_manual_verification']);
  const options = await parent.call('GET', `/api/v1/registrations/${receipt.receiptNumber}/options?district=${xuhui.code}`);
  assert.ok(options.open, `the ${xuhui.name} entry ${options.categoryCode} is open`);
  return { number: receipt.receiptNumber, categoryCode: options.categoryCode, categoryName: options.categoryName };
}

async function openPage(browser, viewport) {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  return { context, page, problems };
}

describe('form designer', () => {
  let stack;
  let browser;
  let registration;

  before(async () => {
    stack = await startStack();
    const parent = new ParentClient(stack.edgeURL);
    await parent.signIn(parentSubject);
    assert.ok(parent.cookies.get('ps_session'), 'the edge sets the ps_session cookie');
    registration = await registerChild(parent);
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('forms-designer')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('published field reaches parent and database', async () => {
    // The parent's application page is open before the admin publishes.
    const parent = await openPage(browser, { width: 375, height: 812 });
    await parent.page.goto(stack.edgeURL);
    await parent.page.locator('main').getByRole('link', { name: '登录', exact: true }).click();
    await parent.page.waitForURL((url) => url.href.startsWith(stack.identityURL));
    await parent.page.locator(`button[data-subject="${parentSubject}"]`).click();
    await parent.page.waitForURL(`${stack.edgeURL}/`);
    await parent.page.goto(`${stack.edgeURL}/apply/${registration.number}`);
    await parent.page.locator('[data-entry-category]').waitFor();
    assert.equal(await parent.page.locator(`[data-field="extra.${fieldCode}"]`).count(), 0, 'the field is not on the form yet');

    // The 徐汇 district admin designs the entry's form and publishes it.
    const admin = await openPage(browser, { width: 1600, height: 900 });
    await admin.page.goto(`${stack.backOfficeURL}/forms/designer`);
    await admin.page.waitForURL((url) => url.pathname === '/sign-in');
    await admin.page.getByRole('tab', { name: '开发登录' }).click();
    await admin.page.getByRole('radio', { name: '区级管理员' }).check({ force: true });
    await admin.page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
    await admin.page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${xuhui.name}$`) }).click();
    await admin.page.getByRole('button', { name: '登录', exact: true }).click();
    await admin.page.waitForURL(`${stack.backOfficeURL}/forms/designer`);

    await admin.page.locator('[data-select="category"]').click();
    await admin.page.locator(`.el-select-dropdown__item:visible[data-category="${registration.categoryCode}"]`).click();
    await admin.page.locator('[data-action="add-section"]').click();
    const libraryRow = admin.page.locator(`[data-library-field="${fieldCode}"]`);
    await libraryRow.getByRole('button', { name: '加入' }).click();
    const item = admin.page.locator(`[data-item="${fieldCode}"]`);
    await item.waitFor();
    await item.locator('.el-checkbox').click();
    assert.equal(await item.getByRole('checkbox').isChecked(), true, 'the field is required on this form');
    await admin.page.locator(`[data-library-certificate="${certificateCode}"]`).getByRole('button', { name: '加入' }).click();
    const certificateItem = admin.page.locator(`[data-item="${certificateCode}"]`);
    await certificateItem.waitFor();
    if (!await certificateItem.getByRole('checkbox').isChecked()) await certificateItem.locator('.el-checkbox').click();
    assert.equal(await certificateItem.getByRole('checkbox').isChecked(), true, 'the certificate is required on this form');

    // Both previews draw the field from the back office's resolved schema.
    const pcPreview = admin.page.locator(`[data-preview-width="1280"] [data-preview-field="extra.${fieldCode}"]`);
    await pcPreview.waitFor({ timeout: 10_000 });
    assert.match(await pcPreview.innerText(), new RegExp(fieldLabel));
    await admin.page.getByRole('tab', { name: /手机端预览/ }).click();
    await admin.page.locator(`[data-preview-width="375"] [data-preview-field="extra.${fieldCode}"]`).waitFor();
    await admin.page.screenshot({ path: screenshotPath('forms-designer'), fullPage: true });

    await admin.page.locator('[data-action="publish"]').click();
    await admin.page.locator('.el-message-box').getByRole('button', { name: /确定|OK/ }).click();
    const published = admin.page.locator('.el-message--success', { hasText: /已发布第 \d+ 版/ });
    await published.waitFor({ timeout: 10_000 });
    const publishedAt = Date.now();
    const version = Number((await published.innerText()).match(/第 (\d+) 版/)[1]);
    assert.ok(version >= 2, `published version ${version} follows the city's version 1`);
    await admin.page.locator('[data-table="versions"] .el-table__body tr', { hasText: String(version) }).waitFor();

    // The parent's page shows the field within seconds, with no restart:
    // a reload fetches the entry's options, which carry the new form.
    const parentField = parent.page.locator(`[data-field="extra.${fieldCode}"]`);
    let shown = false;
    while (!shown && Date.now() - publishedAt < 10_000) {
      await parent.page.reload();
      await parent.page.locator('[data-entry-category]').waitFor();
      shown = await parentField.count() > 0;
    }
    assert.ok(shown, `the parent's page shows ${fieldLabel} within 10 s of publishing`);
    const seconds = (Date.now() - publishedAt) / 1000;
    assert.ok(seconds < 10, `shown after ${seconds} s`);

    // The field and the certificate are required: submitting without them
    // names both.
    const campus = parent.page.locator('.campus-card').first();
    await campus.getByRole('button').click();
    await parent.page.getByRole('button', { name: '提交报名' }).click();
    await parentField.locator('.field-error[data-code="missing_field"]').waitFor({ timeout: 5_000 });
    assert.match(await parentField.locator('.field-error').innerText(), /请填写父亲工作单位/);
    const parentCertificate = parent.page.locator(`[data-certificate-uploads] [data-field="certificates.${certificateCode}"]`);
    await parentCertificate.locator('.field-error[data-code="missing_certificate"]').waitFor({ timeout: 5_000 });
    assert.match(await parentCertificate.locator('.field-error').innerText(), new RegExp(`请上传${certificateName}`));

    await parentField.getByLabel(new RegExp(fieldLabel)).fill(employer);
    await parentCertificate.locator('input[type="file"]').setInputFiles(pngFile);
    await parentCertificate.locator('.certificate-attached', { hasText: `已上传：${pngFile.name}` }).waitFor({ timeout: 10_000 });
    assert.equal(await parentCertificate.locator('.field-error').count(), 0, 'the upload clears the certificate\'s error');
    await parent.page.screenshot({ path: screenshotPath('forms-parent-field'), fullPage: true });
    const posted = parent.page.waitForResponse((response) => response.url().endsWith('/api/v1/applications')
      && response.request().method() === 'POST');
    await parent.page.getByRole('button', { name: '提交报名' }).click();
    const response = await posted;
    assert.equal(response.status(), 202, `POST /api/v1/applications answered ${response.status()}`);
    const { receiptNumber } = await response.json();
    await parent.page.screenshot({ path: screenshotPath('forms-parent-receipt'), fullPage: true });

    // The back office stored the value: its filled-values API opens the
    // sealed form_values of the application row.
    let filled;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      filled = await admin.page.evaluate(async (number) => {
        const answer = await fetch(`/api/v1/forms/filled/${number}`, { credentials: 'same-origin' });
        return { status: answer.status, body: await answer.json() };
      }, receiptNumber);
      if (filled.status === 200) break;
      await new Promise((wait) => setTimeout(wait, 300));
    }
    assert.equal(filled.status, 200, `GET /forms/filled/${receiptNumber}: ${JSON.stringify(filled.body)}`);
    assert.equal(filled.body.schemaVersion, version, 'the application keeps the version it was made with');
    const value = filled.body.values.find((entry) => entry.key === `extra.${fieldCode}`);
    assert.deepEqual(value, { key: `extra.${fieldCode}`, label: fieldLabel, value: employer });
    assert.equal(filled.body.certificates.length, 1, `certificates: ${JSON.stringify(filled.body.certificates)}`);
    const [uploaded] = filled.body.certificates;
    assert.deepEqual({ ...uploaded, fileId: undefined }, { code: certificateCode, name: certificateName, source: 'upload', fileId: undefined });
    assert.match(uploaded.fileId, /^[0-9a-f]{32}$/);

    // The reviewer opens the application's materials from the review page.
    await admin.page.goto(`${stack.backOfficeURL}/review/returns`);
    await admin.page.locator('.el-form-item', { hasText: '报名编号' }).locator('input').fill(receiptNumber);
    await admin.page.getByRole('button', { name: '查询' }).click();
    await admin.page.locator(`[data-test="materials-${receiptNumber}"]`).click();
    const materials = admin.page.locator('[data-materials="certificates"]');
    await materials.waitFor({ timeout: 10_000 });
    assert.match(await materials.innerText(), new RegExp(certificateName));
    const fileRow = materials.locator(`[data-certificate-file="${uploaded.fileId}"]`);
    await fileRow.waitFor();
    const fileURL = await fileRow.getByRole('link', { name: '查看文件' }).getAttribute('href');
    const file = await admin.page.evaluate(async (url) => {
      const answer = await fetch(url, { credentials: 'same-origin' });
      return { status: answer.status, type: answer.headers.get('content-type'), size: (await answer.arrayBuffer()).byteLength };
    }, fileURL);
    assert.deepEqual(file, { status: 200, type: 'image/png', size: pngFile.buffer.length }, `GET ${fileURL}`);
    await admin.page.screenshot({ path: screenshotPath('forms-review-materials'), fullPage: true });
    await admin.page.keyboard.press('Escape');

    // The parent can download the filled registration form as a PDF.
    const pdf = await parent.page.request.get(`${stack.edgeURL}/api/v1/registrations/${registration.number}/form.pdf`);
    assert.equal(pdf.status(), 200, `GET form.pdf answered ${pdf.status()}`);
    assert.equal(pdf.headers()['content-type'], 'application/pdf');
    assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

    // The field library lists the city's field for the district admin, who
    // may adjust it for the district but not change the city row.
    await admin.page.goto(`${stack.backOfficeURL}/forms/fields`);
    const libraryField = admin.page.locator('[data-page="form-fields"] .el-table__body tr', { hasText: fieldCode });
    await libraryField.waitFor();
    assert.equal(await libraryField.getByRole('button', { name: '编辑' }).count(), 0, 'district staff cannot edit a city field');
    await libraryField.getByRole('button', { name: '区级调整' }).waitFor();
    await admin.page.screenshot({ path: screenshotPath('forms-field-library'), fullPage: true });

    assert.deepEqual(parent.problems, [], 'no page errors on the parents\' page');
    assert.deepEqual(admin.problems, [], 'no page errors in the admin app');
    await parent.context.close();
    await admin.context.close();
  });
});
