// Honest states (issue 16, items 5, 6 and 8): a link tells "no such poll" from "deleted by its
// owner" from "owner not online"; only a poll that loaded is added to the dashboard; the owner
// knows when participants cannot reach this browser (signaling server down), and a participant
// tells "this browser is offline" from "the owner is not online"; errors are plain sentences.
// Every new screen is photographed at 390 and 1280 px, light and dark, and checked with axe.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test, expect, appUrl } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SCREENS = path.resolve('test-results/screens');

/** Screenshots at 390 and 1280 px in light and dark; axe finds no serious/critical violation. */
async function photograph(page, name) {
  mkdirSync(SCREENS, { recursive: true });
  const found = {};
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [size, width, height] of [['phone', 390, 844], ['desktop', 1280, 900]]) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: path.join(SCREENS, `states-${name}-${size}-${scheme}.png`), fullPage: true });
    }
    if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
    const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
    found[scheme] = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }
  expect(found, `axe serious/critical violations on ${name}`).toEqual({ light: [], dark: [] });
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** A TCP port nobody listens on (bound, then released). */
async function deadPort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts a PeerJS server of this test's own on `port`; resolves once it listens. */
async function startPeerServer(port) {
  const server = spawn(process.execPath, ['tests/support/peer-server.mjs', '--port', String(port), '--alive-timeout-ms', '15000'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    server.stdout.on('data', (chunk) => {
      if (String(chunk).includes('listening')) resolve();
    });
    server.on('exit', (code) => reject(new Error(`the peer server exited (${code})`)));
  });
  return server;
}

async function stopPeerServer(server) {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.on('exit', resolve));
  server.kill('SIGTERM');
  await exited;
}

const randomPollId = () => crypto.randomUUID();
const home = (page) => page.getByRole('link', { name: 'starpoll' }).click();

test('a link to a poll the online owner never had says "no such poll", stays off the dashboard, and leads home', async ({
  newUser,
}) => {
  const owner = await openUser(newUser, 'Olga');
  const ownerId = (await owner.getByTestId('my-peer-id').textContent()).trim();
  const ann = await openUser(newUser, 'Ann');
  await ann.goto(appUrl(`/p/${ownerId}/${randomPollId()}`));
  const gone = ann.getByTestId('poll-gone');
  await expect(gone).toHaveAttribute('data-reason', 'not-found');
  await expect(gone).toContainText('no such poll');
  await expect(gone).not.toContainText('deleted');
  await expect(ann.getByRole('heading', { level: 1 })).toHaveText('No such poll');
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await photograph(ann, 'no-such-poll');
  await ann.getByTestId('go-home').click();
  // Not added to Joined, nothing pending; still so after a reload.
  await expect(ann.getByTestId('joined-polls-empty')).toBeVisible();
  await expect(ann.getByTestId('poll-list-pending')).toHaveCount(0);
  await ann.reload();
  await expect(ann.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await expect(ann.getByTestId('joined-polls-empty')).toBeVisible();

  // A malformed link: its own page, with a way home.
  await ann.goto(appUrl('/p/not-a-peer/not-a-poll'));
  await expect(ann.getByTestId('bad-link')).toBeVisible();
  await photograph(ann, 'bad-link');
  await ann.getByTestId('go-home').click();
  await expect(ann.getByTestId('my-peer-id')).toBeVisible();

  // The owner's own browser, for an id it does not host: no such poll, with a way home.
  await owner.goto(appUrl(`/p/${ownerId}/${randomPollId()}`));
  await expect(owner.getByTestId('poll-missing')).toHaveAttribute('data-reason', 'not-found');
  await owner.getByTestId('go-home').click();
  await expect(owner.getByTestId('my-peer-id')).toBeVisible();
});

test('joined polls are keyed by owner and poll: the same poll ID at another owner is another poll', async ({ newUser }) => {
  const olga = await openUser(newUser, 'Olga');
  const { link, pollId } = await createPoll(olga, { title: "Olga's poll", options: ['A', 'B'] });
  const bob = await openUser(newUser, 'Bob');
  const bobId = (await bob.getByTestId('my-peer-id').textContent()).trim();
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  // Bob is online and has no poll with Olga's poll ID: Ann is not shown Olga's poll.
  await ann.goto(appUrl(`/p/${bobId}/${pollId}`));
  await expect(ann.getByTestId('poll-gone')).toHaveAttribute('data-reason', 'not-found');
  await expect(ann.getByTestId('poll-heading')).toHaveCount(0);
  await ann.getByTestId('go-home').click();
  const item = ann.getByTestId('poll-list-item');
  await expect(item).toHaveCount(1);
  await expect(item).toHaveAttribute('data-owner', new URL(link).pathname.split('/')[2]);
  await expect(item).toContainText("Olga's poll");
  // Olga's poll is still followed and live.
  await item.click();
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await expect(ann.getByTestId('poll-heading')).toHaveText("Olga's poll");
});

test('a deleted poll says "deleted by its owner", also to someone who opens the link later and after the owner reloads', async ({
  newUser,
}) => {
  const owner = await openUser(newUser, 'Olga');
  const { link, ownerId, pollId } = await createPoll(owner, { title: 'Short-lived', options: ['A', 'B'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  await owner.getByTestId('poll-delete').click();
  await owner.getByTestId('poll-delete-confirm').click();
  await expect(owner.getByTestId('my-peer-id')).toBeVisible();
  await expect(ann.getByTestId('poll-gone')).toHaveAttribute('data-reason', 'deleted');
  await expect(ann.getByTestId('poll-gone')).toContainText('its owner deleted it');
  await photograph(ann, 'deleted-poll');

  // Someone opening the link only now hears the same (the owner kept the id as deleted).
  const bob = await openUser(newUser, 'Bob');
  await bob.goto(link);
  await expect(bob.getByTestId('poll-gone')).toHaveAttribute('data-reason', 'deleted');
  await bob.getByTestId('go-home').click();
  await expect(bob.getByTestId('joined-polls-empty')).toBeVisible();

  // The tombstone survives the owner's reload.
  await owner.reload();
  await expect(owner.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  const cat = await openUser(newUser, 'Cat');
  await cat.goto(link);
  await expect(cat.getByTestId('poll-gone')).toHaveAttribute('data-reason', 'deleted');
  // The owner's own link to it says it was deleted, not that it never existed.
  await owner.goto(appUrl(`/p/${ownerId}/${pollId}`));
  await expect(owner.getByTestId('poll-missing')).toHaveAttribute('data-reason', 'deleted');
});

test('owner not online: the participant is told so, the vote waits, and a link that never loaded is not listed', async ({
  newUser,
}) => {
  const owner = await openUser(newUser, 'Olga');
  const { link, ownerId } = await createPoll(owner, { title: 'Lunch?', options: ['Pizza', 'Sushi'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  // The owner's browser goes away (its tab closes).
  await owner.context().close();
  await ann.reload();
  const reason = ann.getByTestId('sync-error');
  await expect(reason).toHaveAttribute('data-reason', 'owner-offline', { timeout: 20_000 });
  await expect(reason).toContainText("owner's browser is not online");
  await expect(reason).not.toContainText('peer-unavailable');
  await expect(ann.getByTestId('sync-status')).toHaveText('Owner not online');
  await ann.getByTestId('vote-option-1').click();
  await expect(ann.getByTestId('pending-badge')).toContainText('1');
  await photograph(ann, 'owner-offline');
  // The dashboard lists the loaded poll, once, with the owner's state.
  await home(ann);
  const item = ann.getByTestId('poll-list-item');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText('Lunch?');
  await expect(ann.getByTestId('poll-list-owner')).toHaveText('owner not online');
  await photograph(ann, 'dashboard-owner-offline');

  // A link to another poll of the absent owner: we cannot know yet whether it exists, so the
  // page says the owner is not online and the dashboard does not list it.
  await ann.goto(appUrl(`/p/${ownerId}/${randomPollId()}`));
  await expect(ann.getByTestId('sync-error')).toHaveAttribute('data-reason', 'owner-offline', { timeout: 20_000 });
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
  await photograph(ann, 'unknown-owner-offline');
  await ann.getByTestId('go-home').click();
  await expect(ann.getByTestId('poll-list-item')).toHaveCount(1);
  await expect(ann.getByTestId('poll-list-pending')).toHaveText('1 pending');
});

test('signaling server down: the owner is told that participants cannot reach this browser, and why', async ({ newUser }) => {
  // A dead signaling server from the start: not "Connecting…" forever.
  const dead = await deadPort();
  const context = await newUser();
  const page = await context.newPage();
  await page.goto(`/?peerjs=ws://127.0.0.1:${dead}/`);
  const status = page.getByTestId('network-status');
  await expect(status).toHaveAttribute('data-state', 'unreachable', { timeout: 20_000 });
  await expect(status).toContainText(`Can't reach the signaling server at ws://127.0.0.1:${dead}/`);
  await photograph(page, 'home-unreachable');
  await page.close(); // one tab per browser holds the identity

  // A server this test stops and starts: the owner's poll page and invite link say it.
  const port = await deadPort();
  const server = await startPeerServer(port);
  try {
    const owner = await context.newPage();
    await owner.goto(`/?peerjs=ws://127.0.0.1:${port}/`);
    await expect(owner.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
    await createPoll(owner, { title: 'Offline owner', options: ['Yes', 'No'] });
    await expect(owner.getByTestId('owner-unreachable')).toHaveCount(0);
    await expect(owner.getByTestId('share-unreachable')).toHaveCount(0);
    await stopPeerServer(server);
    const notice = owner.getByTestId('owner-unreachable');
    await expect(notice).toContainText("Participants can't reach this browser now", { timeout: 20_000 });
    await expect(notice).toContainText(`ws://127.0.0.1:${port}/`);
    await expect(owner.getByTestId('share-unreachable')).toContainText('does not work right now');
    await expect(owner.getByTestId('sync-status')).toHaveAttribute('data-reachable', 'false');
    await photograph(owner, 'owner-unreachable');
    // Back up: the notice goes away by itself.
    const again = await startPeerServer(port);
    try {
      await expect(notice).toHaveCount(0, { timeout: 40_000 });
      await expect(owner.getByTestId('share-unreachable')).toHaveCount(0);
    } finally {
      await stopPeerServer(again);
    }
  } finally {
    await stopPeerServer(server);
  }
});

test('a participant whose own network is down is told so, not that the owner is offline', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { ownerId, pollId, link } = await createPoll(owner, { title: 'Dinner?', options: ['Soup', 'Salad'] });
  const ann = await openUser(newUser, 'Ann');
  await joinByLink(ann, link);
  // Ann's browser cannot reach the signaling server (a dead one): her own network is the issue.
  const dead = await deadPort();
  await ann.goto(`/p/${ownerId}/${pollId}?peerjs=ws://127.0.0.1:${dead}/`);
  const reason = ann.getByTestId('sync-error');
  await expect(reason).toHaveAttribute('data-reason', 'self-offline', { timeout: 20_000 });
  await expect(reason).toContainText('This browser is offline');
  await expect(reason).toContainText(`ws://127.0.0.1:${dead}/`);
  await expect(ann.getByTestId('sync-status')).toHaveText('You are offline');
  await ann.getByTestId('vote-option-0').click();
  await expect(ann.getByTestId('pending-badge')).toContainText('1');
  await photograph(ann, 'participant-self-offline');
});

test('errors are plain sentences: reopen after the deadline says to change it, next to the button', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await createPoll(owner, { title: 'Closes soon', options: ['A', 'B'] });
  await owner.getByTestId('edit-open').click();
  const ahead = await owner.evaluate(() => {
    const d = new Date(Date.now() + 4000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  });
  await owner.getByTestId('edit-deadline').fill(ahead);
  await owner.getByTestId('edit-save').click();
  await expect(owner.getByTestId('poll-reopen')).toBeVisible({ timeout: 20_000 });
  await owner.getByTestId('poll-reopen').click();
  const error = owner.getByTestId('command-error');
  await expect(error).toContainText('change the deadline');
  await expect(error).not.toContainText("the poll's deadline has passed");
  // Next to the button: the button names it as its description.
  await expect(owner.getByTestId('poll-reopen')).toHaveAttribute('aria-describedby', 'poll-toggle-error');
  await expect(error).toHaveAttribute('id', 'poll-toggle-error');
  await photograph(owner, 'reopen-after-deadline');

  // An empty question: called the question, as the field is labelled.
  await owner.getByTestId('edit-title').fill('   ');
  await owner.getByTestId('edit-save').click();
  await expect(owner.getByTestId('command-error')).toHaveText('The question must not be empty.');

  // A file that is not a snapshot: no parser message.
  await owner.getByTestId('verify-link').click();
  await owner.locator('input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  const verdict = owner.getByTestId('verify-error');
  await expect(verdict).toContainText('not a starpoll snapshot');
  await expect(verdict).not.toContainText('line 1 column');
  await photograph(owner, 'verify-not-a-snapshot');
});
