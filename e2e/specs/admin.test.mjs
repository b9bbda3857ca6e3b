// Browser test of the staff admin app (管理端). A parent registers two
// children (one in 徐汇区, one in 长宁区) and applies for the 徐汇 child
// through the edge's API. Then district and city admins sign in through the
// development sign-in, and each must see only what their data scope allows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const xuhui = { code: '310104', name: '徐汇区' };
const changning = { code: '310105', name: '长宁区' };
const storedRegistrationStatuses = ['recorded', 'verified', 'needs_manual_verification'];
const storedApplicationStatuses = ['recorded', 'documents_verified', 'returned', 'admitted', 'not_admitted'];

// GB 11643 weights of the first 17 digits and the check characters by the
// weighted sum modulo 11.
const idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const idCheckCharacters = '10X98765432';

/** Builds a valid 18-digit resident ID. The parity of the 17th digit encodes the sex (odd for male). */
function residentID(areaCode, birthDate, sex) {
  const sequence = String(randomInt(0, 50) * 2 + (sex === 'M' ? 1 : 0)).padStart(3, '0');
  const first17 = areaCode + birthDate.replaceAll('-', '') + sequence;
  const sum = [...first17].reduce((total, digit, index) => total + Number(digit) * idWeights[index], 0);
  return first17 + idCheckCharacters[sum % 11];
}

/** A cookie jar for fetch, which keeps no cookies of its own. */
class CookieJar {
  cookies = new Map();

  store(response) {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const separator = pair.indexOf('=');
      this.cookies.set(pair.slice(0, separator).trim(), pair.slice(separator + 1).trim());
    }
  }

  header() {
    return [...this.cookies].filter(([, value]) => value !== '').map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/** A parent's client of the edge API, signed in through the identity simulator without a browser. */
class ParentClient {
  jar = new CookieJar();

  constructor(edgeURL) {
    this.edgeURL = edgeURL;
  }

  async fetchManual(url) {
    const response = await fetch(url, { redirect: 'manual', headers: { Cookie: this.jar.header() } });
    this.jar.store(response);
    return response;
  }

  async signIn(subject) {
    const login = await this.fetchManual(`${this.edgeURL}/auth/login?return=/`);
    assert.equal(login.status, 302, 'edge /auth/login redirects to the identity service');
    const authorize = await this.fetchManual(`${login.headers.get('location')}&login_hint=${encodeURIComponent(subject)}`);
    assert.equal(authorize.status, 302, 'identity /authorize with login_hint redirects to the edge callback');
    const callback = await this.fetchManual(authorize.headers.get('location'));
    assert.equal(callback.status, 302, 'edge /auth/callback redirects after sign-in');
    assert.ok(this.jar.cookies.get('ps_session'), 'edge sets the ps_session cookie');
  }

  async call(method, path, body) {
    const headers = { Accept: 'application/json', Cookie: this.jar.header() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(this.edgeURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const payload = text ? JSON.parse(text) : null;
    if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
    return payload;
  }

  /** Polls a receipt until its status is one of `statuses`, for at most 30 s. */
  async waitForStatus(number, statuses) {
    const deadline = Date.now() + 30_000;
    let receipt;
    while (Date.now() < deadline) {
      receipt = await this.call('GET', `/api/v1/receipts/${number}`);
      if (statuses.includes(receipt.status)) return receipt;
      await new Promise((wait) => setTimeout(wait, 250));
    }
    throw new Error(`receipt ${number} still ${receipt?.status} after 30 s; expected one of ${statuses.join(', ')}`);
  }
}

/**
 * Finds an address in the district (street, committee) matched to at least
 * two campuses, so the application can rank more than one choice.
 */
async function findMatchedAddress(parent, districtCode) {
  const streets = await parent.call('GET', `/api/v1/districts/${districtCode}/streets`);
  for (const street of streets.slice(0, 40)) {
    const committees = await parent.call('GET', `/api/v1/streets/${street.code}/committees`);
    const committeeCode = committees[0]?.code || '';
    const query = new URLSearchParams({ district: districtCode, street: street.code, committee: committeeCode });
    const { campuses } = await parent.call('GET', `/api/v1/matching?${query}`);
    if (campuses.length >= 2) return { streetCode: street.code, committeeCode };
  }
  throw new Error(`no address in district ${districtCode} is matched to two campuses`);
}

function registrationBody({ year, birthDate, childName, sex, district, address, guardianID }) {
  const place = { districtCode: district.code, streetCode: address.streetCode, committeeCode: address.committeeCode };
  return {
    enrolmentYear: year,
    schemaVersion: 1,
    child: {
      name: childName,
      sex,
      birthDate,
      document: { type: 'resident_id', number: residentID(district.code, birthDate, sex), nationality: 'CHN' },
      hukou: { inShanghai: true, ...place, address: '测试路100弄3号', province: '' },
    },
    residence: { ...place, address: '测试路100弄3号502室', atHukouAddress: true },
    guardians: [{
      relation: 'mother',
      name: '王芳',
      phone: '13900000000',
      document: { type: 'resident_id', number: guardianID },
      hukouInShanghai: true,
    }],
    certificates: [],
    extra: {},
  };
}

/** Creates the two registrations and the application, and waits until the back office stored them. */
async function createEnrolmentData(edgeURL) {
  const parent = new ParentClient(edgeURL);
  await parent.signIn('demo-parent-02');
  const catalogue = await parent.call('GET', '/api/v1/catalogue');
  const { year, birthFrom } = catalogue.year;
  assert.ok(catalogue.year.registrationOpen, 'the demo seed opens registration');

  // Both children are born a month into the catalogue's birth window.
  const birth = new Date(`${birthFrom}T00:00:00Z`);
  birth.setUTCMonth(birth.getUTCMonth() + 1);
  const birthDate = birth.toISOString().slice(0, 10);
  const guardianID = residentID('310104', '1990-05-12', 'F');

  const xuhuiAddress = await findMatchedAddress(parent, xuhui.code);
  const changningAddress = await findMatchedAddress(parent, changning.code);
  const xuhuiReceipt = await parent.call('POST', '/api/v1/registrations', registrationBody({
    year, birthDate, childName: '林小雨', sex: 'F', district: xuhui, address: xuhuiAddress, guardianID,
  }));
  const changningReceipt = await parent.call('POST', '/api/v1/registrations', registrationBody({
    year, birthDate, childName: '陈一鸣', sex: 'M', district: changning, address: changningAddress, guardianID,
  }));
  const xuhuiNumber = xuhuiReceipt.receiptNumber;
  const changningNumber = changningReceipt.receiptNumber;
  await parent.waitForStatus(xuhuiNumber, storedRegistrationStatuses);
  await parent.waitForStatus(changningNumber, storedRegistrationStatuses);

  const options = await parent.call('GET', `/api/v1/registrations/${xuhuiNumber}/options?district=${xuhui.code}`);
  assert.ok(options.open, `the ${xuhui.name} entry ${options.categoryCode} is open`);
  const choices = options.campuses.slice(0, Math.min(2, options.maxChoices));
  assert.equal(choices.length, 2, 'the 徐汇 address is matched to two campuses');
  const applicationReceipt = await parent.call('POST', '/api/v1/applications', {
    registrationNumber: xuhuiNumber,
    districtCode: xuhui.code,
    categoryCode: options.categoryCode,
    campusChoices: choices.map((campus) => campus.id),
    schemaVersion: 1,
    extra: {},
  });
  const applicationNumber = applicationReceipt.receiptNumber;
  await parent.waitForStatus(applicationNumber, storedApplicationStatuses);

  return {
    xuhuiNumber,
    changningNumber,
    applicationNumber,
    choiceNames: choices.map((campus) => `${campus.kindergartenName}（${campus.campusName}）`),
  };
}

/**
 * Opens a fresh browser context at 1366×768, a common office laptop screen,
 * in a time zone far from Shanghai, so the test shows that times are
 * converted, and records page errors and CSP violations.
 */
async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'America/New_York' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx response as "Failed to load resource", and the
    // test expects some: 401 before sign-in, 403 for another district's number.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  return { context, page, problems };
}

async function devSignIn(page, level, districtName) {
  // The password sign-in is the first tab; the development sign-in is the second.
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: level === 'city' ? '市级管理员' : '区级管理员' }).check({ force: true });
  if (districtName) {
    await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${districtName}$`) }).click();
  }
  await page.getByRole('button', { name: '登录', exact: true }).click();
}

function registrationRow(page, number) {
  return page.locator('.registrations .el-table__body tr', { hasText: number });
}

function applicationRow(page, number) {
  return page.locator('.applications .el-table__body tr', { hasText: number });
}

// Headless Chromium draws overlay scroll bars, which take no width, while
// the vertical scroll bar of a desktop browser on Windows takes 17 px once
// the list is a page long.
const desktopScrollBarWidth = 17;

/**
 * Checks that a list fits its card at the viewport's width less a desktop
 * scroll bar: no horizontal scroll, the column named timeHeader ends inside
 * the table, and no time is clipped.
 */
async function assertTableFits(page, tableClass, timeHeader) {
  const viewport = page.viewportSize();
  await page.setViewportSize({ width: viewport.width - desktopScrollBarWidth, height: viewport.height });
  try {
    await checkTableFits(page, tableClass, timeHeader);
  } finally {
    await page.setViewportSize(viewport);
  }
}

async function checkTableFits(page, tableClass, timeHeader) {
  const table = page.locator(`.${tableClass}`);
  const wrap = table.locator('.el-table__body-wrapper .el-scrollbar__wrap');
  // Element Plus lays the table out again shortly after a resize.
  let widths;
  for (const deadline = Date.now() + 3_000; Date.now() < deadline; await page.waitForTimeout(100)) {
    widths = await wrap.evaluate((element) => ({ scrollWidth: element.scrollWidth, clientWidth: element.clientWidth }));
    if (widths.scrollWidth <= widths.clientWidth) break;
  }
  assert.ok(widths.scrollWidth <= widths.clientWidth,
    `${tableClass} scrolls sideways: ${widths.scrollWidth} px of content in ${widths.clientWidth} px`);

  const tableBox = await table.boundingBox();
  const headerBox = await table.locator('.el-table__header th', { hasText: timeHeader }).boundingBox();
  assert.ok(headerBox.x + headerBox.width <= tableBox.x + tableBox.width + 1,
    `${timeHeader} ends at ${headerBox.x + headerBox.width} px, past the table's right edge at ${tableBox.x + tableBox.width} px`);

  const clipped = await table.locator('.el-table__body td.time-column .cell').evaluateAll((cells) =>
    cells.filter((cell) => cell.scrollWidth > cell.clientWidth).map((cell) => cell.innerText));
  assert.deepEqual(clipped, [], `${timeHeader} cells are clipped`);
}

async function chooseFilterDistrict(page, label, districtName) {
  await page.locator('.filters .el-form-item', { hasText: label }).locator('.el-select').click();
  await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${districtName}$`) }).click();
  await page.getByRole('button', { name: '查询', exact: true }).click();
}

function assertScreenshot(name) {
  const size = statSync(screenshotPath(name)).size;
  assert.ok(size > 10_000, `${name}.png has ${size} bytes; expected a real screenshot`);
}

const shanghaiTime = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
});

describe('admin app', () => {
  let stack;
  let browser;
  let data;

  before(async () => {
    stack = await startStack();
    data = await createEnrolmentData(stack.edgeURL);
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('admin-registrations')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('district admin sees own district only', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    await page.goto(`${base}/enrolment/registrations`);
    await page.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.get('redirect') === '/enrolment/registrations');
    await devSignIn(page, 'district', xuhui.name);
    await page.waitForURL(`${base}/enrolment/registrations`);

    const header = page.locator('.header');
    await header.getByText('上海市学前教育管理系统').waitFor();
    assert.match(await header.innerText(), /徐汇区管理员/);
    assert.match(await header.innerText(), /数据范围：徐汇区/);

    const row = registrationRow(page, data.xuhuiNumber);
    await row.waitFor();
    assert.equal(await registrationRow(page, data.changningNumber).count(), 0, '长宁 registration is hidden from 徐汇');
    const cells = await row.locator('td').allInnerTexts();
    const childName = cells[1];
    assert.match(childName, /\*/, `child name ${childName} is masked`);
    assert.ok(!childName.includes('小'), `child name ${childName} hides the middle character`);
    assert.ok(['已入库', '已核验', '待人工核验'].includes(cells[8].trim()), `status cell ${cells[8]} is a stored status label`);
    assert.match(cells[9], /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/, `accepted time ${cells[9]} is YYYY-MM-DD HH:mm:ss`);
    assert.equal(await page.locator('.filters .el-form-item__label', { hasText: '所在区' }).count(), 0,
      'district staff get no district filter');
    await assertTableFits(page, 'registrations', '受理时间');

    // The drawer fetches the registration and shows the Shanghai time of
    // acceptance, whatever the browser's own time zone.
    await row.getByRole('button', { name: '详情' }).click();
    const drawer = page.locator('.registration-drawer');
    await drawer.getByText('居民身份证', { exact: true }).waitFor();
    const drawerText = await drawer.innerText();
    assert.match(drawerText, new RegExp(`登记详情 · ${data.xuhuiNumber}`));
    const accepted = drawerText.match(/受理时间\s+(\S+ \S+)/)[1];
    assert.equal(cells[9].trim(), accepted, 'list and drawer show the same acceptance time');
    const registration = await page.evaluate(
      (number) => fetch(`/api/v1/registrations/${number}`).then((response) => response.json()), data.xuhuiNumber);
    assert.equal(accepted, shanghaiTime.format(new Date(registration.acceptedAt)), 'acceptance time is shown in Asia/Shanghai');
    await drawer.locator('.el-drawer__close-btn').click();
    await drawer.waitFor({ state: 'hidden' });

    // Looking up the 长宁 number returns 403 with the back office's message,
    // shown once: under the field, with no message box as well.
    const lookupAnswer = page.waitForResponse((response) => response.url().endsWith(`/api/v1/registrations/${data.changningNumber}`));
    await page.getByPlaceholder('请输入登记编号').fill(data.changningNumber);
    await page.getByRole('button', { name: '查找', exact: true }).click();
    assert.equal((await lookupAnswer).status(), 403);
    const lookupError = page.locator('.lookup .el-form-item__error');
    await lookupError.waitFor();
    assert.match(await lookupError.innerText(), /不在您的管辖范围内/);
    await page.waitForTimeout(300);
    assert.equal(await page.locator('.el-message').count(), 0, 'the refused look-up also showed a message box');
    assert.equal(await page.getByText('该数据不在您的管辖范围内，您无权查看或操作。').count(), 1, 'the refused look-up is shown more than once');
    await page.screenshot({ path: screenshotPath('admin-registrations'), fullPage: true });
    assertScreenshot('admin-registrations');

    await page.locator('.el-menu-item', { hasText: '报名信息' }).click();
    await page.waitForURL(`${base}/enrolment/applications`);
    const xuhuiApplication = applicationRow(page, data.applicationNumber);
    await xuhuiApplication.waitFor();
    const choices = await xuhuiApplication.locator('.choices li').allInnerTexts();
    assert.deepEqual(choices.map((choice) => choice.replace(/\s+/g, '')),
      data.choiceNames.map((name, index) => `${['志愿一', '志愿二'][index]}${name}`), 'choices are shown ranked');
    assert.match(await xuhuiApplication.innerText(), new RegExp(data.xuhuiNumber));
    assert.equal(await page.locator('.filters .el-form-item__label', { hasText: '报名区' }).count(), 0,
      'district staff get no district filter on applications');
    await assertTableFits(page, 'applications', '受理和入库时间');
    await page.screenshot({ path: screenshotPath('admin-applications'), fullPage: true });
    assertScreenshot('admin-applications');

    // History-mode routes survive a reload.
    await page.reload();
    await xuhuiApplication.waitFor();

    await page.getByRole('button', { name: '退出', exact: true }).click();
    await page.waitForURL(`${base}/sign-in`);
    await page.goto(`${base}/enrolment/applications`);
    await page.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.get('redirect') === '/enrolment/applications');

    assert.deepEqual(problems, []);
    await context.close();
  });

  test('city admin sees every district', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    await page.goto(`${base}/sign-in`);
    await devSignIn(page, 'city');
    await page.waitForURL(`${base}/enrolment/registrations`);
    assert.match(await page.locator('.header').innerText(), /数据范围：全市/);
    await registrationRow(page, data.xuhuiNumber).waitFor();
    await registrationRow(page, data.changningNumber).waitFor();

    // The district filter narrows the list to 长宁区 and keeps it in the URL.
    await chooseFilterDistrict(page, '所在区', changning.name);
    await page.waitForURL(/district=310105/);
    await registrationRow(page, data.changningNumber).waitFor();
    await registrationRow(page, data.xuhuiNumber).waitFor({ state: 'detached' });

    // The application list has a district filter of its own: the 徐汇
    // application is hidden under 长宁区 and shown under 徐汇区.
    await page.locator('.el-menu-item', { hasText: '报名信息' }).click();
    await page.waitForURL(`${base}/enrolment/applications`);
    await applicationRow(page, data.applicationNumber).waitFor();
    await assertTableFits(page, 'applications', '受理和入库时间');
    const filtered = page.waitForResponse((response) => response.url().includes('/api/v1/applications?')
      && new URL(response.url()).searchParams.get('district') === changning.code);
    await chooseFilterDistrict(page, '报名区', changning.name);
    assert.equal((await filtered).status(), 200);
    await page.waitForURL(/\/enrolment\/applications\?.*district=310105/);
    await page.locator('.applications .el-table__empty-text').waitFor();
    assert.equal(await applicationRow(page, data.applicationNumber).count(), 0, 'the 徐汇 application is listed under 长宁区');
    await chooseFilterDistrict(page, '报名区', xuhui.name);
    await page.waitForURL(/district=310104/);
    await applicationRow(page, data.applicationNumber).waitFor();

    assert.deepEqual(problems, []);
    await context.close();
  });
});
