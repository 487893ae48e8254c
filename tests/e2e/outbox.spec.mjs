// The offline-first promise (issue 5): a participant's commands are kept in an IndexedDB outbox
// before they are sent, resent with backoff until the owner answers, and counted exactly once —
// across the owner going away, the participant reloading, the owner dying between its commit and
// its ack, refusals, no network at all, and a long queue.
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';
import { storedOutbox, processedRecords } from './idb.mjs';

/** Enough for one full backoff step (30 s cap) plus a failed dial (about 6 s). */
const REDELIVERY = { timeout: 45_000 };

// Option ids count from 1: `vote-option-0` is option 1.

/** Owner with a poll and a joined participant "Ann". */
async function setup(newUser, options = ['Pizza', 'Sushi', 'Tacos']) {
  const owner = await openUser(newUser, 'Olga');
  const poll = await createPoll(owner, { title: 'Lunch?', options });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, poll.link);
  await expect(owner.getByTestId('participant-count')).toHaveText('1');
  // Ann's `Join` is acked (joinByLink) and one revision: read the revision once the owner's
  // screen shows it too (Ann is a member), or a late `Join` would count as one of the test's
  // commands.
  await expect(owner.getByTestId('member')).toHaveCount(2);
  const revision = Number(await owner.getByTestId('revision').textContent());
  return { owner, ann, ...poll, revision };
}

/** The owner opens its poll again in a new tab of the same browser profile. */
async function ownerReturns(ownerContext, ownerId, pollId) {
  const page = await ownerContext.newPage();
  await page.goto(appUrl(`/p/${ownerId}/${pollId}`));
  await expect(page.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  return page;
}

/** The owner's stored outcome of each command of `pollId`: commandId → outcome. */
async function processed(page, pollId) {
  return Object.fromEntries((await processedRecords(page, pollId)).map((r) => [r.commandId, r.outcome]));
}

async function expectOffline(page) {
  await expect(page.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected', { timeout: 20_000 });
}

test('a vote cast while the owner is away is pending, then delivered by itself and counted once', async ({ newUser }) => {
  const { owner, ann, ownerId, pollId, revision } = await setup(newUser);
  const ownerContext = owner.context();
  await owner.close();
  await expectOffline(ann);

  await ann.getByTestId('vote-option-1').click();
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');
  await expect(ann.getByTestId('vote-pending-1')).toBeVisible();
  await expect(ann.getByTestId('pending-item')).toHaveText(/your vote/);
  await expect(ann.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected');
  await expect(ann.getByTestId('next-attempt')).toBeVisible(REDELIVERY);
  expect((await storedOutbox(ann)).map((r) => r.command)).toEqual([{ type: 'poll:vote', optionIds: [2] }]);

  const back = await ownerReturns(ownerContext, ownerId, pollId);
  // No user action on Ann's side: the redial finds the owner and the outbox drains.
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, REDELIVERY);
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await expect(back.getByTestId('tally-1')).toHaveText('1');
  await expect(back.getByTestId('revision')).toHaveText(String(revision + 1));
  await expect(ann.getByTestId('tally-1')).toHaveText('1');
  // Answered records leave the outbox lazily (a batch deletion shortly after the answer).
  await expect.poll(() => storedOutbox(ann)).toEqual([]);
});

test('a participant who reloads with a vote pending still delivers it exactly once', async ({ newUser }) => {
  const { owner, ann, ownerId, pollId, revision } = await setup(newUser);
  const ownerContext = owner.context();
  await owner.close();
  await expectOffline(ann);
  await ann.getByTestId('vote-option-2').click();
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');

  await ann.reload();
  await expect(ann.getByTestId('poll-heading')).toHaveText('Lunch?');
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');
  await expect(ann.getByTestId('vote-pending-2')).toBeVisible();
  await expect(ann.getByTestId('stale-note')).toBeVisible();

  const back = await ownerReturns(ownerContext, ownerId, pollId);
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, REDELIVERY);
  await expect(back.getByTestId('tally-2')).toHaveText('1');
  await expect(back.getByTestId('revision')).toHaveText(String(revision + 1));
});

test('the owner dies after committing a vote but before acking it: the resend is answered from its record', async ({ newUser }) => {
  const { owner, ann, ownerId, pollId, revision } = await setup(newUser);
  await owner.evaluate(() => localStorage.setItem('starpoll.test.freeze-after-commit', '1'));

  await ann.getByTestId('vote-option-0').click();
  // The owner committed the vote and stopped before any answer left.
  await expect(owner.locator('html[data-freeze-after-commit]')).toHaveCount(1);
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');
  // Read before the owner returns: once Ann's resend is acked, the record is gone.
  const [record] = await storedOutbox(ann);
  expect(record.command).toEqual({ type: 'poll:vote', optionIds: [1] });
  const ownerContext = owner.context();
  await owner.close();

  const back = await ownerReturns(ownerContext, ownerId, pollId);
  // The commit survived: the vote is counted (before or after Ann's resend, never twice).
  await expect(back.getByTestId('tally-0')).toHaveText('1');
  await expect(back.getByTestId('revision')).toHaveText(String(revision + 1));

  // Ann resends the same command; the owner answers from its record: same revision, once.
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, REDELIVERY);
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await expect(back.getByTestId('revision')).toHaveText(String(revision + 1));
  await expect(back.getByTestId('tally-0')).toHaveText('1');
  const outcomes = await processed(back, pollId);
  expect(outcomes[record.commandId]).toEqual({ outcome: 'acked', revision: revision + 1 });
});

test('a vote the owner refuses (the poll closed meanwhile) is rolled back with the reason, and the outbox empties', async ({ newUser }) => {
  const { owner, ann, ownerId, pollId, link, revision } = await setup(newUser);
  const ownerContext = owner.context();
  const annContext = ann.context();
  await owner.close();
  await expectOffline(ann);
  await ann.getByTestId('vote-option-1').click();
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');
  await ann.close();

  // While Ann is gone, the owner comes back and closes the poll.
  const back = await ownerReturns(ownerContext, ownerId, pollId);
  await back.getByTestId('poll-close').click();
  await expect(back.getByTestId('poll-reopen')).toBeVisible();

  // Ann opens the poll again: the stored vote is sent and refused.
  const again = await annContext.newPage();
  await again.goto(link);
  await expect(again.getByTestId('command-error')).toContainText('closed', REDELIVERY);
  await expect(again.getByTestId('pending-badge')).toHaveCount(0);
  await expect(again.getByTestId('tally-1')).toHaveText('0');
  await expect(again.getByTestId('vote-option-1')).toHaveAttribute('aria-pressed', 'false');
  // Answered records leave the outbox lazily (a batch deletion shortly after the answer).
  await expect.poll(() => storedOutbox(again)).toEqual([]);
  await expect(back.getByTestId('tally-1')).toHaveText('0');
  await expect(back.getByTestId('revision')).toHaveText(String(revision + 1));
});

test('with no network at all, a reload still opens the joined poll from cache, and a vote made then is delivered once back online', async ({ newUser }) => {
  const { owner, ann, revision } = await setup(newUser);
  // The service worker controls the page once it is installed.
  await ann.evaluate(() => navigator.serviceWorker.ready);
  await ann.reload();
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  expect(await ann.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);

  await ann.context().setOffline(true);
  // Really offline, service worker included: a file the cache does not hold cannot be fetched.
  expect(await ann.evaluate(() => fetch('/not-cached.txt').then(() => 'fetched', () => 'failed'))).toBe('failed');
  await ann.reload();
  await expect(ann.getByTestId('poll-heading')).toHaveText('Lunch?');
  await expect(ann.getByTestId('stale-note')).toContainText(`revision ${revision}`);
  await expect(ann.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected');
  await ann.getByTestId('vote-option-2').click();
  await expect(ann.getByTestId('pending-badge')).toHaveText('1 pending');

  await ann.context().setOffline(false);
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, REDELIVERY);
  await expect(owner.getByTestId('tally-2')).toHaveText('1');
  await expect(owner.getByTestId('revision')).toHaveText(String(revision + 1));
});

test('200 votes queued while the owner is away are all delivered, in order, exactly once', async ({ newUser }) => {
  test.setTimeout(180_000);
  const { owner, ann, ownerId, pollId, revision } = await setup(newUser, ['Pizza', 'Sushi']);
  const ownerContext = owner.context();
  await owner.close();
  await expectOffline(ann);

  const votes = 200;
  for (let i = 0; i < votes; i++) {
    await ann.getByTestId(`vote-option-${i % 2}`).click();
  }
  await expect(ann.getByTestId('pending-badge')).toHaveText(`${votes} pending`);
  const queued = (await storedOutbox(ann)).sort((a, b) => a.seq - b.seq);
  expect(queued).toHaveLength(votes);
  expect(queued.map((r) => r.command.optionIds[0])).toEqual([...Array(votes).keys()].map((i) => (i % 2) + 1));

  const back = await ownerReturns(ownerContext, ownerId, pollId);
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, REDELIVERY);
  await expect(back.getByTestId('revision')).toHaveText(String(revision + votes));
  // The last vote (for option 1) stands.
  await expect(back.getByTestId('tally-0')).toHaveText('0');
  await expect(back.getByTestId('tally-1')).toHaveText('1');
  // Each command was applied once, and in the order it was made: revisions are consecutive in
  // outbox order.
  const outcomes = await processed(back, pollId);
  const revisions = queued.map((r) => outcomes[r.commandId]?.revision);
  expect(revisions).toEqual([...Array(votes).keys()].map((i) => revision + 1 + i));
  // Answered records leave the outbox lazily (a batch deletion shortly after the answer).
  await expect.poll(() => storedOutbox(ann)).toEqual([]);
});
