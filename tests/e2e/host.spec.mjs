// The native host (`starpoll-host`, crates/host) against the real app in Chromium and the real
// PeerJS server: signaling, DTLS/SCTP (str0m), BinaryPack framing and signatures interoperate,
// commands are acked after their SQLite commit, and a `kill -9` loses nothing acked.
//
// The host binary is built by scripts/test before the e2e tier (`cargo build -p starpoll-host`);
// STARPOLL_HOST_BIN overrides its path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, appUrl } from './fixtures.mjs';
import { bin, hostCommand, startHost } from './host-process.mjs';
import { openUser, joinByLink } from './app.mjs';


test('the native host serves its polls to the app: list, join, vote, kill -9, restart, SIGTERM', async ({
  newUser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  expect(fs.existsSync(bin), `build the host first: cargo build -p starpoll-host (${bin})`).toBe(true);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'starpoll-host-e2e-'));
  const hosts = [];
  try {
    // `id` creates the identity once, then prints the same peer ID and link every time.
    const [hostId, hostLink] = hostCommand(['id'], data, baseURL);
    expect(hostId).toMatch(/^[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    expect(hostLink).toBe(`${baseURL}/o/${hostId}`);
    expect(hostCommand(['id'], data, baseURL)).toEqual([hostId, hostLink]);
    const [pollId, invite] = hostCommand(
      ['new-poll', '--title', 'Host lunch', '--option', 'Pizza', '--option', 'Sushi', '--listed'],
      data,
      baseURL,
    );
    expect(invite).toBe(`${baseURL}/p/${hostId}/${pollId}`);

    hosts.push(await startHost(data, baseURL));
    // One hub per database: a second writer is refused while the host runs.
    expect(() => hostCommand(['new-poll', '--title', 'Twice', '--option', 'A', '--option', 'B'], data, baseURL)).toThrow(
      /another starpoll-host is using/,
    );

    // The app dials the host by its peer ID and shows its list, verified against the host's key.
    const ann = await openUser(newUser, 'Ann');
    await ann.getByTestId('join-input').fill(hostId);
    await ann.getByTestId('join-submit').click();
    const item = ann.getByTestId('poll-list-item');
    await expect(item).toHaveCount(1, { timeout: 20_000 });
    await expect(item).toHaveAttribute('data-poll-id', pollId);
    await expect(item).toContainText('Host lunch');
    await expect(ann.getByTestId('impostor-warning')).toHaveCount(0);

    // Join and vote: the ack arrives (after the host's commit) and the tally counts it.
    await joinByLink(ann, appUrl(`/p/${hostId}/${pollId}`));
    await expect(ann.getByTestId('poll-heading')).toHaveText('Host lunch');
    await ann.getByTestId('vote-option-0').click();
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
    await expect(ann.getByTestId('tally-0')).toHaveText('1');
    // The health line counts the connection and the committed commands.
    await expect.poll(() => hosts[0].log, { timeout: 5_000 }).toMatch(/event=health .*connections=[1-9].*commands_total=[1-9]/);

    // kill -9: the acked vote is in SQLite; the restarted host (same ID, same token) serves it.
    hosts[0].child.kill('SIGKILL');
    await hosts[0].exit;
    hosts.push(await startHost(data, baseURL));
    expect(hostCommand(['id'], data, baseURL)[0]).toBe(hostId);
    const bob = await openUser(newUser, 'Bob');
    await joinByLink(bob, appUrl(`/p/${hostId}/${pollId}`));
    await expect(bob.getByTestId('tally-0')).toHaveText('1');
    await bob.getByTestId('vote-option-1').click();
    await expect(bob.getByTestId('pending-badge')).toHaveCount(0);
    await expect(bob.getByTestId('tally-1')).toHaveText('1');
    // Ann notices the dead connection (silence), redials by herself and sees both votes, hers
    // counted once.
    await expect(ann.getByTestId('tally-1')).toHaveText('1', { timeout: 45_000 });
    await expect(ann.getByTestId('tally-0')).toHaveText('1');
    await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');

    // SIGTERM: the host finishes, closes cleanly and exits 0.
    hosts[1].child.kill('SIGTERM');
    const { code } = await hosts[1].exit;
    expect(code).toBe(0);
    expect(hosts[1].log).toContain('event=host.stopped');
  } finally {
    // The hosts' structured logs, for whoever reads a failure.
    fs.mkdirSync('test-results', { recursive: true });
    fs.writeFileSync('test-results/host-e2e.log', hosts.map((h) => h.log).join('\n--- restart ---\n'));
    for (const host of hosts) if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
});

test('a vote cast while the host is down waits in the outbox and is counted once when it is back', async ({
  newUser,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'starpoll-host-e2e-'));
  const hosts = [];
  try {
    const [hostId] = hostCommand(['id'], data, baseURL);
    const [pollId] = hostCommand(
      ['new-poll', '--title', 'Offsite', '--option', 'Lisbon', '--option', 'Porto'],
      data,
      baseURL,
    );
    hosts.push(await startHost(data, baseURL));
    const ann = await openUser(newUser, 'Ann');
    await joinByLink(ann, appUrl(`/p/${hostId}/${pollId}`));
    await ann.getByTestId('vote-option-0').click();
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0);
    await expect(ann.getByTestId('tally-0')).toHaveText('1');

    // The host dies; Ann changes her vote meanwhile: it waits, pending, in her outbox.
    hosts[0].child.kill('SIGKILL');
    await hosts[0].exit;
    await ann.getByTestId('vote-option-1').click();
    await expect(ann.getByTestId('pending-badge')).toHaveCount(1);

    // Back: the outbox delivers it, the host applies it once (her ballot moves, no double count).
    hosts.push(await startHost(data, baseURL));
    await expect(ann.getByTestId('pending-badge')).toHaveCount(0, { timeout: 60_000 });
    await expect(ann.getByTestId('tally-1')).toHaveText('1');
    await expect(ann.getByTestId('tally-0')).toHaveText('0');
    const bob = await openUser(newUser, 'Bob');
    await joinByLink(bob, appUrl(`/p/${hostId}/${pollId}`));
    await expect(bob.getByTestId('tally-1')).toHaveText('1');
    await expect(bob.getByTestId('tally-0')).toHaveText('0');
  } finally {
    fs.mkdirSync('test-results', { recursive: true });
    fs.writeFileSync('test-results/host-e2e-outbox.log', hosts.map((h) => h.log).join('\n--- restart ---\n'));
    for (const host of hosts) if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill('SIGKILL');
    fs.rmSync(data, { recursive: true, force: true });
  }
});
