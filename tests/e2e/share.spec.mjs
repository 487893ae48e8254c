// Sharing a poll from the owner's page: the QR code reads back as exactly the invite link (read
// from a screenshot by an independent decoder, also on a 360 px phone and in dark mode), opening
// the decoded link elsewhere joins the poll, the copy button fills the clipboard, and the Share
// button appears only where the Web Share API exists and hands it the link and the poll's title.
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { test, expect } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

/** Screenshots the owner's QR code and decodes it; null when no code is found. */
async function readQr(page) {
  const png = PNG.sync.read(await page.getByTestId('share-qr').screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  return code?.data ?? null;
}

test('the QR code is the invite link, and the decoded link joins the poll', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link, pollId } = await createPoll(owner, { title: 'Scan me', options: ['Yes', 'No'] });
  const qr = owner.getByTestId('share-qr');
  await expect(qr).toBeVisible();
  await expect(qr).toHaveAttribute('role', 'img');
  await expect(qr).toHaveAttribute('aria-label', 'QR code of the invite link');
  await expect(owner.getByText('Invite link', { exact: true })).toBeVisible();
  const decoded = await readQr(owner);
  expect(decoded).toBe(link);

  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, decoded);
  await expect(ann.getByTestId('poll-page')).toHaveAttribute('data-poll-id', pollId);
  await expect(ann.getByTestId('poll-heading')).toHaveText('Scan me');
  await expect(owner.getByTestId('participant-count')).toHaveText('1');
});

test('the QR code scans on a 360 px phone and in dark mode', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await owner.setViewportSize({ width: 360, height: 740 });
  await owner.emulateMedia({ colorScheme: 'dark' });
  expect(await owner.evaluate(() => matchMedia('(prefers-color-scheme: dark)').matches)).toBe(true);
  const { link } = await createPoll(owner, { title: 'Phone poll', options: ['A', 'B'] });

  const qr = owner.getByTestId('share-qr');
  await expect(qr).toBeVisible();
  const box = await qr.boundingBox();
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(360);
  expect(box.width).toBeGreaterThanOrEqual(200);
  expect(box.width).toBeLessThanOrEqual(240);
  // Nothing on the page is wider than the phone.
  expect(await owner.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  // The page is dark, the code still dark on light.
  const pageBackground = await owner.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(pageBackground).not.toBe('rgb(246, 247, 251)');
  expect(await readQr(owner)).toBe(link);

  // The same on a wide screen, where the code sits beside the link.
  await owner.setViewportSize({ width: 1280, height: 800 });
  const wide = await qr.boundingBox();
  const input = await owner.getByTestId('share-link').boundingBox();
  expect(wide.x).toBeGreaterThan(input.x + input.width);
  expect(await readQr(owner)).toBe(link);
});

test('the copy button puts the invite link on the clipboard', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Copy me', options: ['A', 'B'] });
  await owner.getByTestId('copy-share-link').click();
  await expect(owner.getByText('Copied', { exact: true })).toBeVisible();
  expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(link);
});

test('Share is offered only with the Web Share API, and shares the link and title', async ({ newUser }) => {
  // Headless Chromium on Linux has no navigator.share: no button.
  const plain = await openUser(newUser, 'Olga');
  await createPoll(plain, { title: 'No sheet', options: ['A', 'B'] });
  await expect(plain.getByTestId('share-link')).toBeVisible();
  expect(await plain.evaluate(() => 'share' in navigator)).toBe(false);
  await expect(plain.getByTestId('share-native')).toHaveCount(0);

  // A browser with a share sheet: navigator.share records what it was given; the test decides
  // whether the sheet succeeds, is cancelled by the user, or fails.
  const withShare = async () => {
    const context = await newUser();
    await context.addInitScript(() => {
      window.__shared = [];
      window.__shareOutcome = 'ok';
      Object.defineProperty(Navigator.prototype, 'share', {
        configurable: true,
        value: async function share(data) {
          window.__shared.push({ ...data });
          if (window.__shareOutcome === 'abort') throw new DOMException('Share canceled', 'AbortError');
          if (window.__shareOutcome === 'deny') throw new DOMException('Permission denied', 'NotAllowedError');
        },
      });
    });
    return context;
  };
  const owner = await openUser(withShare, 'Sam');
  const { link } = await createPoll(owner, { title: 'Lunch on Friday?', options: ['Yes', 'No'] });
  const button = owner.getByTestId('share-native');
  const status = owner.getByTestId('share-status');
  await expect(button).toBeVisible();
  await button.click();
  await expect.poll(() => owner.evaluate(() => window.__shared.length)).toBe(1);
  const [shared] = await owner.evaluate(() => window.__shared);
  expect(shared).toMatchObject({ url: link, title: 'Lunch on Friday?' });
  expect(shared.text).toContain('Lunch on Friday?');
  await expect(status).toHaveText('');

  // Closing the sheet is not a failure.
  await owner.evaluate(() => (window.__shareOutcome = 'abort'));
  await button.click();
  await expect.poll(() => owner.evaluate(() => window.__shared.length)).toBe(2);
  await expect(button).toBeEnabled();
  await expect(status).toHaveText('');

  // Any other refusal is shown.
  await owner.evaluate(() => (window.__shareOutcome = 'deny'));
  await button.click();
  await expect(status).toContainText('Permission denied');
  await expect(button).toBeEnabled();
});
