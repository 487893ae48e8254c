// Identity end-to-end: the peer ID is stable per browser, different across browsers, the display
// name persists, and a browser without IndexedDB gets a clear message instead of a blank page.
import { test, expect, appUrl } from './fixtures.mjs';

const PEERJS_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;

test('the same browser shows the same peer ID after a reload', async ({ newUser }) => {
  const context = await newUser();
  const page = await context.newPage();
  await page.goto(appUrl('/'));
  const id = page.getByTestId('my-peer-id');
  await expect(id).toHaveText(PEERJS_ID);
  const first = (await id.textContent()).trim();
  await page.reload();
  await expect(page.getByTestId('my-peer-id')).toHaveText(first);
  const second = await context.newPage();
  await second.goto(appUrl('/'));
  await expect(second.getByTestId('my-peer-id')).toHaveText(first);
});

test('two browsers have different peer IDs', async ({ newUser }) => {
  const [a, b] = [await (await newUser()).newPage(), await (await newUser()).newPage()];
  await Promise.all([a.goto(appUrl('/')), b.goto(appUrl('/'))]);
  await expect(a.getByTestId('my-peer-id')).toHaveText(PEERJS_ID);
  await expect(b.getByTestId('my-peer-id')).toHaveText(PEERJS_ID);
  const [idA, idB] = [await a.getByTestId('my-peer-id').textContent(), await b.getByTestId('my-peer-id').textContent()];
  expect(idA.trim()).not.toEqual(idB.trim());
});

test('the display name survives a reload', async ({ newUser }) => {
  const page = await (await newUser()).newPage();
  await page.goto(appUrl('/'));
  const name = page.getByTestId('participant-name');
  await name.fill('Ada Lovelace');
  await expect(page.getByTestId('name-save-state')).toHaveAttribute('data-state', 'saved');
  await page.reload();
  await expect(page.getByTestId('participant-name')).toHaveValue('Ada Lovelace');
});

test('the copy button puts the peer ID on the clipboard', async ({ newUser }) => {
  const page = await (await newUser()).newPage();
  await page.goto(appUrl('/'));
  const id = (await page.getByTestId('my-peer-id').textContent()).trim();
  await page.getByTestId('copy-peer-id').click();
  await expect(page.getByText('Copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(id);
});

test('without IndexedDB the page explains the problem', async ({ newUser }) => {
  const context = await newUser();
  // Simulate blocked storage: the page sees no indexedDB at all.
  await context.addInitScript(() => {
    Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
  });
  const page = await context.newPage();
  await page.goto(appUrl('/'));
  const error = page.getByTestId('storage-error');
  await expect(error).toBeVisible();
  await expect(error).toContainText('Storage is not available');
  await expect(page.getByTestId('my-peer-id')).toHaveCount(0);
});

test('an IndexedDB that refuses to open is reported, not a blank page', async ({ newUser }) => {
  const context = await newUser();
  await context.addInitScript(() => {
    IDBFactory.prototype.open = function open() {
      throw new DOMException('The user denied permission to access the database.', 'SecurityError');
    };
  });
  const page = await context.newPage();
  await page.goto(appUrl('/'));
  await expect(page.getByTestId('storage-error')).toContainText('Storage is not available');
  await expect(page.getByTestId('storage-error')).toContainText('SecurityError');
});
