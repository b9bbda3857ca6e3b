// Browser test of staff sign-in, role menus and the audit trail in the
// admin app (管理端). Demo accounts sign in with their password and a TOTP
// code that the test computes from the secret the enrolment page shows.
// The 徐汇 district admin overrides a city dictionary item and edits the
// override. The security admin creates an auditor account, whose first
// sign-in must change the temporary password. That auditor's menu holds
// only the audit trail and the sign-in log, and the trail shows both
// writes with their actors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

const demoPassword = 'Shanghai#Demo2025';

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function decodeBase32(text) {
  let bits = '';
  for (const character of text.replace(/[\s=]/g, '').toUpperCase()) {
    const value = base32Alphabet.indexOf(character);
    if (value < 0) throw new Error(`invalid base32 character ${character} in the TOTP secret`);
    bits += value.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** Returns the RFC 6238 code of a base32 secret: HMAC-SHA1, 30-second steps, 6 digits. */
function totpCode(secret, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', decodeBase32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, '0');
}

/**
 * Opens a fresh browser context at 1366×768 and records page errors and
 * console errors other than Chromium's notes on 4xx responses.
 */
async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  return { context, page, problems };
}

/**
 * Signs in through the password step and the first-time TOTP enrolment,
 * and returns the enrolment secret. The QR code must be drawn.
 */
async function signInFirstTime(page, base, username, password, screenshot = '') {
  await page.goto(`${base}/sign-in`);
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  await page.getByRole('button', { name: '下一步', exact: true }).click();

  await page.getByText('首次登录：绑定动态验证码').waitFor();
  const qr = page.getByAltText('动态验证码绑定二维码');
  await qr.waitFor();
  assert.match(await qr.getAttribute('src'), /^data:image\/png;base64,/, 'the QR code is a PNG drawn in the browser');
  assert.ok(await qr.evaluate((image) => image.complete && image.naturalWidth >= 100), 'the QR code image loaded');
  const secret = (await page.locator('[data-secret]').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/, `enrolment secret ${secret} is 32 base32 characters`);

  if (screenshot) {
    await page.screenshot({ path: screenshotPath(screenshot), fullPage: true });
    assertScreenshot(screenshot);
  }
  await page.locator('input[name="code"]').fill(totpCode(secret));
  await page.getByRole('button', { name: '验证并登录', exact: true }).click();
  return secret;
}

async function menuItems(page) {
  await page.locator('.menu .el-menu-item').first().waitFor();
  return (await page.locator('.menu .el-menu-item').allInnerTexts()).map((text) => text.trim());
}

async function signOut(page, base) {
  await page.getByRole('button', { name: '退出', exact: true }).click();
  await page.waitForURL(`${base}/sign-in`);
}

function assertScreenshot(name) {
  const size = statSync(screenshotPath(name)).size;
  assert.ok(size > 10_000, `${name}.png has ${size} bytes; expected a real screenshot`);
}

describe('admin accounts and audit trail', () => {
  let stack;
  let browser;
  const overrideLabel = `测试覆盖项${randomBytes(2).toString('hex')}`;
  const editedLabel = `${overrideLabel}（已修改）`;
  const newAuditor = { username: `e2e.auditor.${randomBytes(2).toString('hex')}`, name: '浏览器测试审计员' };

  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    mkdirSync(dirname(screenshotPath('admin-audit-events')), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('district admin overrides a dictionary item', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    // A wrong password is rejected with the back office's Chinese message.
    await page.goto(`${base}/sign-in`);
    await page.locator('input[name="username"]').fill('xuhui.admin');
    await page.locator('input[name="password"]').fill('Wrong#Password1');
    await page.getByRole('button', { name: '下一步', exact: true }).click();
    await page.locator('.el-alert--error', { hasText: '用户名或密码不正确' }).waitFor();

    await signInFirstTime(page, base, 'xuhui.admin', demoPassword, 'admin-totp-enrolment');
    await page.waitForURL(`${base}/enrolment/registrations`);
    assert.match(await page.locator('.header').innerText(), /徐汇区管理员（演示）/);

    const menu = await menuItems(page);
    for (const item of ['登记信息', '报名信息', '组织机构', '数据字典']) assert.ok(menu.includes(item), `menu ${menu} has ${item}`);
    for (const item of ['用户管理', '角色权限', '审计日志', '登录日志']) assert.ok(!menu.includes(item), `menu ${menu} lacks ${item}`);

    // The organisation tree starts at the admin's own district, and a
    // search opens the tree down to the kindergarten it finds.
    await page.locator('.el-menu-item', { hasText: '组织机构' }).click();
    await page.waitForURL(`${base}/basedata/org`);
    const districtNode = page.locator('.org-tree .el-tree-node__content', { hasText: '徐汇区' });
    await districtNode.waitFor();
    assert.equal(await page.locator('.org-tree > .el-tree-node').count(), 1, 'a district admin sees one district');
    await districtNode.locator('.el-tree-node__expand-icon').click();
    const streetNode = page.locator('.org-tree .el-tree-node__children .el-tree-node__content').first();
    await streetNode.waitFor();
    await streetNode.click();
    await page.locator('.facts', { hasText: '街道（镇）' }).waitFor();
    const kindergartenName = await page.evaluate(async () => {
      const districts = await (await fetch('/api/v1/org/tree')).json();
      const streets = await (await fetch(`/api/v1/org/tree?parent=${districts.nodes[0].id}`)).json();
      const street = streets.nodes.find((node) => node.childCount > 0);
      const kindergartens = await (await fetch(`/api/v1/org/tree?parent=${street.id}`)).json();
      return kindergartens.nodes[0].name;
    });
    await page.getByPlaceholder('输入区、街道（镇）、幼儿园或办园点名称搜索').fill(kindergartenName);
    await page.getByRole('button', { name: '搜索', exact: true }).click();
    await page.locator('.result-list li', { hasText: kindergartenName }).first().click();
    await page.locator('.org-tree .el-tree-node.is-current > .el-tree-node__content', { hasText: kindergartenName }).waitFor();
    // The street opens with a 0.3 s transition, which the screenshot waits for.
    await page.waitForTimeout(500);
    assert.match(await page.locator('.facts').innerText(), /统一社会信用代码/, 'the kindergarten details are shown');
    await page.screenshot({ path: screenshotPath('admin-org-tree'), fullPage: true });
    assertScreenshot('admin-org-tree');

    // A page outside the role's permissions is replaced by the no-access page.
    await page.goto(`${base}/audit/events`);
    await page.waitForURL((url) => url.pathname === '/no-access');
    await page.getByText('您的角色没有此页面的权限').waitFor();

    await page.locator('.el-menu-item', { hasText: '数据字典' }).click();
    await page.waitForURL((url) => url.pathname === '/basedata/dictionaries' && url.searchParams.has('code'));
    await page.getByRole('tab', { name: /市级字典项/ }).click();
    const cityRow = page.locator('.city-items .el-table__body tr').first();
    await cityRow.waitFor();
    const value = (await cityRow.locator('td').first().innerText()).trim();
    await cityRow.getByRole('button', { name: '区级覆盖' }).click();

    const dialog = page.locator('.dictionary-item-dialog');
    await dialog.getByText('新增区级覆盖项').waitFor();
    assert.equal(await dialog.locator('input[name="value"]').inputValue(), value, 'the override takes the city item value');
    await dialog.locator('input[name="label"]').fill(overrideLabel);
    await dialog.getByRole('button', { name: '保存', exact: true }).click();
    await page.locator('.el-message--success', { hasText: '字典项已新增' }).waitFor();

    await page.getByRole('tab', { name: /区级覆盖项/ }).click();
    const overrideRow = page.locator('.override-items .el-table__body tr', { hasText: overrideLabel });
    await overrideRow.waitFor();
    await overrideRow.getByRole('button', { name: '编辑' }).click();
    await dialog.getByText('编辑字典项').waitFor();
    await dialog.locator('input[name="label"]').fill(editedLabel);
    await dialog.getByRole('button', { name: '保存', exact: true }).click();
    await page.locator('.el-message--success', { hasText: '字典项已保存' }).waitFor();
    await page.locator('.override-items .el-table__body tr', { hasText: editedLabel }).waitFor();

    await page.getByRole('tab', { name: '生效字典项' }).click();
    const effective = page.locator('.effective-items .el-table__body tr', { hasText: editedLabel });
    await effective.waitFor();
    assert.match(await effective.innerText(), /区级覆盖/, 'the effective item comes from the override');
    await page.screenshot({ path: screenshotPath('admin-dictionaries'), fullPage: true });
    assertScreenshot('admin-dictionaries');

    await signOut(page, base);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('city admin edits city items and overrides', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    await signInFirstTime(page, base, 'city.admin', demoPassword);
    await page.waitForURL(`${base}/enrolment/registrations`);
    await page.locator('.el-menu-item', { hasText: '数据字典' }).click();
    await page.locator('.dictionaries .el-table__body tr', { hasText: '民族' }).click();
    await page.waitForURL(/code=ethnicity/);

    // A city item's new label is what the city's forms show.
    await page.getByRole('tab', { name: /市级字典项/ }).click();
    const cityRow = page.locator('.city-items .el-table__body tr').last();
    await cityRow.waitFor();
    assert.equal(await cityRow.getByRole('button', { name: '区级覆盖' }).count(), 0, 'no override without a district chosen');
    const cityLabel = `${(await cityRow.locator('td').nth(1).innerText()).trim()}（测试）`;
    await cityRow.getByRole('button', { name: '编辑' }).click();
    const dialog = page.locator('.dictionary-item-dialog');
    await dialog.locator('input[name="label"]').fill(cityLabel);
    await dialog.getByRole('button', { name: '保存', exact: true }).click();
    await page.locator('.el-message--success', { hasText: '字典项已保存' }).waitFor();
    await page.getByRole('tab', { name: '生效字典项' }).click();
    await page.locator('.effective-items .el-table__body tr', { hasText: cityLabel }).waitFor();

    // With 长宁区 chosen, a new item is that district's own override, and
    // deleting it removes it from the district's forms again.
    await page.locator('.district-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^长宁区$/ }).click();
    await page.waitForURL(/district=310105/);
    await page.getByRole('button', { name: '新增区级覆盖项' }).click();
    await dialog.getByText('新增区级覆盖项 · 民族 · 长宁区').waitFor();
    await dialog.locator('input[name="value"]').fill('e2e01');
    await dialog.locator('input[name="label"]').fill('长宁测试项');
    await dialog.getByRole('button', { name: '保存', exact: true }).click();
    await page.locator('.el-message--success', { hasText: '字典项已新增' }).waitFor();
    const effective = page.locator('.effective-items .el-table__body tr', { hasText: '长宁测试项' });
    await effective.waitFor();
    assert.match(await effective.innerText(), /区级覆盖/);

    await page.getByRole('tab', { name: /区级覆盖项/ }).click();
    const override = page.locator('.override-items .el-table__body tr', { hasText: '长宁测试项' });
    assert.match(await override.innerText(), /本区新增/, 'an override with a new value is the district\'s own item');
    await override.getByRole('button', { name: '删除' }).click();
    await page.locator('.el-message-box').getByRole('button', { name: '删除' }).click();
    await page.locator('.el-message--success', { hasText: '字典项已删除' }).waitFor();
    await override.waitFor({ state: 'detached' });
    await page.getByRole('tab', { name: '生效字典项' }).click();
    assert.equal(await effective.count(), 0, 'the deleted override is gone from the district\'s items');

    await signOut(page, base);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('security admin creates an auditor account', async () => {
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    await signInFirstTime(page, base, 'security.admin', demoPassword);
    await page.waitForURL(`${base}/system/staff`);
    assert.deepEqual(await menuItems(page), ['用户管理', '角色权限', '组织机构']);

    await page.locator('.staff-list .el-table__body tr', { hasText: 'xuhui.admin' }).waitFor();
    await page.getByRole('button', { name: '新建用户' }).click();
    const dialog = page.locator('.staff-dialog');
    await dialog.locator('input[name="username"]').fill(newAuditor.username);
    await dialog.locator('input[name="displayName"]').fill(newAuditor.name);
    await dialog.locator('.el-form-item', { hasText: '角色' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^审计员$/ }).click();
    await dialog.getByText('无业务数据').waitFor();
    await page.screenshot({ path: screenshotPath('admin-staff-create'), fullPage: true });
    assertScreenshot('admin-staff-create');
    await dialog.getByRole('button', { name: '保存', exact: true }).click();

    const passwordDialog = page.locator('.temporary-password-dialog');
    await passwordDialog.getByText('仅显示这一次').waitFor();
    newAuditor.password = (await page.locator('[data-temporary-password]').innerText()).trim();
    assert.ok(newAuditor.password.length >= 12, 'the temporary password is shown');
    await passwordDialog.getByRole('button', { name: '我已记下' }).click();
    const row = page.locator('.staff-list .el-table__body tr', { hasText: newAuditor.username });
    await row.waitFor();
    assert.match(await row.innerText(), /审计员[\s\S]*未绑定[\s\S]*待修改/, 'the new account has no TOTP and must change its password');

    // A password reset shows a new temporary password once.
    const leader = page.locator('.staff-list .el-table__body tr', { hasText: 'leader' });
    await leader.getByRole('button', { name: '重置密码' }).click();
    await page.locator('.el-message-box').getByRole('button', { name: '确定' }).click();
    await passwordDialog.getByText('用户 leader 的临时密码').waitFor();
    const leaderPassword = (await page.locator('[data-temporary-password]').innerText()).trim();
    assert.ok(leaderPassword.length >= 12, `temporary password ${leaderPassword} has at least 12 characters`);
    assert.notEqual(leaderPassword, newAuditor.password, 'each temporary password is new');
    await passwordDialog.getByRole('button', { name: '我已记下' }).click();
    await passwordDialog.waitFor({ state: 'hidden' });
    assert.match(await leader.innerText(), /待修改/, 'the reset password must be changed at the next sign-in');

    // The security admin may not edit the permissions of their own role.
    await page.locator('.el-menu-item', { hasText: '角色权限' }).click();
    const ownRole = page.locator('.roles .el-table__body tr', { hasText: '安全管理员' });
    await ownRole.getByText('本人所属角色').waitFor();
    assert.equal(await ownRole.getByRole('button', { name: '配置权限' }).count(), 0);
    await page.locator('.roles .el-table__body tr', { hasText: '审计员' }).getByRole('button', { name: '配置权限' }).click();
    const roleDialog = page.locator('.role-dialog');
    await roleDialog.getByText('职责分离').waitFor();
    // The dialog fades in, which the screenshot waits for.
    await page.waitForTimeout(400);
    assert.ok(await roleDialog.getByRole('checkbox', { name: /查看报名登记/ }).isDisabled(),
      'business data permissions are closed to the auditor role');
    await page.screenshot({ path: screenshotPath('admin-roles'), fullPage: true });
    assertScreenshot('admin-roles');
    await roleDialog.getByRole('button', { name: '取消', exact: true }).click();

    await signOut(page, base);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('auditor sees both writes in the audit trail', async () => {
    assert.ok(newAuditor.password, 'the previous test created the auditor account');
    const { context, page, problems } = await openPage(browser);
    const base = stack.backOfficeURL;

    await signInFirstTime(page, base, newAuditor.username, newAuditor.password);
    await page.waitForURL((url) => url.pathname === '/change-password');
    await page.getByText('请先修改密码').waitFor();
    const newPassword = `Audit#${randomBytes(4).toString('hex')}Xy`;
    await page.locator('input[name="current-password"]').fill(newAuditor.password);
    await page.locator('input[name="new-password"]').fill(newPassword);
    await page.locator('input[name="confirm-password"]').fill(newPassword);
    await page.getByRole('button', { name: '确认修改', exact: true }).click();

    await page.waitForURL(`${base}/audit/events`);
    assert.deepEqual(await menuItems(page), ['审计日志', '登录日志'], 'an auditor sees only the audit menus');

    // The district admin's edit of the override, found by actor and action.
    await page.locator('.filters .el-form-item', { hasText: '操作人' }).locator('input').fill('xuhui.admin');
    await page.locator('.filters .el-form-item', { hasText: '操作' }).filter({ hasNotText: '操作人' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^修改字典项$/ }).click();
    const filtered = page.waitForResponse((response) => response.url().includes('/api/v1/audit-events?')
      && new URL(response.url()).searchParams.get('actor') === 'xuhui.admin');
    await page.getByRole('button', { name: '查询', exact: true }).click();
    assert.equal((await filtered).status(), 200);
    await page.waitForURL(/actor=xuhui\.admin/);
    const update = page.locator('.audit-events .el-table__body tr.el-table__row', { hasText: '修改字典项' });
    await update.waitFor();
    assert.equal(await update.count(), 1, 'one dictionary update by xuhui.admin');
    const updateText = await update.innerText();
    assert.match(updateText, /徐汇区管理员（演示）（xuhui\.admin）/);
    assert.match(updateText, /字典项 \d+/);
    assert.match(updateText, /徐汇区/);
    assert.match(updateText, /成功/);
    await update.locator('.el-table__expand-icon').click();
    const states = page.locator('.audit-events .states');
    await states.waitFor();
    assert.match(await states.innerText(), new RegExp(editedLabel.replace(/[()（）]/g, '.')), 'the new label is in the recorded state');
    await page.screenshot({ path: screenshotPath('admin-audit-events'), fullPage: true });
    assertScreenshot('admin-audit-events');

    // The security admin's creation of the account.
    await page.getByRole('button', { name: '重置', exact: true }).click();
    await page.locator('.filters .el-form-item', { hasText: '对象类型' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: /^账号$/ }).click();
    await page.locator('.filters .el-form-item', { hasText: '操作人' }).locator('input').fill('security.admin');
    const byAccount = page.waitForResponse((response) => response.url().includes('/api/v1/audit-events?')
      && new URL(response.url()).searchParams.get('actor') === 'security.admin');
    await page.getByRole('button', { name: '查询', exact: true }).click();
    assert.equal((await byAccount).status(), 200);
    const created = page.locator('.audit-events .el-table__body tr.el-table__row', { hasText: '创建账号' });
    await created.waitFor();
    assert.match(await created.innerText(), /安全管理员（演示）（security\.admin）/);

    // The export of the filtered events downloads as an xlsx workbook, a zip file.
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: '导出 Excel' }).click();
    const workbook = await download;
    assert.match(workbook.suggestedFilename(), /\.xlsx$/, `export file ${workbook.suggestedFilename()} is xlsx`);
    const bytes = readFileSync(await workbook.path());
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'PK', 'the export is a zip container');
    assert.ok(bytes.length > 3_000, `the export has ${bytes.length} bytes`);

    // The chain of the trail is intact.
    await page.getByRole('button', { name: '校验哈希链' }).click();
    await page.locator('.verify-dialog').getByText(/校验通过：共 \d+ 条记录/).waitFor();
    await page.locator('.verify-dialog').getByRole('button', { name: '关闭', exact: true }).click();

    // The export itself is in the trail, with the auditor as its actor.
    await page.getByRole('button', { name: '重置', exact: true }).click();
    const exported = page.locator('.audit-events .el-table__body tr.el-table__row', { hasText: '导出审计日志' });
    await exported.waitFor();
    assert.match(await exported.innerText(), new RegExp(newAuditor.name));

    // The sign-in log has the district admin's failed and successful attempts.
    await page.locator('.el-menu-item', { hasText: '登录日志' }).click();
    await page.waitForURL(`${base}/audit/login-log`);
    await page.locator('.filters input').first().fill('xuhui.admin');
    await page.getByRole('button', { name: '查询', exact: true }).click();
    await page.locator('.login-log .el-table__body tr', { hasText: '密码错误' }).waitFor();
    await page.locator('.login-log .el-table__body tr', { hasText: '动态验证码' }).first().waitFor();

    await signOut(page, base);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
