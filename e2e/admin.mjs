// The admin app's side of the browser tests: a page signed in through the
// development sign-in.
import { xuhui } from './parent.mjs';

/**
 * Opens path in the admin app as a city admin or the 徐汇 district admin,
 * through the development sign-in. Returns { context, page, problems }.
 */
export async function openSignedIn(browser, base, level, path = '/review/returns') {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(`${base}${path}`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByRole('tab', { name: '开发登录' }).click();
  await page.getByRole('radio', { name: level === 'city' ? '市级管理员' : '区级管理员' }).check({ force: true });
  if (level === 'district') {
    await page.locator('.el-form-item', { hasText: '所在区' }).locator('.el-select').click();
    await page.locator('.el-select-dropdown__item:visible', { hasText: new RegExp(`^${xuhui.name}$`) }).click();
  }
  await page.getByRole('button', { name: '登录', exact: true }).click();
  await page.waitForURL(`${base}${path}`);
  return { context, page, problems };
}
