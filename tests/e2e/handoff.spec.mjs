// Issue 17: keeping a poll online from another hub. The owner moves its poll to a second
// browser acting as the always-on hub (just another app instance: its hub serves the delegated
// poll) and closes its own tab; participants follow the move, vote (one of them while no hub is
// reachable, delivered exactly once), a newcomer joins by the invite link with `?via=`, the owner
// comes back, sees every vote, closes the poll and takes it back; every page converges. A peer
// named by `?via=` without a delegation is not believed.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SCREENS_DIR = path.resolve('test-results/screens');

/** axe finds no serious/critical violation, light and dark; screenshots at 390 and 1280 px. */
async function checkScreen(page, screen) {
  mkdirSync(SCREENS_DIR, { recursive: true });
  const found = {};
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [name, width, height] of [['phone', 390, 844], ['desktop', 1280, 860]]) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: path.join(SCREENS_DIR, `${screen}-${name}-${scheme}.png`), fullPage: true });
    }
    if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    found[scheme] = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }));
  }
  expect(found, `axe serious/critical violations on ${screen}`).toEqual({ light: [], dark: [] });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Enough for one backoff step plus a failed dial and a move's round trips. */
const SLOW = { timeout: 45_000 };

// Option ids count from 1: `vote-option-0` is option 1.

/** A fresh app instance that stays online: returns its page and its peer ID. */
async function openHub(newUser, name) {
  const page = await openUser(newUser, name);
  const id = (await page.getByTestId('my-peer-id').textContent()).trim();
  return { page, id };
}

/** The owner moves the poll on its page to `target` (a peer ID or a link). */
async function moveTo(owner, target) {
  await owner.getByTestId('hub-move-input').fill(target);
  await owner.getByTestId('hub-move-submit').click();
}

test('an owner moves a poll to an always-on hub, leaves, comes back, closes it and takes it back', async ({ newUser }) => {
  test.setTimeout(240_000);
  const owner = await openUser(newUser, 'Olga');
  const poll = await createPoll(owner, { title: 'Picnic?', options: ['Park', 'Beach', 'Lake'] });
  await expect(owner.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId);
  await expect(owner.getByTestId('hub-status')).toHaveText('Served from this browser');
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, poll.link);
  const bob = await openUser(newUser, 'Bob');
  await joinByLink(bob, poll.link);
  await expect(ann.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId);

  const hub = await openHub(newUser, 'Always on');
  // A link naming the hub works as well as its bare peer ID.
  await moveTo(owner, `http://example.invalid/o/${hub.id}`);
  await expect(owner.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await expect(owner.getByTestId('hub-status')).toContainText('Kept online by');
  // Still the owner's page: it follows the poll at the hub, with the owner's rights.
  await expect(owner.getByTestId('poll-page')).toHaveAttribute('data-role', 'owner');
  await expect(owner.getByTestId('hub-take-back')).toBeVisible();
  // Participants follow the redirect to the new hub, and say so.
  for (const p of [ann, bob]) {
    await expect(p.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
    await expect(p.getByTestId('hub-status')).toContainText('on behalf of Olga');
    await expect(p.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  }
  const invite = await owner.getByTestId('share-link').inputValue();
  expect(invite).toContain(`via=${hub.id}`);

  // Ann and Bob are the participants, the owner (connected to the hub too) is not counted.
  await expect(ann.getByTestId('participant-count')).toHaveText('2', SLOW);
  // The owner leaves: the poll stays online at the hub, with both participants still there.
  const ownerContext = owner.context();
  await owner.close();
  await expect(ann.getByTestId('participant-count')).toHaveText('2', SLOW);
  await ann.getByTestId('vote-option-0').click();
  await expect(ann.getByTestId('tally-0')).toHaveText('1', SLOW);
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, SLOW);

  // No hub reachable: Bob votes anyway; the vote waits in his outbox.
  const hubContext = hub.page.context();
  await hub.page.close();
  await expect(bob.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected', { timeout: 25_000 });
  await bob.getByTestId('vote-option-1').click();
  await expect(bob.getByTestId('pending-badge')).toHaveText('1 pending');
  // The hub comes back (its IndexedDB holds the delegated poll); Bob's vote arrives once.
  const hubAgain = await hubContext.newPage();
  await hubAgain.goto(appUrl('/'));
  await expect(hubAgain.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  // The hub restored the delegated poll from its storage and says it keeps it online.
  await expect(hubAgain.getByTestId('kept-for-others')).toContainText('1 poll online');
  await expect(hubAgain.getByTestId('my-polls-empty')).toBeVisible();
  await expect(bob.getByTestId('pending-badge')).toHaveCount(0, SLOW);
  await expect(bob.getByTestId('tally-1')).toHaveText('1', SLOW);
  await expect(bob.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id);

  // A newcomer joins by the invite link naming the hub (`?via=`) while the owner is away.
  const cid = await openUser(newUser, 'Cid');
  await cid.goto(invite);
  await expect(cid.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  await expect(cid.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id);
  await expect(cid.getByTestId('my-role')).toContainText('voter', SLOW);
  await cid.getByTestId('vote-option-1').click();
  await expect(cid.getByTestId('tally-1')).toHaveText('2', SLOW);

  // The owner comes back: it follows its poll at the hub and sees every vote.
  const back = await ownerContext.newPage();
  await back.goto(appUrl(`/p/${poll.ownerId}/${poll.pollId}`));
  await expect(back.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await expect(back.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  await expect(back.getByTestId('tally-0')).toHaveText('1');
  await expect(back.getByTestId('tally-1')).toHaveText('2');
  await expect(back.getByTestId('tally-2')).toHaveText('0');
  // Owner rights through the hub: closing works.
  await back.getByTestId('poll-close').click();
  for (const p of [back, ann, bob, cid]) {
    await expect(p.getByTestId('poll-state')).toHaveText(' · closed', SLOW);
  }

  // And it takes the poll back: served from this browser again, everyone follows.
  await back.getByTestId('hub-take-back').click();
  await expect(back.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId, SLOW);
  await expect(back.getByTestId('hub-take-back')).toHaveCount(0);
  await expect(back.getByTestId('revision')).toBeVisible();
  await expect(back.getByTestId('hub-status')).toHaveText('Served from this browser');
  for (const p of [ann, bob, cid]) {
    await expect(p.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId, SLOW);
    await expect(p.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  }
  for (const p of [back, ann, bob, cid]) {
    await expect(p.getByTestId('tally-0')).toHaveText('1');
    await expect(p.getByTestId('tally-1')).toHaveText('2');
    await expect(p.getByTestId('poll-state')).toHaveText(' · closed');
  }
});

test('a vote cast while the poll moves is counted once, at the new hub', async ({ newUser }) => {
  test.setTimeout(120_000);
  const owner = await openUser(newUser, 'Olga');
  const poll = await createPoll(owner, { title: 'Movie?', options: ['Comedy', 'Drama'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, poll.link);
  const hub = await openHub(newUser, 'Always on');
  await owner.getByTestId('hub-move-input').fill(hub.id);
  // Ann's vote and the move race.
  await Promise.all([ann.getByTestId('vote-option-1').click(), owner.getByTestId('hub-move-submit').click()]);
  await expect(ann.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0, SLOW);
  await expect(ann.getByTestId('tally-1')).toHaveText('1', SLOW);
  await expect(owner.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await expect(owner.getByTestId('tally-1')).toHaveText('1', SLOW);
  await expect(owner.getByTestId('tally-0')).toHaveText('0');
});

test('a peer named by ?via= without a delegation is not believed', async ({ newUser }) => {
  test.setTimeout(120_000);
  const owner = await openUser(newUser, 'Olga');
  const poll = await createPoll(owner, { title: 'Snacks?', options: ['Chips', 'Fruit'] });
  // Another app instance, online, that was never handed the poll.
  const stranger = await openHub(newUser, 'Mallory');
  const ann = await openUser(newUser, 'Ann');
  await ann.goto(`${poll.link}&via=${stranger.id}`);
  // Ann ends up served by the owner (the stranger proves nothing), and her vote counts there.
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  await expect(ann.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId);
  await expect(ann.getByTestId('poll-gone')).toHaveCount(0);
  await ann.getByTestId('vote-option-0').click();
  await expect(owner.getByTestId('tally-0')).toHaveText('1', SLOW);
  await expect(ann.getByTestId('tally-0')).toHaveText('1', SLOW);
});

test('the hand-off screens pass axe and are photographed (phone and desktop, light and dark)', async ({ newUser }) => {
  test.setTimeout(120_000);
  const owner = await openUser(newUser, 'Olga');
  const poll = await createPoll(owner, { title: 'Picnic?', options: ['Park', 'Beach'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, poll.link);
  await checkScreen(owner, 'handoff-owner-here');
  await owner.getByTestId('hub-move-input').fill('not a peer');
  await owner.getByTestId('hub-move-submit').click();
  await expect(owner.getByTestId('hub-move-note')).toContainText('not a peer ID');
  await checkScreen(owner, 'handoff-owner-bad-input');
  const hub = await openHub(newUser, 'Always on');
  await moveTo(owner, hub.id);
  await expect(owner.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await expect(owner.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
  await checkScreen(owner, 'handoff-owner-away');
  await expect(ann.getByTestId('hub-status')).toHaveAttribute('data-hub', hub.id, SLOW);
  await checkScreen(ann, 'handoff-participant');
});
