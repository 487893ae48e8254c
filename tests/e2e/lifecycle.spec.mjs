// A poll's life as owners and participants see it: deadlines, editing, multiple choice with a
// maximum, anonymity and hidden results, withdrawing a vote, leaving a poll. Real Chromium, the
// real PeerJS server, the release build.
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink, openMoreOptions } from './app.mjs';

/** The `datetime-local` value (local time, seconds) `secondsAhead` from now in the page. */
function localInputAhead(page, secondsAhead) {
  return page.evaluate((s) => {
    const d = new Date(Date.now() + s * 1000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }, secondsAhead);
}

test('a deadline closes the poll by itself, for the owner and the participants', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Closes soon');
  await owner.getByTestId('poll-option-0').fill('Yes');
  await owner.getByTestId('poll-option-1').fill('No');
  await openMoreOptions(owner);
  await owner.getByTestId('poll-deadline').fill(await localInputAhead(owner, 6));
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await expect(owner.getByTestId('poll-deadline-text')).toContainText('closes by itself');
  const link = await owner.getByTestId('share-link').inputValue();
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await ann.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  // The owner's hub closes it at the deadline, with nobody pressing anything.
  for (const page of [owner, ann]) {
    await expect(page.getByTestId('poll-state')).toContainText('closed', { timeout: 20_000 });
    await expect(page.getByTestId('poll-closed')).toBeVisible();
    await expect(page.getByTestId('vote-option-1')).toBeDisabled();
  }
  await expect(owner.getByTestId('poll-reopen')).toBeVisible();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
});

test('a deadline in the past is refused with a clear message', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Too late');
  await owner.getByTestId('poll-option-0').fill('Yes');
  await owner.getByTestId('poll-option-1').fill('No');
  await openMoreOptions(owner);
  await owner.getByTestId('poll-deadline').fill(await localInputAhead(owner, -60));
  await owner.getByTestId('poll-create').click();
  await expect(owner.getByTestId('poll-deadline-error')).toHaveText(
    'That time has already passed: pick a later one, or no closing time.',
  );
  await expect(owner.getByTestId('poll-deadline')).toBeFocused();
  await expect(owner.getByTestId('poll-page')).toHaveCount(0);
});

test('the owner edits title, details and deadline; participants see the edit', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  const { link } = await createPoll(owner, { title: 'Draft title', options: ['A', 'B'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await owner.getByTestId('edit-open').click();
  await owner.getByTestId('edit-title').fill('Final title');
  await owner.getByTestId('edit-description').fill('Bring snacks.');
  await owner.getByTestId('edit-deadline').fill(await localInputAhead(owner, 3600));
  await owner.getByTestId('edit-save').click();
  for (const page of [owner, ann]) {
    await expect(page.getByTestId('poll-heading')).toHaveText('Final title');
    await expect(page.getByTestId('poll-description-text')).toHaveText('Bring snacks.');
    await expect(page.getByTestId('poll-deadline-text')).toBeVisible();
  }
  // Removing the deadline, and an empty title is refused with the owner's reason.
  await owner.getByTestId('edit-clear-deadline').click();
  await owner.getByTestId('edit-save').click();
  await expect(ann.getByTestId('poll-deadline-text')).toHaveCount(0);
  await owner.getByTestId('edit-title').fill('   ');
  await owner.getByTestId('edit-save').click();
  await expect(owner.getByTestId('command-error')).toContainText('must not be empty');
  await expect(ann.getByTestId('poll-heading')).toHaveText('Final title');
});

test('multiple choice with a maximum; withdrawing a vote', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Pick two');
  for (let i = 2; i < 4; i++) await owner.getByTestId('poll-add-option').click();
  for (const [i, t] of ['A', 'B', 'C', 'D'].entries()) await owner.getByTestId(`poll-option-${i}`).fill(t);
  await owner.getByTestId('poll-multi').check();
  await owner.getByTestId('poll-max').fill('2');
  await owner.getByTestId('poll-create').click();
  const link = await owner.getByTestId('share-link').inputValue();
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  for (const i of [0, 1, 2]) await ann.getByTestId(`vote-option-${i}`).click();
  await expect(ann.getByTestId('vote-submit')).toBeDisabled(); // three chosen, at most two
  await ann.getByTestId('vote-option-2').click();
  await ann.getByTestId('vote-submit').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  await expect(owner.getByTestId('tally-1')).toHaveText('1');
  await expect(owner.getByTestId('percent-0')).toHaveText('100%');
  await expect(ann.getByTestId('my-vote-0')).toBeVisible();
  await owner.getByTestId('voters').locator('summary').click();
  await expect(owner.getByTestId('voters-1')).toHaveText('Ann');
  await ann.getByTestId('vote-withdraw').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('0');
  await expect(owner.getByTestId('tally-1')).toHaveText('0');
  await expect(ann.getByTestId('my-vote-0')).toHaveCount(0);
});

test('anonymous poll: tallies but no names; results after voting stay hidden until then', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  await owner.getByTestId('new-poll').click();
  await owner.getByTestId('poll-title').fill('Secret');
  await owner.getByTestId('poll-option-0').fill('Yes');
  await owner.getByTestId('poll-option-1').fill('No');
  await openMoreOptions(owner);
  await owner.getByTestId('poll-anonymous').check();
  await owner.getByTestId('poll-results').selectOption('afterVoting');
  await owner.getByTestId('poll-create').click();
  const link = await owner.getByTestId('share-link').inputValue();
  const [ann, bob] = [await openUser(newUser, 'Ann'), await openUser(newUser, 'Bob')];
  await joinByLink(ann, link);
  await joinByLink(bob, link);
  await expect(ann.getByTestId('privacy-note')).toContainText('Anonymous');
  await expect(ann.getByTestId('privacy-note')).toContainText("owner's browser receives your ballot under your name");
  await ann.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1');
  // Bob has not voted: no tallies, and the page says when they show.
  await expect(bob.getByTestId('results-hidden')).toHaveText('Results show once you have voted.');
  await expect(bob.getByTestId('tally-0')).toHaveText('');
  // Ann sees the tally but no one's name, and neither does the owner's page.
  await expect(ann.getByTestId('tally-0')).toHaveText('1');
  await expect(ann.getByTestId('voters')).toHaveCount(0);
  await expect(owner.getByTestId('voters')).toHaveCount(0);
  await bob.getByTestId('vote-option-1').click();
  await expect(bob.getByTestId('tally-0')).toHaveText('1');
  await expect(bob.getByTestId('tally-1')).toHaveText('1');
});

test('leaving a joined poll removes it from the dashboard and its unsent vote', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olive');
  const { link } = await createPoll(owner, { title: 'Leave me', options: ['A', 'B'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await owner.close(); // the owner goes away; Ann's next vote stays pending
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline', { timeout: 30_000 });
  await ann.getByTestId('vote-option-0').click();
  await expect(ann.getByTestId('pending-badge')).toContainText('1 pending');
  await ann.getByTestId('poll-leave').click();
  await expect(ann.getByTestId('poll-leave-confirm')).toBeVisible();
  await ann.getByTestId('poll-leave-cancel').click();
  await expect(ann.getByTestId('poll-page')).toBeVisible();
  await ann.getByTestId('poll-leave').click();
  await ann.getByTestId('poll-leave-confirm').click();
  await expect(ann.getByTestId('joined-polls-empty')).toBeVisible();
  await ann.reload();
  await expect(ann.getByTestId('joined-polls-empty')).toBeVisible();
  const outbox = await ann.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('starpoll');
    open.onsuccess = () => {
      const req = open.result.transaction('outbox').objectStore('outbox').count();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    };
    open.onerror = () => reject(open.error);
  }));
  expect(outbox).toBe(0);
});
