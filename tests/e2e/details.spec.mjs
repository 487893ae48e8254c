// Small things users notice (issue 16 item 9): the poll title in the browser tab, a closed poll's
// final results with the winner marked, right-to-left text laid out by its own direction,
// "Copied" that fades, the dashboard's vote counts, and an anonymous poll that says what the
// owner sees before anyone votes.
import { test, expect } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

test('the tab shows the poll title; a closed poll shows final results with the winner', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Team lunch', options: ['Pizza', 'Sushi', 'Tacos'] });
  await expect(owner).toHaveTitle('Team lunch · starpoll');
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await expect(ann).toHaveTitle('Team lunch · starpoll');
  await ann.getByTestId('vote-option-1').click();
  await owner.getByTestId('vote-option-1').click();
  await expect(owner.getByTestId('tally-1')).toHaveText('2');
  await expect(owner.getByTestId('final-results')).toHaveCount(0);
  await expect(owner.getByTestId('winner-1')).toHaveCount(0);

  await owner.getByTestId('poll-close').click();
  for (const page of [owner, ann]) {
    await expect(page.getByTestId('final-results')).toBeVisible();
    await expect(page.getByTestId('winner-1')).toBeVisible();
    await expect(page.getByTestId('winner-0')).toHaveCount(0);
    // Not greyed out: a closed poll's options are a result, shown at full opacity.
    expect(await page.getByTestId('vote-option-1').evaluate((e) => getComputedStyle(e).opacity)).toBe('1');
  }
  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    for (const scheme of ['light', 'dark']) {
      await ann.setViewportSize({ width, height });
      await ann.emulateMedia({ colorScheme: scheme });
      await ann.screenshot({ path: `test-results/screens/final-results-${name}-${scheme}.png`, fullPage: true });
    }
  }
  // Leaving the poll page gives the tab its plain name back.
  await owner.getByRole('link', { name: 'starpoll' }).click();
  await expect(owner).toHaveTitle('starpoll');
  await expect(owner.getByTestId('poll-list-votes')).toHaveText('2 votes');
});

test('right-to-left titles and options keep their direction; Copied fades', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await owner.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await createPoll(owner, { title: 'أين نأكل؟', options: ['بيتزا', 'سوشي'] });
  await expect(owner.getByTestId('poll-heading')).toHaveAttribute('dir', 'auto');
  expect(await owner.getByTestId('poll-heading').evaluate((e) => getComputedStyle(e).direction)).toBe('rtl');
  expect(await owner.locator('[data-testid="vote-option-0"] .text').evaluate((e) => getComputedStyle(e).direction)).toBe('rtl');
  await owner.screenshot({ path: 'test-results/screens/rtl-poll-desktop-light.png', fullPage: true });

  await owner.getByTestId('copy-share-link').click();
  await expect(owner.getByTestId('copied')).toBeVisible();
  await expect(owner.getByTestId('copied')).toHaveCount(0, { timeout: 5_000 });
});

test('an anonymous poll tells participants what the owner can see before they vote', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Honest feedback');
  await owner.getByTestId('poll-option-0').fill('Good');
  await owner.getByTestId('poll-option-1').fill('Bad');
  await owner.getByTestId('poll-more-options').locator('summary').click();
  await owner.getByTestId('poll-anonymous').check();
  await owner.getByTestId('poll-create').click();
  const link = await owner.getByTestId('share-link').inputValue();
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  const note = ann.getByTestId('privacy-note');
  await expect(note).toContainText('they see only the tallies');
  await expect(note).toContainText('Not towards the owner');
  await expect(note).toContainText('signed snapshot that names every voter');
});

test('someone without a name is asked for one inline on their first vote', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Snacks', options: ['Chips', 'Fruit'] });
  const page = await (await newUser()).newPage();
  await page.goto(link);
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await page.getByTestId('vote-option-1').click();
  // Nothing is sent yet: the page asks for a name first, focused.
  await expect(page.getByTestId('name-prompt')).toBeVisible();
  await expect(page.getByTestId('name-prompt-input')).toBeFocused();
  await expect(owner.getByTestId('tally-1')).toHaveText('0');
  await page.getByTestId('name-prompt-input').fill('Nadia');
  await page.screenshot({ path: 'test-results/screens/name-prompt-phone-light.png', fullPage: true });
  await page.getByTestId('name-prompt-submit').click();
  await expect(page.getByTestId('name-prompt')).toHaveCount(0);
  await expect(owner.getByTestId('tally-1')).toHaveText('1');
  // The owner sees the name, not a made-up guest name; the next vote asks nothing.
  await expect(owner.getByTestId('members-list')).toContainText('Nadia');
  await expect(owner.getByTestId('members-list')).not.toContainText('Guest');
  await page.getByTestId('vote-option-0').click();
  await expect(page.getByTestId('name-prompt')).toHaveCount(0);
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  await page.goto(page.url().replace(/\/p\/.*/, '/'));
  await expect(page.getByTestId('participant-name')).toHaveValue('Nadia');
});
