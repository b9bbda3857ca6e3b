// 补报名 by camera. Chromium's fake camera plays a Y4M file that the test
// writes before each scan, showing a QR code as a registration form's. The
// 徐汇 district admin opens the camera dialog three times: a QR code of a
// web address is rejected inside the dialog, a registration number with a
// wrong check digit gets the look-up's check-digit message, and the real
// registration number shows the registration. After each scan or close
// every camera track has ended. Last, an insecure context and a camera
// the browser may not use each get their message, and typing the number
// still finds the registration.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSignedIn } from '../admin.mjs';
import { qrVideo } from '../files.mjs';
import { ParentClient, registerChild } from '../parent.mjs';
import { launchBrowser, screenshotPath, startStack } from '../stack.mjs';

let stack;
let browser;
let directory;
let videoPath;
let registration;

// Records the streams that getUserMedia returns, so the test can check
// that the page stopped their tracks.
function recordCameraStreams() {
  const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.cameraStreams = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const stream = await getUserMedia(constraints);
    window.cameraStreams.push(stream);
    return stream;
  };
}

before(async () => {
  stack = await startStack();
  directory = await mkdtemp(join(tmpdir(), 'preschool-camera-'));
  videoPath = join(directory, 'camera.y4m');
  await writeFile(videoPath, qrVideo('placeholder'));
  browser = await launchBrowser({
    args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${videoPath}`],
  });
  const parent = new ParentClient(stack.edgeURL);
  await parent.signIn('parent-camera');
  registration = await registerChild(parent);
  await parent.waitForStatus(registration, ['recorded', 'verified', 'needs_manual_verification']);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

/**
 * Opens the supplement page in target as the 徐汇 admin, with initScript,
 * when given, run on every load.
 */
async function openSupplement(initScript, target = browser) {
  const opened = await openSignedIn(target, stack.backOfficeURL, 'district', '/review/supplement');
  if (initScript) {
    await opened.context.addInitScript(initScript);
    await opened.page.reload();
  }
  await opened.page.locator('input[data-test="supplement-number"]').waitFor();
  return opened;
}

/** Asserts that the page opened the camera count times and stopped every track. */
async function assertCameraStopped(page, count) {
  await page.waitForFunction(() => window.cameraStreams.every((stream) => stream.getTracks().every((track) => track.readyState === 'ended')));
  assert.equal(await page.evaluate(() => window.cameraStreams.length), count, 'camera opened once per scan');
}

test('camera scan fills the number and looks it up', async () => {
  const { page, problems } = await openSupplement(recordCameraStreams);
  const dialog = page.locator('[data-test="qr-scan-dialog"]');
  const camera = page.locator('[data-test="supplement-camera"]');

  await writeFile(videoPath, qrVideo('https://example.invalid/not-a-form'));
  await camera.click();
  await dialog.locator('[data-test="qr-scan-notice"]', { hasText: '不是登记编号' }).waitFor();
  await page.screenshot({ path: screenshotPath('supplement-camera-not-a-number') });
  await dialog.getByRole('button', { name: '关闭', exact: true }).click();
  await dialog.waitFor({ state: 'hidden' });
  await assertCameraStopped(page, 1);

  const lastDigit = Number(registration.at(-1));
  const mistyped = registration.slice(0, -1) + String((lastDigit + 1) % 10);
  await writeFile(videoPath, qrVideo(mistyped));
  await camera.click();
  await page.locator('.el-message--error', { hasText: '编号校验位不正确' }).waitFor();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal(await page.locator('input[data-test="supplement-number"]').inputValue(), mistyped);
  await assertCameraStopped(page, 2);

  await writeFile(videoPath, qrVideo(registration));
  const optionsLoaded = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/v1/supplementary/options');
  await camera.click();
  await optionsLoaded;
  const card = page.locator('[data-test="supplement-registration"]');
  await card.getByText(registration).waitFor();
  assert.match(await card.innerText(), /周\*安/, 'the look-up shows the masked child name');
  await page.locator('[data-test="supplement-form"]').waitFor();
  assert.equal(await page.locator('input[data-test="supplement-number"]').inputValue(), registration);
  await assertCameraStopped(page, 3);
  await page.screenshot({ path: screenshotPath('supplement-camera-found'), fullPage: true });
  assert.deepEqual(problems, []);
});

test('without a camera the typed number still works', async () => {
  const cases = [
    { name: 'insecure context', message: 'HTTPS', init: () => Object.defineProperty(window, 'isSecureContext', { value: false }) },
    // Without --use-fake-ui-for-media-stream, headless Chromium dismisses
    // the permission prompt, so getUserMedia fails with NotAllowedError.
    { name: 'camera denied', message: '未获准使用摄像头', args: ['--use-fake-device-for-media-stream'] },
    // Without the fake device, a machine with no video device has no
    // camera, so getUserMedia fails with NotFoundError.
    { name: 'no camera', message: '未检测到摄像头', args: ['--use-fake-ui-for-media-stream'] },
  ];
  for (const { name, message, init, args } of cases) {
    const target = args ? await launchBrowser({ args }) : browser;
    try {
      const { page, problems } = await openSupplement(init, target);
      await page.locator('[data-test="supplement-camera"]').click();
      const dialog = page.locator('[data-test="qr-scan-dialog"]');
      await dialog.locator('[data-test="qr-scan-problem"]', { hasText: message }).waitFor();
      await page.screenshot({ path: screenshotPath(`supplement-camera-${name.replaceAll(' ', '-')}`) });
      await dialog.getByRole('button', { name: '关闭', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });

      const scan = page.locator('input[data-test="supplement-number"]');
      await scan.fill(registration);
      await scan.press('Enter');
      await page.locator('[data-test="supplement-registration"]').getByText(registration).waitFor();
      assert.deepEqual(problems, [], name);
    } finally {
      if (target !== browser) await target.close();
    }
  }
});
