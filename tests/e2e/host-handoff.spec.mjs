// Issue 18 on top of issue 17: the native host (`starpoll-host`) as the hub a poll is moved to.
// Real Chromium owner and participants, the real host binary, the real PeerJS server: the owner
// pastes the host's link into "Keep this poll online" and closes its tab; participants follow,
// a newcomer joins by the invite link (`?via=` the host), one votes offline and is delivered
// exactly once; the host is `kill -9`ed in the middle of a burst of votes and restarted (nothing
// acked lost, nothing counted twice); the owner comes back and takes the poll back — the host
// dials the owner's browser to hand it over (`Step::dials`, PROTOCOL.md §8.4–8.5).
//
// The host binary is built by scripts/test before the e2e tier (`cargo build -p starpoll-host`);
// STARPOLL_HOST_BIN overrides its path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, appUrl } from './fixtures.mjs';
import { bin, hostCommand, startHost } from './host-process.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';
import { processedRecords } from './idb.mjs';

/** A move's round trips, a redial after a backoff step, a restart of the host. */
const SLOW = { timeout: 45_000 };

/** A user's peer ID, from the home page. */
const peerIdOf = async (page) => (await page.getByTestId('my-peer-id').textContent()).trim();

test('an owner keeps a poll online with the native host, leaves, and takes it back after a kill -9 mid-burst', async ({
  newUser,
  baseURL,
}) => {
  test.setTimeout(300_000);
  expect(fs.existsSync(bin), `build the host first: cargo build -p starpoll-host (${bin})`).toBe(true);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'starpoll-host-handoff-'));
  const hosts = [];
  try {
    // The operator: `starpoll-host id` prints the host's peer ID and the link an owner pastes.
    const [hostId, hostLink] = hostCommand(['id'], data, baseURL);
    hosts.push(await startHost(data, baseURL));

    const owner = await openUser(newUser, 'Olga');
    const poll = await createPoll(owner, { title: 'Retreat?', options: ['Alps', 'Coast'] });
    const ann = await openUser(newUser, 'Ann');
    const annId = await peerIdOf(ann);
    await joinByLink(ann, poll.link);

    // "Keep this poll online" → the host's link → the host serves it, on Olga's behalf.
    await owner.getByTestId('hub-move-input').fill(hostLink);
    await owner.getByTestId('hub-move-submit').click();
    await expect(owner.getByTestId('hub-status')).toHaveAttribute('data-hub', hostId, SLOW);
    await expect(owner.getByTestId('hub-status')).toContainText('Kept online by');
    await expect(ann.getByTestId('hub-status')).toHaveAttribute('data-hub', hostId, SLOW);
    await expect(ann.getByTestId('hub-status')).toContainText('on behalf of Olga');
    await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
    const invite = await owner.getByTestId('share-link').inputValue();
    expect(invite).toContain(`via=${hostId}`);
    await expect.poll(() => hosts[0].log, SLOW).toMatch(/event=health .*polls=1/);

    // The owner closes its browser: the poll stays online at the host.
    const ownerContext = owner.context();
    await owner.close();
    await ann.getByTestId('vote-option-0').click();
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0, SLOW);
    await expect(ann.getByTestId('tally-0')).toHaveText('1');

    // A newcomer joins by the invite link while the owner is away.
    const bob = await openUser(newUser, 'Bob');
    await bob.goto(invite);
    await expect(bob.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
    await expect(bob.getByTestId('hub-status')).toHaveAttribute('data-hub', hostId);
    await expect(bob.getByTestId('my-role')).toContainText('voter', SLOW);
    await expect(bob.getByTestId('tally-0')).toHaveText('1');

    // Bob votes with no network at all (the page reloaded from cache); back online, his vote
    // reaches the host (his saved view names it) and is counted once.
    await bob.evaluate(() => navigator.serviceWorker.ready);
    await bob.context().setOffline(true);
    await bob.reload();
    await expect(bob.getByTestId('poll-heading')).toHaveText('Retreat?');
    await expect(bob.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected');
    await bob.getByTestId('vote-option-1').click();
    await expect(bob.getByTestId('pending-badge')).toHaveText('1 pending');
    await bob.context().setOffline(false);
    await expect(bob.getByTestId('pending-badge')).toHaveCount(0, SLOW);
    await expect(bob.getByTestId('tally-1')).toHaveText('1', SLOW);
    await expect(bob.getByTestId('hub-status')).toHaveAttribute('data-hub', hostId);
    await expect(ann.getByTestId('tally-1')).toHaveText('1', SLOW);

    // A burst of votes from Ann; the host is killed (-9) in the middle of it and restarted.
    const burst = 24;
    for (let i = 0; i < burst; i++) {
      if (i === burst / 2) hosts[0].child.kill('SIGKILL');
      await ann.getByTestId(`vote-option-${(i + 1) % 2}`).click();
    }
    await hosts[0].exit;
    // The votes after the kill wait in Ann's outbox (at least those; some before it may too).
    const pending = Number((await ann.getByTestId('pending-badge').textContent()).match(/\d+/)[0]);
    expect(pending).toBeGreaterThanOrEqual(burst / 2);
    hosts.push(await startHost(data, baseURL));
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0, { timeout: 90_000 });
    // Ann's last vote (option 0) stands; Bob's is still there, once.
    const last = (burst - 1 + 1) % 2;
    for (const p of [ann, bob]) {
      await expect(p.getByTestId(`tally-${last}`)).toHaveText('1', SLOW);
      await expect(p.getByTestId(`tally-${1 - last}`)).toHaveText('1', SLOW);
    }

    // The owner comes back: it follows its poll at the host and sees every vote …
    const back = await ownerContext.newPage();
    await back.goto(appUrl(`/p/${poll.ownerId}/${poll.pollId}`));
    await expect(back.getByTestId('hub-status')).toHaveAttribute('data-hub', hostId, SLOW);
    await expect(back.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
    await expect(back.getByTestId('tally-0')).toHaveText('1');
    await expect(back.getByTestId('tally-1')).toHaveText('1');

    // … and takes it back: the host dials the owner's browser and hands the poll over.
    await back.getByTestId('hub-take-back').click();
    await expect(back.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId, SLOW);
    await expect(back.getByTestId('hub-take-back')).toHaveCount(0);
    await expect(back.getByTestId('revision')).toBeVisible();
    await expect(back.getByTestId('hub-status')).toHaveText('Served from this browser');
    expect(hosts[1].log).toMatch(/event=conn\.dial .*peer=/);
    for (const p of [ann, bob]) {
      await expect(p.getByTestId('hub-status')).toHaveAttribute('data-hub', poll.ownerId, SLOW);
      await expect(p.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected', SLOW);
    }
    for (const p of [back, ann, bob]) {
      await expect(p.getByTestId('tally-0')).toHaveText('1', SLOW);
      await expect(p.getByTestId('tally-1')).toHaveText('1', SLOW);
    }

    // Exactly once, from the records that came back with the poll: every one of Ann's votes
    // (1 + the burst) was applied once — none acked and lost, none applied twice — and every
    // revision since the first of them is one recorded command (a command applied twice would
    // leave a revision with no record of its own).
    const records = await processedRecords(back, poll.pollId);
    const acked = records.filter((r) => r.outcome?.revision !== undefined);
    const annVotes = acked.filter((r) => r.author === annId && r.frame);
    expect(annVotes).toHaveLength(1 + burst);
    const revisions = acked.map((r) => r.outcome.revision).sort((a, b) => a - b);
    expect(new Set(revisions).size).toBe(revisions.length);
    const first = Math.min(...annVotes.map((r) => r.outcome.revision));
    const since = revisions.filter((r) => r >= first);
    const revision = Number(await back.getByTestId('revision').textContent());
    expect(since).toEqual([...Array(revision - first + 1).keys()].map((i) => first + i));
  } finally {
    fs.mkdirSync('test-results', { recursive: true });
    fs.writeFileSync('test-results/host-handoff.log', hosts.map((h) => h.log).join('\n--- restart ---\n'));
    for (const host of hosts) if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
});
