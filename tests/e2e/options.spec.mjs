// Options after creation: whoever the poll's settings allow adds options from the poll page
// (add-option-input / add-option-submit), with the same pending badge and refusals as a vote;
// the owner renames or removes an option nobody has voted for.
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

const optionTexts = (page) => page.locator('[data-testid^="vote-option-"] .text').allTextContents();

test('participants add options when the owner allows it, and a duplicate is refused', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Lunch?', options: ['Pizza', 'Sushi'], adders: 'voters' });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);

  await ann.getByTestId('add-option-input').fill('  Curry ');
  await ann.getByTestId('add-option-submit').click();
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await expect.poll(() => optionTexts(ann)).toEqual(['Pizza', 'Sushi', 'Curry']);
  await expect.poll(() => optionTexts(owner)).toEqual(['Pizza', 'Sushi', 'Curry']);
  await expect(ann.getByTestId('add-option-input')).toHaveValue('');

  // The new option is a real option: a vote for it is counted everywhere.
  await ann.getByTestId('vote-option-2').click();
  await expect(owner.getByTestId('tally-2')).toHaveText('1');

  // A duplicate (case and spaces ignored) is refused by the owner, and the page says so.
  await ann.getByTestId('add-option-input').fill('pizza');
  await ann.getByTestId('add-option-submit').click();
  await expect(ann.getByTestId('command-error')).toContainText('“pizza” is already an option');
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await expect.poll(() => optionTexts(owner)).toEqual(['Pizza', 'Sushi', 'Curry']);

  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    for (const scheme of ['light', 'dark']) {
      for (const [who, page] of [['participant', ann], ['owner', owner]]) {
        await page.setViewportSize({ width, height });
        await page.emulateMedia({ colorScheme: scheme });
        if (who === 'owner') {
          const edit = page.getByTestId('edit-options');
          if ((await edit.getAttribute('open')) === null) await edit.locator('summary').click();
        }
        await page.screenshot({ path: `test-results/screens/options-${who}-${name}-${scheme}.png`, fullPage: true });
      }
    }
  }
});

test('an option added while the owner is away waits in the outbox and reaches the owner once', async ({ newUser }) => {
  let owner = await openUser(newUser, 'Olga');
  const { link, ownerId, pollId } = await createPoll(owner, { title: 'Where?', options: ['Park', 'Beach'], adders: 'voters' });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);

  const ownerContext = owner.context();
  await owner.close();
  await expect(ann.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected', { timeout: 20_000 });
  await ann.getByTestId('add-option-input').fill('Lake');
  await ann.getByTestId('add-option-submit').click();
  await expect(ann.getByTestId('pending-badge')).toContainText('1');
  await expect(ann.getByTestId('pending-item')).toContainText('Lake');
  owner = await ownerContext.newPage();
  await owner.goto(appUrl(`/p/${ownerId}/${pollId}`));
  await expect(owner.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, { timeout: 30_000 });
  await expect.poll(() => optionTexts(owner)).toEqual(['Park', 'Beach', 'Lake']);
  await expect.poll(() => optionTexts(ann)).toEqual(['Park', 'Beach', 'Lake']);
});

test('only the allowed roles see the add box; the owner renames and removes unvoted options', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Colour?', options: ['Red', 'Green', 'Blue'] });
  const bob = await openUser(newUser, 'Bob');
  await joinByLink(bob, link);
  // "Only me" (the default): a voter has no add box.
  await expect(bob.getByTestId('add-option-input')).toHaveCount(0);

  // The owner adds one; the participant sees it live.
  await owner.getByTestId('add-option-input').fill('Yellow');
  await owner.getByTestId('add-option-submit').click();
  await expect.poll(() => optionTexts(bob)).toEqual(['Red', 'Green', 'Blue', 'Yellow']);

  // Bob votes Red: Red is locked for the owner, the others are not.
  await bob.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  await owner.getByTestId('edit-options').locator('summary').click();
  await expect(owner.getByTestId('option-rename-input-0')).toBeDisabled();
  await expect(owner.getByTestId('option-remove-0')).toBeDisabled();
  await expect(owner.getByTestId('option-locked-0')).toContainText('1 vote');

  // Rename Green, remove Blue: the participant's page follows.
  await owner.getByTestId('option-rename-input-1').fill('Olive');
  await owner.getByTestId('option-rename-submit-1').click();
  await owner.getByTestId('option-remove-2').click();
  await expect.poll(() => optionTexts(bob)).toEqual(['Red', 'Olive', 'Yellow']);
  await expect(bob.getByTestId('tally-0')).toHaveText('1');
  await expect(owner.getByTestId('command-error')).toHaveCount(0);

  // Renaming onto another option's text is refused next to the controls.
  await owner.getByTestId('option-rename-input-1').fill('RED');
  await owner.getByTestId('option-rename-submit-1').click();
  await expect(owner.getByTestId('command-error')).toBeVisible();
  await expect.poll(() => optionTexts(bob)).toEqual(['Red', 'Olive', 'Yellow']);

  // Down to two options, Remove is disabled.
  await owner.getByTestId('option-remove-2').click();
  await expect.poll(() => optionTexts(owner)).toEqual(['Red', 'Olive']);
  await expect(owner.getByTestId('option-remove-1')).toBeDisabled();
});
