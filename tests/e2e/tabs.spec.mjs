// One network identity per browser: the first tab registers the peer ID; a second tab of the same
// browser says so in a banner on every page, shows the stored polls read-only, and can take over
// ("Use this tab"), after which the first tab steps back.
import { test, expect, appUrl } from './fixtures.mjs';
import { createPoll } from './app.mjs';

test('a second tab of the same identity does not steal the first one silently', async ({ newUser }) => {
  const context = await newUser();
  const first = await context.newPage();
  await first.goto(appUrl('/'));
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');

  const second = await context.newPage();
  await second.goto(appUrl('/'));
  const status = second.getByTestId('network-status');
  await expect(status).toHaveAttribute('data-state', 'other-tab');
  await expect(status).toContainText('already open in another tab');
  // The first tab is still the one online.
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');

  await expect(second.getByTestId('tab-banner')).toBeVisible();
  await expect(first.getByTestId('tab-banner')).toHaveCount(0);

  await second.getByTestId('tab-takeover').click();
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await expect(second.getByTestId('tab-banner')).toHaveCount(0);
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'other-tab');
  await expect(first.getByTestId('network-status')).toContainText('Another tab took over');
  await expect(first.getByTestId('tab-banner')).toContainText('took over');
  await expect(first.getByTestId('tab-takeover')).toBeVisible();
});

test('a second tab lists the owner\'s polls read-only, says so before any form is filled, and takes over', async ({ newUser }) => {
  const context = await newUser();
  const first = await context.newPage();
  await first.goto(appUrl('/'));
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  const titles = ['Lunch?', 'Movie night', 'Team offsite'];
  for (const title of titles) {
    await createPoll(first, { title, options: ['Yes', 'No'] });
    await first.getByRole('link', { name: 'starpoll' }).click();
  }
  const lunch = await first.getByTestId('poll-list-item').filter({ hasText: 'Lunch?' }).getAttribute('data-poll-id');
  const ownerId = (await first.getByTestId('my-peer-id').textContent()).trim();
  await first.goto(appUrl(`/p/${ownerId}/${lunch}`));
  await first.getByTestId('vote-option-0').click();
  await expect(first.getByTestId('tally-0')).toHaveText('1');

  const second = await context.newPage();
  await second.goto(appUrl('/'));
  await expect(second.getByTestId('tab-banner')).toBeVisible();
  // The home page lists the polls this browser hosts, not "You have no polls yet".
  await expect(second.getByTestId('poll-list-item')).toHaveCount(3);
  await expect(second.getByTestId('my-polls-empty')).toHaveCount(0);
  for (const title of titles) await expect(second.getByTestId('my-polls')).toContainText(title);

  // A poll opens read-only: stored title and tallies, no voting.
  await second.getByTestId('poll-list-item').filter({ hasText: 'Lunch?' }).click();
  const page = second.getByTestId('poll-other-tab');
  await expect(page).toHaveAttribute('data-role', 'owner');
  await expect(second.getByTestId('poll-heading')).toHaveText('Lunch?');
  await expect(second.getByTestId('tally-0')).toHaveText('1');
  await expect(second.getByTestId('vote-option-1')).toBeDisabled();
  await expect(second.getByTestId('read-only-note')).toBeVisible();
  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    for (const scheme of ['light', 'dark']) {
      await second.setViewportSize({ width, height });
      await second.emulateMedia({ colorScheme: scheme });
      await second.screenshot({ path: `test-results/screens/tab-readonly-poll-${name}-${scheme}.png`, fullPage: true });
    }
  }

  // The new-poll form says so up front, and its fields are disabled before anything is typed.
  await second.goto(appUrl('/new'));
  await expect(second.getByTestId('new-poll-other-tab')).toBeVisible();
  await expect(second.getByTestId('poll-title')).toBeDisabled();
  await expect(second.getByTestId('poll-create')).toBeDisabled();
  await second.screenshot({ path: 'test-results/screens/tab-new-poll-desktop-dark.png', fullPage: true });

  // "Use this tab" from the banner: the form works here now, and the first tab steps back.
  await second.getByTestId('tab-takeover').click();
  await expect(second.getByTestId('tab-banner')).toHaveCount(0);
  await expect(second.getByTestId('poll-title')).toBeEnabled();
  await expect(second.getByTestId('new-poll-other-tab')).toHaveCount(0);
  await expect(first.getByTestId('tab-banner')).toBeVisible();
  await second.getByRole('link', { name: 'starpoll' }).click();
  await expect(second.getByTestId('my-polls')).toContainText('Movie night');
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
});

test('closing the tab that holds the identity lets a reload of the other one go online', async ({ newUser }) => {
  const context = await newUser();
  const first = await context.newPage();
  await first.goto(appUrl('/'));
  await expect(first.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  const second = await context.newPage();
  await second.goto(appUrl('/'));
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'other-tab');
  await first.close();
  await second.reload();
  await expect(second.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
});
