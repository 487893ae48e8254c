// Helpers that drive the app through the UI contract's test ids (shared by the poll specs).
import { expect, appUrl } from './fixtures.mjs';

/** Opens the app for a fresh user, sets a display name, waits until online. */
export async function openUser(newUser, name) {
  const context = await newUser();
  const page = await context.newPage();
  await page.goto(appUrl('/'));
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await page.getByTestId('participant-name').fill(name);
  await expect(page.getByTestId('name-save-state')).toHaveAttribute('data-state', 'saved');
  return page;
}

/** Unfolds "More options" of the new-poll form (deadline, anonymity, results, roles). */
export async function openMoreOptions(page) {
  const more = page.getByTestId('poll-more-options');
  if ((await more.getAttribute('open')) === null) await more.locator('summary').click();
}

/**
 * The owner creates a poll from the home page; returns { ownerId, pollId, link }. `listed: true`
 * unchecks `poll-unlisted`, so the poll is in the owner's poll list (new polls are unlisted);
 * `adders` ('owner', 'editors', 'voters') sets who may add options.
 */
export async function createPoll(page, { title, options, multi = false, newcomer, adders, listed = false }) {
  await page.getByTestId('new-poll').click();
  await page.getByTestId('poll-title').fill(title);
  for (let i = 2; i < options.length; i++) await page.getByTestId('poll-add-option').click();
  for (const [i, text] of options.entries()) await page.getByTestId(`poll-option-${i}`).fill(text);
  if (multi) await page.getByTestId('poll-multi').check();
  if (listed) await page.getByTestId('poll-unlisted').uncheck();
  if (newcomer) {
    await openMoreOptions(page);
    await page.getByTestId('poll-newcomer').selectOption(newcomer);
  }
  if (adders) {
    await openMoreOptions(page);
    await page.getByTestId('poll-adders').selectOption(adders);
  }
  await page.getByTestId('poll-create').click();
  const root = page.getByTestId('poll-page');
  await expect(root).toHaveAttribute('data-role', 'owner');
  await expect(page.getByTestId('poll-heading')).toHaveText(title);
  return {
    ownerId: new URL(page.url()).pathname.split('/')[2],
    pollId: await root.getAttribute('data-poll-id'),
    link: await page.getByTestId('share-link').inputValue(),
  };
}

/** A participant opens an invite link and waits until connected as a voter, its join answered. */
export async function joinByLink(page, link) {
  await page.goto(link);
  await expect(page.getByTestId('poll-page')).toHaveAttribute('data-role', 'participant');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await expect(page.getByTestId('my-role')).toContainText('voter');
  // Connected is not yet joined: the `Join` is a command of its own, done once it is answered.
  await expect(page.getByTestId('pending-badge')).toHaveCount(0);
}
