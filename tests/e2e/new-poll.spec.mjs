// The new-poll form: a poll needs a question and two different, non-empty options; each problem
// is said in plain words next to its field, the first gets the focus, and long texts show a
// counter instead of being cut.
import { test, expect } from './fixtures.mjs';
import { openUser } from './app.mjs';

/** Saves the page for people to look at: phone and desktop, light and dark. */
async function photograph(page, screen) {
  const size = page.viewportSize();
  for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
    await page.setViewportSize({ width, height });
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: `test-results/screens/${screen}-${name}-${scheme}.png`, fullPage: true });
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(size);
}

test('the form refuses a poll without two different options, next to each field', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await owner.getByTestId('new-poll').click();
  // Nothing filled in: the question and the options say what is missing; nothing is created.
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-title-error')).toHaveText('Write the question.');
  await expect(owner.getByTestId('poll-title')).toBeFocused();
  await expect(owner.getByTestId('poll-option-0-error')).toHaveText('Give at least two different options.');
  await expect(owner.getByTestId('poll-page')).toHaveCount(0);
  // One option only.
  await owner.getByTestId('poll-title').fill('Lunch?');
  await owner.getByTestId('poll-option-0').fill('Pizza');
  await expect(owner.getByTestId('poll-title-error')).toHaveCount(0);
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-option-1-error')).toHaveText('Give at least two different options.');
  await expect(owner.getByTestId('poll-option-1')).toBeFocused();
  // The same option twice is named.
  await owner.getByTestId('poll-option-1').fill(' pizza ');
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-option-1-error')).toHaveText('“pizza” is already an option.');
  await photograph(owner, 'new-poll-errors');
  // A 300-character option is not cut: it is counted and refused.
  await owner.getByTestId('poll-option-1').fill('s'.repeat(300));
  await expect(owner.getByTestId('poll-option-1')).toHaveValue('s'.repeat(300));
  await expect(owner.getByTestId('poll-option-1-counter')).toHaveText('300 / 200');
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-option-1-error')).toHaveText(
    'This option is 300 characters long; it may have at most 200.',
  );
  await expect(owner.getByTestId('poll-page')).toHaveCount(0);
  // Long details are not cut either (the textarea has no maxlength): counted and refused.
  await owner.getByTestId('poll-option-1').fill('Sushi');
  await owner.getByTestId('poll-description').fill('d'.repeat(2100));
  await expect(owner.getByTestId('poll-description')).toHaveValue('d'.repeat(2100));
  await expect(owner.getByTestId('poll-description-counter')).toHaveText('2100 / 2000');
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-description-error')).toHaveText(
    'The details are 2100 characters long; they may have at most 2000.',
  );
  await expect(owner.getByTestId('poll-description')).toBeFocused();
  await photograph(owner, 'new-poll-too-long');
  await expect(owner.getByTestId('poll-page')).toHaveCount(0);
  // Fixed: created.
  await owner.getByTestId('poll-description').fill('Friday, 12:30');
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await expect(owner.getByTestId('vote-option-1')).toContainText('Sushi');
});
