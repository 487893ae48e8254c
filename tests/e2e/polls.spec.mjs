// The main journey over the star: an owner creates a poll; participants join by invite link or by
// the owner's peer ID, vote and change votes; every page converges; the owner reloads and everyone
// converges again by themselves; a viewer's vote is refused with the owner's reason; a page that
// registers the owner's ID with another key is refused as an impostor.
import { test, expect } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

async function expectTallies(pages, tallies) {
  await Promise.all(
    pages.flatMap((page) =>
      tallies.map((n, i) => expect(page.getByTestId(`tally-${i}`)).toHaveText(String(n), { timeout: 1_000 })),
    ),
  );
}

test('owner and three participants vote, change votes, and converge after the owner reloads', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const ownerId = (await owner.getByTestId('my-peer-id').textContent()).trim();
  // Listed, so that Cid can pick it from the owner's poll list.
  const { pollId, link } = await createPoll(owner, {
    title: 'Lunch?',
    options: ['Pizza', 'Sushi', 'Tacos'],
    listed: true,
  });
  expect(link).toContain(`/p/${ownerId}/${pollId}`);
  await expect(owner.getByTestId('sync-status')).toHaveAttribute('data-state', 'owner');

  const ann = await openUser(newUser, 'Ann');
  const bob = await openUser(newUser, 'Bob');
  const cid = await openUser(newUser, 'Cid');
  await joinByLink(ann, link);
  await joinByLink(bob, link);
  // Cid types the owner's peer ID and picks the poll from the owner's list.
  await cid.getByTestId('join-input').fill(ownerId);
  await cid.getByTestId('join-submit').click();
  const item = cid.locator(`[data-testid="poll-list-item"][data-poll-id="${pollId}"]`);
  await expect(item).toContainText('Lunch?');
  await item.click();
  await expect(cid.getByTestId('poll-page')).toHaveAttribute('data-poll-id', pollId);
  await expect(cid.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');

  const everyone = [owner, ann, bob, cid];
  await Promise.all(everyone.map((p) => expect(p.getByTestId('participant-count')).toHaveText('3')));
  await expect(owner.getByTestId('member')).toHaveCount(4);
  await expect(owner.locator('[data-testid="member"]', { hasText: 'Cid' })).toBeVisible();

  await ann.getByTestId('vote-option-0').click();
  await bob.getByTestId('vote-option-1').click();
  await cid.getByTestId('vote-option-1').click();
  await owner.getByTestId('vote-option-2').click();
  await expectTallies(everyone, [1, 2, 1]);
  // Changing a vote replaces the ballot.
  await bob.getByTestId('vote-option-0').click();
  await expectTallies(everyone, [2, 1, 1]);
  await Promise.all([ann, bob, cid].map((p) => expect(p.getByTestId('pending-badge')).toHaveCount(0)));

  // The owner reloads: the poll is restored from IndexedDB, the same peer ID re-registers,
  // and participants reconnect by themselves.
  await owner.reload();
  await expect(owner.getByTestId('poll-heading')).toHaveText('Lunch?');
  await expectTallies([owner], [2, 1, 1]);
  await Promise.all(
    [ann, bob, cid].map((p) =>
      expect(p.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', { timeout: 30_000 }),
    ),
  );
  await cid.getByTestId('vote-option-2').click();
  await expectTallies(everyone, [2, 0, 2]);
  await Promise.all(everyone.map((p) => expect(p.getByTestId('participant-count')).toHaveText('3')));
});

test("a viewer's vote buttons are disabled with the reason; the owner sees who waits and lets them vote", async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Watch only', options: ['Yes', 'No'], newcomer: 'viewer' });
  const wes = await openUser(newUser, 'Wes');
  await wes.goto(link);
  await expect(wes.getByTestId('my-role')).toContainText('watch');
  await expect(wes.getByTestId('vote-option-0')).toBeDisabled();
  await expect(wes.getByTestId('vote-disabled-reason')).toContainText('not let you vote');
  await expectTallies([owner, wes], [0, 0]);
  await expect(wes.getByTestId('pending-badge')).toHaveCount(0);

  // The owner sees Wes waiting for permission, and lets him vote from there.
  const waiting = owner.getByTestId('waiting-voter');
  await expect(waiting).toHaveCount(1);
  await expect(waiting).toContainText('Wes');
  await waiting.getByTestId('allow-vote').click();
  await expect(owner.getByTestId('waiting-voters')).toHaveCount(0);
  await expect(wes.getByTestId('my-role')).toContainText('voter');
  await expect(wes.getByTestId('vote-disabled-reason')).toHaveCount(0);
  await wes.getByTestId('vote-option-1').click();
  await expectTallies([owner, wes], [0, 1]);
  await expect(wes.getByTestId('command-error')).toHaveCount(0);
});

test('multiple choice: toggles, then one ballot; closing stops votes', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Which days?', options: ['Mon', 'Tue', 'Wed'], multi: true });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await ann.getByTestId('vote-option-0').click();
  await ann.getByTestId('vote-option-2').click();
  await ann.getByTestId('vote-submit').click();
  await expectTallies([owner, ann], [1, 0, 1]);
  await owner.getByTestId('poll-close').click();
  await expect(ann.getByTestId('poll-closed')).toBeVisible();
  await expect(ann.getByTestId('vote-option-1')).toBeDisabled();
  await owner.getByTestId('poll-reopen').click();
  await expect(ann.getByTestId('vote-option-1')).toBeEnabled();
});

test('a new display name reaches the polls the participant is in (user:profile)', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { link } = await createPoll(owner, { title: 'Names', options: ['A', 'B'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await expect(owner.locator('[data-testid="member"]', { hasText: 'Ann' })).toBeVisible();
  // Rename on the home page, then come back to the poll (a fresh page load).
  await ann.goto('/');
  await ann.getByTestId('participant-name').fill('Annabel');
  await expect(ann.getByTestId('name-save-state')).toHaveAttribute('data-state', 'saved');
  await ann.goto(link);
  await expect(owner.locator('[data-testid="member"]', { hasText: 'Annabel' })).toBeVisible();
  await expect(ann.locator('[data-testid="member"]', { hasText: 'Annabel' })).toBeVisible();
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
});
