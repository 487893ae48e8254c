// PROTOCOL.md is tested the way an outsider would use it: a participant written in plain JavaScript
// with stock peerjs (the code of §6, read from the document) joins an app owner's poll and votes;
// and a page that registers the owner's ID without the owner's key is refused by participants.
import { test, expect, peerPort } from './fixtures.mjs';
import { openUser, createPoll } from './app.mjs';
import { protocolPage } from './protocol-doc.mjs';

const server = { host: '127.0.0.1', port: peerPort, path: '/', key: 'peerjs', secure: false };

test('a plain-JS participant written from PROTOCOL.md joins and casts a vote the owner counts', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { ownerId, pollId } = await createPoll(owner, { title: 'Tea or coffee?', options: ['Tea', 'Coffee'] });
  const js = await protocolPage(newUser);
  await js.evaluate(([ownerId, pollId, server]) => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    window.me = window.protocolDoc.participate({ seed, ownerId, pollId, name: 'Jane (JS)', server });
  }, [ownerId, pollId, server]);
  // The owner sees the new member; the JS participant holds a verified view with itself in it.
  await expect(owner.locator('[data-testid="member"]', { hasText: 'Jane (JS)' })).toBeVisible();
  await js.waitForFunction(() => {
    const view = window.me.getView();
    return view && view.members[window.me.id]?.role === 'voter' && window.me.pendingCount() === 0;
  });
  await expect(owner.getByTestId('participant-count')).toHaveText('1');

  const coffee = await js.evaluate(() => window.me.getView().options[1].id);
  await js.evaluate((id) => window.me.vote([id]), coffee);
  await expect(owner.getByTestId('tally-1')).toHaveText('1');
  await expect(owner.getByTestId('tally-0')).toHaveText('0');
  // Acked, and the event applied with §6's applyEvent gives the same tally.
  await js.waitForFunction(
    (id) => window.me.pendingCount() === 0 && window.me.getView().results.tally.find((t) => t.optionId === id).votes === 1,
    coffee,
  );
  // The owner's own vote reaches the JS participant as an event it can apply.
  await owner.getByTestId('vote-option-0').click();
  await js.waitForFunction(() => window.me.getView().results.tally.map((t) => t.votes).join(',') === '1,1');
});

test('a page that registers the owner\'s ID with another key is refused as an impostor and gets no votes', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { ownerId, link } = await createPoll(owner, { title: 'Real poll', options: ['A', 'B'] });
  const ann = await openUser(newUser, 'Ann');
  await ann.goto(link);
  await expect(ann.getByTestId('sync-status')).toHaveAttribute('data-state', 'connected');
  await ann.getByTestId('vote-option-0').click();
  await expect(ann.getByTestId('tally-0')).toHaveText('1');
  // The tally above is Ann's optimistic view; wait for the owner's ack so the only pending
  // command later is the vote made while the impostor answers.
  await expect(ann.getByTestId('pending-badge')).toHaveCount(0);

  // The owner goes away; a fake registers the owner's peer ID with its own key.
  await owner.context().close();
  const fake = await protocolPage(newUser);
  await fake.evaluate(([ownerId, server]) => {
    window.received = [];
    const start = () => {
      const peer = new window.peerjs.Peer(ownerId, server);
      peer.on('error', (e) => {
        if (e.type === 'unavailable-id') setTimeout(start, 200); // the owner's session is closing
      });
      peer.on('open', () => { window.fakeOpen = true; });
      const mine = window.protocolDoc.makeIdentity(crypto.getRandomValues(new Uint8Array(32)));
      // Claims to be the owner, but cannot sign with the owner's key.
      const forger = { id: ownerId, secretKey: mine.secretKey };
      peer.on('connection', (conn) => {
        conn.on('data', (data) => {
          try { window.received.push(JSON.parse(JSON.parse(data).body).type); } catch { window.received.push('?'); }
        });
        conn.on('open', () => conn.send(window.protocolDoc.seal(forger, { type: 'heartbeat' })));
      });
    };
    start();
  }, [ownerId, server]);
  await fake.waitForFunction(() => window.fakeOpen === true, null, { timeout: 30_000 });

  await expect(ann.getByTestId('impostor-warning')).toBeVisible({ timeout: 30_000 });
  await expect(ann.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected');
  // A vote now stays pending: nothing is sent to the impostor but the initial sync request (and
  // the content-free channel:bind:request of PROTOCOL.md §2.7).
  await ann.getByTestId('vote-option-1').click();
  await expect(ann.getByTestId('pending-badge')).toContainText('1');
  await fake.waitForFunction(() => window.received.length >= 2, null, { timeout: 30_000 });
  const types = await fake.evaluate(() => [...new Set(window.received)]);
  expect(types.every((t) => ['sync:request', 'heartbeat', 'channel:bind:request'].includes(t))).toBe(true);
  expect(types).not.toContain('poll:vote');
  // Still pending (the vote shows optimistically), and still not connected.
  await expect(ann.getByTestId('pending-badge')).toContainText('1');
  await expect(ann.getByTestId('tally-1')).toHaveText('1');
  await expect(ann.getByTestId('sync-status')).not.toHaveAttribute('data-state', 'connected');
});

test('a message too large for the transport is answered too-large, and the connection keeps working', async ({ newUser }) => {
  const owner = await openUser(newUser, 'Olga');
  const { ownerId, pollId } = await createPoll(owner, { title: 'Big?', options: ['Yes', 'No'] });
  const js = await protocolPage(newUser);
  const answers = await js.evaluate(
    ([ownerId, pollId, server]) =>
      new Promise((resolve, reject) => {
        const { seal, open, makeIdentity } = window.protocolDoc;
        const me = makeIdentity(crypto.getRandomValues(new Uint8Array(32)));
        const peer = new window.peerjs.Peer(me.id, server);
        const got = [];
        setTimeout(() => reject(new Error(`timed out with ${JSON.stringify(got)}`)), 30_000);
        peer.on('open', () => {
          const conn = peer.connect(ownerId, { serialization: 'binary', reliable: true });
          conn.on('open', () => {
            // ~5 MB: over the owner's reassembly cap (2 MiB, 129 chunks of 16 KiB).
            conn.send('x'.repeat(5 * 1024 * 1024));
          });
          conn.on('data', (text) => {
            const body = open(text, ownerId);
            got.push({ type: body.type, code: body.code ?? null, commandId: body.commandId ?? null });
            if (body.type === 'error' && body.code === 'too-large') {
              conn.send(seal(me, { type: 'sync:request', pollId }));
            }
            if (body.type === 'poll:state') resolve(got);
          });
        });
        peer.on('error', (e) => reject(new Error(String(e))));
      }),
    [ownerId, pollId, server],
  );
  expect(answers[0]).toEqual({ type: 'error', code: 'too-large', commandId: null });
  expect(answers.filter((a) => a.code === 'too-large')).toHaveLength(1);
  expect(answers.at(-1).type).toBe('poll:state');
});
