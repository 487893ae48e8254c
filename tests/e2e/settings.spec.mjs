// Settings end-to-end: the signaling server and ICE servers are validated, saved, and used after a
// reload (checked against a second real PeerJS server this spec starts); the identity file moves
// an identity to another browser, a tampered one is refused; reset makes a new identity and
// clears this browser's polls.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { test, expect, appUrl, peerPort } from './fixtures.mjs';
import { openUser, createPoll, joinByLink } from './app.mjs';

// A second signaling server with discovery on, so the test can see who registered there.
const extraPort = Number(process.env.E2E_EXTRA_PEER_PORT ?? peerPort + 1);
let extraServer;

test.beforeAll(async () => {
  extraServer = spawn(
    process.execPath,
    ['tests/support/peer-server.mjs', '--port', String(extraPort), '--discovery', 'true', '--alive-timeout-ms', '15000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise((resolve, reject) => {
    extraServer.stdout.on('data', (chunk) => {
      if (String(chunk).includes('listening')) resolve();
    });
    extraServer.on('exit', (code) => reject(new Error(`the extra peer server exited (${code})`)));
  });
});

test.afterAll(() => {
  extraServer?.kill();
});

/** The peer IDs registered on the extra server. */
async function peersOnExtra() {
  const response = await fetch(`http://127.0.0.1:${extraPort}/peerjs/peers`);
  return response.json();
}

/** Opens the settings page through the header link; waits until the saved values are shown. */
async function openSettings(page, port = peerPort) {
  await page.getByTestId('settings-link').click();
  await expect(page).toHaveURL(/\/settings$/);
  await expect(page.getByTestId('settings-port')).toHaveValue(String(port));
}

async function myPeerId(page) {
  return (await page.getByTestId('my-peer-id').textContent()).trim();
}

test('invalid server settings show their message and are not saved', async ({ newUser }) => {
  const page = await openUser(newUser, 'Ivy');
  await openSettings(page);
  const save = page.getByTestId('settings-save');
  await expect(save).toBeEnabled();

  await page.getByTestId('settings-host').fill('');
  await expect(page.getByTestId('settings-error-host')).toContainText("Enter the server's host");
  await page.getByTestId('settings-port').fill('70000');
  await expect(page.getByTestId('settings-error-port')).toContainText('from 1 to 65535');
  await page.getByTestId('settings-path').fill('peer');
  await expect(page.getByTestId('settings-error-path')).toContainText('must start with /');
  await page.getByTestId('settings-key').fill('');
  await expect(page.getByTestId('settings-error-key')).toContainText("server's key");
  await expect(save).toBeDisabled();
  // Submitting with Enter is refused too.
  await page.getByTestId('settings-port').press('Enter');
  await expect(page.getByTestId('settings-saved')).toHaveCount(0);

  // Fixing a field clears its message only.
  await page.getByTestId('settings-host').fill('ws://example.org');
  await expect(page.getByTestId('settings-error-host')).toContainText('host name only');
  await page.getByTestId('settings-host').fill('example.org');
  await expect(page.getByTestId('settings-error-host')).toHaveCount(0);
  await expect(page.getByTestId('settings-error-port')).toBeVisible();
  await expect(save).toBeDisabled();

  await page.reload();
  await expect(page.getByTestId('settings-port')).toHaveValue(String(peerPort));
  await expect(page.getByTestId('settings-host')).toHaveValue('127.0.0.1');
  await expect(page.getByTestId('settings-path')).toHaveValue('/');
  await expect(page.getByTestId('settings-key')).toHaveValue('peerjs');
  await expect(page.getByTestId('settings-secure')).not.toBeChecked();
});

test('a saved signaling server is used after a reload, and "Restore default" goes back', async ({ newUser }) => {
  const page = await openUser(newUser, 'Sam');
  const me = await myPeerId(page);
  expect(await peersOnExtra()).not.toContain(me);

  await openSettings(page);
  await page.getByTestId('settings-port').fill(String(extraPort));
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('settings-saved')).toContainText('reloaded');
  // Saved but not in use yet: the running peer keeps its server until the reload.
  await expect(page.getByTestId('settings-active-server')).toContainText(`:${peerPort}/`);
  await page.getByTestId('settings-reload').click();
  await expect(page.getByTestId('settings-active-server')).toContainText(`ws://127.0.0.1:${extraPort}/`);

  await page.goto('/');
  await expect(page.getByTestId('signaling-server')).toContainText(`ws://127.0.0.1:${extraPort}/`);
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await expect(page.getByTestId('my-peer-id')).toHaveText(me);
  await expect.poll(peersOnExtra).toContain(me);

  await openSettings(page, extraPort);
  await page.getByTestId('settings-reset-server').click();
  await expect(page.getByTestId('settings-saved')).toContainText('default signaling server');
  await expect(page.getByTestId('settings-port')).toHaveValue('9000');
  await page.getByTestId('settings-reload').click();
  await expect(page.getByTestId('settings-active-server')).toContainText('ws://127.0.0.1:9000/ (the default)');
  await page.goto('/');
  await expect(page.getByTestId('signaling-server')).toContainText('ws://127.0.0.1:9000/');
  await expect.poll(peersOnExtra).not.toContain(me);
});

test('a ?peerjs= choice remembered by an earlier version moves into the settings', async ({ newUser }) => {
  const page = await (await newUser()).newPage();
  await page.goto('/');
  await expect(page.getByTestId('signaling-server')).toContainText('ws://127.0.0.1:9000/');
  await page.evaluate((url) => localStorage.setItem('starpoll.peerjs', url), `ws://127.0.0.1:${peerPort}/`);
  await page.reload();
  await expect(page.getByTestId('signaling-server')).toContainText(`ws://127.0.0.1:${peerPort}/`);
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  expect(await page.evaluate(() => localStorage.getItem('starpoll.peerjs'))).toBeNull();
  await openSettings(page);
});

test('ICE servers are validated and persist across reloads', async ({ newUser }) => {
  const page = await openUser(newUser, 'Ike');
  await openSettings(page);
  // On loopback the default is no ICE server at all.
  await expect(page.getByTestId('ice-default')).toContainText('none');
  await page.getByTestId('ice-add').click();
  await expect(page.getByTestId('settings-error-ice-url-0')).toContainText('at least one');
  await page.getByTestId('ice-url-0').fill('http://turn.example.org');
  await expect(page.getByTestId('settings-error-ice-url-0')).toContainText('must start with stun:, turn: or turns:');

  // A TURN server without credentials is refused with its message.
  await page.getByTestId('ice-url-0').fill('turn:turn.example.org:3478?transport=udp');
  await expect(page.getByTestId('settings-error-ice-url-0')).toHaveCount(0);
  await expect(page.getByTestId('settings-error-ice-username-0')).toContainText('username');
  await expect(page.getByTestId('settings-error-ice-credential-0')).toContainText('credential');
  await expect(page.getByTestId('settings-save')).toBeDisabled();
  await page.getByTestId('ice-username-0').fill('alice');
  await expect(page.getByTestId('settings-error-ice-username-0')).toHaveCount(0);
  await expect(page.getByTestId('settings-error-ice-credential-0')).toContainText('credential');
  await page.getByTestId('ice-credential-0').fill('s3cret');
  await expect(page.getByTestId('settings-error-ice-credential-0')).toHaveCount(0);

  await page.getByTestId('ice-add').click();
  await page.getByTestId('ice-url-1').fill('stun:stun.example.org:3478');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('settings-saved')).toBeVisible();

  await page.reload();
  await expect(page.getByTestId('ice-url-0')).toHaveValue('turn:turn.example.org:3478?transport=udp');
  await expect(page.getByTestId('ice-username-0')).toHaveValue('alice');
  await expect(page.getByTestId('ice-credential-0')).toHaveValue('s3cret');
  await expect(page.getByTestId('ice-url-1')).toHaveValue('stun:stun.example.org:3478');
  await expect(page.getByTestId('settings-active-ice')).toContainText('turn:turn.example.org:3478?transport=udp');

  // Remove one, save, reload: the other stays.
  await page.getByTestId('ice-remove-0').click();
  await expect(page.getByTestId('ice-url-0')).toHaveValue('stun:stun.example.org:3478');
  await page.getByTestId('settings-save').click();
  await expect(page.getByTestId('settings-saved')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('ice-url-0')).toHaveValue('stun:stun.example.org:3478');
  await expect(page.getByTestId('ice-url-1')).toHaveCount(0);

  // Back to the defaults.
  await page.getByTestId('ice-reset').click();
  await expect(page.getByTestId('settings-saved')).toContainText('default ICE servers');
  await page.reload();
  await expect(page.getByTestId('ice-default')).toBeVisible();
  await expect(page.getByTestId('ice-url-0')).toHaveCount(0);
});

/** Makes every page of `context` record the `iceServers` of each RTCPeerConnection it creates. */
async function recordIceConfigs(context) {
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    window.__iceConfigs = [];
    window.RTCPeerConnection = function (config, ...rest) {
      window.__iceConfigs.push(JSON.parse(JSON.stringify(config?.iceServers ?? null)));
      return new Original(config, ...rest);
    };
    window.RTCPeerConnection.prototype = Original.prototype;
  });
}

test('saved ICE servers configure the connections; without saved ones loopback uses none', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  await recordIceConfigs(owner.context());
  const { link } = await createPoll(owner, { title: 'ICE?', options: ['Yes', 'No'] });

  const guest = await openUser(newUser, 'Gus');
  await recordIceConfigs(guest.context());
  await openSettings(guest);
  await guest.getByTestId('ice-add').click();
  await guest.getByTestId('ice-url-0').fill('stun:127.0.0.1:3478');
  await guest.getByTestId('settings-save').click();
  await expect(guest.getByTestId('settings-saved')).toBeVisible();
  await joinByLink(guest, link);
  const guestConfigs = await guest.evaluate(() => window.__iceConfigs);
  expect(guestConfigs.length).toBeGreaterThan(0);
  for (const servers of guestConfigs) expect(servers).toEqual([{ urls: ['stun:127.0.0.1:3478'] }]);

  // The owner saved nothing: on loopback its connections get no ICE server.
  await owner.reload();
  await expect(owner.getByTestId('participant-count')).toHaveText('1', { timeout: 30_000 });
  const ownerConfigs = await owner.evaluate(() => window.__iceConfigs);
  expect(ownerConfigs.length).toBeGreaterThan(0);
  for (const servers of ownerConfigs) expect(servers).toEqual([]);
});

test('an exported identity imports into another browser; a tampered file is refused', async ({ newUser }) => {
  const alice = await openUser(newUser, 'Alice');
  const aliceId = await myPeerId(alice);
  await openSettings(alice);
  await expect(alice.getByTestId('identity-peer-id')).toHaveText(aliceId);
  await expect(alice.getByText('Whoever has it can act as you')).toBeVisible();
  const [download] = await Promise.all([
    alice.waitForEvent('download'),
    alice.getByTestId('identity-export').click(),
  ]);
  expect(download.suggestedFilename()).toBe(`starpoll-identity-${aliceId.slice(0, 8)}.json`);
  const text = await readFile(await download.path(), 'utf8');
  const file = JSON.parse(text);
  expect(file).toMatchObject({ format: 'starpoll-identity', v: 1, peerId: aliceId });
  expect(file.seed).toMatch(/^[0-9a-f]{64}$/);
  // One browser per identity at a time.
  await alice.context().close();

  const bob = await openUser(newUser, 'Bob');
  const bobId = await myPeerId(bob);
  expect(bobId).not.toBe(aliceId);
  await openSettings(bob);

  const tampered = JSON.stringify({ ...file, peerId: bobId });
  await bob.getByTestId('identity-import-file').setInputFiles({
    name: 'tampered.json',
    mimeType: 'application/json',
    buffer: Buffer.from(tampered),
  });
  await expect(bob.getByTestId('identity-import-error')).toContainText('altered');
  await expect(bob.getByTestId('identity-import-confirm')).toHaveCount(0);
  const wrongFormat = JSON.stringify({ ...file, format: 'something-else' });
  await bob.getByTestId('identity-import-text').fill(wrongFormat);
  await expect(bob.getByTestId('identity-import-error')).toContainText('not a starpoll identity file');

  await bob.getByTestId('identity-import-file').setInputFiles({
    name: download.suggestedFilename(),
    mimeType: 'application/json',
    buffer: Buffer.from(text),
  });
  await expect(bob.getByTestId('identity-import-peer-id')).toHaveText(aliceId);
  await expect(bob.getByTestId('identity-import-preview')).toContainText('cleared');
  await Promise.all([bob.waitForEvent('load'), bob.getByTestId('identity-import-confirm').click()]);
  await expect(bob.getByTestId('identity-peer-id')).toHaveText(aliceId);
  await bob.goto('/');
  await expect(bob.getByTestId('my-peer-id')).toHaveText(aliceId);
  await expect(bob.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
});

test('reset makes a new identity and clears the polls', async ({ newUser }) => {
  const page = await openUser(newUser, 'Rita');
  const before = await myPeerId(page);
  await createPoll(page, { title: 'Reset me?', options: ['Yes', 'No'] });
  await page.goto('/');
  await expect(page.getByTestId('poll-list-item')).toHaveCount(1);

  await openSettings(page);
  await page.getByTestId('identity-reset').click();
  const dialog = page.getByTestId('identity-reset-dialog');
  await expect(dialog).toContainText('1 poll you own here');
  // Cancel changes nothing.
  await page.getByTestId('identity-reset-cancel').click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByTestId('identity-peer-id')).toHaveText(before);

  await page.getByTestId('identity-reset').click();
  await Promise.all([page.waitForEvent('load'), page.getByTestId('identity-reset-confirm').click()]);
  await expect(page.getByTestId('identity-peer-id')).not.toHaveText(before);
  await page.goto('/');
  await expect(page.getByTestId('my-peer-id')).not.toHaveText(before);
  await expect(page.getByTestId('network-status')).toHaveAttribute('data-state', 'online');
  await expect(page.getByTestId('poll-list-item')).toHaveCount(0);
  await expect(page.getByTestId('participant-name')).toHaveValue('');
});
