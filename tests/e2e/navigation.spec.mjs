// Navigation inside the app never reloads it: a reload would destroy this tab's PeerJS peer and
// drop every participant connected to the polls it serves.
import { test, expect, appUrl, peerPort } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

test('a round of top-bar clicks loads the page once and registers the peer once', async ({ newUser }) => {
  const context = await newUser();
  // Counted by the document itself too: each load of the app runs this once in the tab.
  await context.addInitScript(() => {
    sessionStorage.setItem('starts', String(Number(sessionStorage.getItem('starts') ?? 0) + 1));
  });
  const page = await context.newPage();
  let loads = 0;
  let registrations = 0;
  page.on('load', () => {
    loads += 1;
  });
  page.on('websocket', (ws) => {
    if (ws.url().includes(`:${peerPort}/`)) registrations += 1;
  });
  await page.goto(appUrl('/'));
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await page.getByTestId('settings-link').click();
  await expect(page).toHaveURL(/\/settings$/);
  await page.getByTestId('verify-link').click();
  await expect(page).toHaveURL(/\/verify$/);
  await page.getByRole('link', { name: 'starpoll' }).click();
  await expect(page.getByTestId('new-poll')).toBeVisible();
  await page.getByTestId('settings-link').click();
  await page.goBack();
  await expect(page.getByTestId('new-poll')).toBeVisible();
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  expect(loads).toBe(1);
  expect(await page.evaluate(() => sessionStorage.getItem('starts'))).toBe('1');
  expect(registrations).toBe(1);
});

test('the owner browsing its top bar keeps its participants connected', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Stay?', options: ['Yes', 'No'] });
  const ann = await (await newUser()).newPage();
  await joinByLink(ann, link);
  // Every state Ann's connection to the owner passes through from now on.
  await ann.evaluate(() => {
    const seen = [];
    window.__syncStates = seen;
    new MutationObserver(() => {
      const state = document.querySelector('[data-testid="sync-status"]')?.getAttribute('data-state');
      if (state && state !== seen[seen.length - 1]) seen.push(state);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  let ownerLoads = 0;
  owner.on('load', () => {
    ownerLoads += 1;
  });
  await owner.getByTestId('settings-link').click();
  await expect(owner).toHaveURL(/\/settings$/);
  await owner.getByTestId('verify-link').click();
  await expect(owner).toHaveURL(/\/verify$/);
  await owner.goBack();
  await owner.goBack();
  await expect(owner.getByTestId('participant-count')).toHaveText('1');
  await ann.getByTestId('vote-option-0').click();
  // Ann has no name yet: the first vote asks for one; she votes without.
  await ann.getByTestId('name-prompt-skip').click();
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  expect(ownerLoads).toBe(0);
  // Ann never lost the owner.
  expect(await ann.evaluate(() => window.__syncStates.filter((state) => state !== 'connected'))).toEqual([]);
});
