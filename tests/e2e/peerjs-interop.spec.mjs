// peerjs-client (Rust, web-sys) against stock JS peerjs and the real `peer` server: round trips
// in every serialization both ways, chunked messages, unavailable peers, vanished peers, server
// restarts, reloads, ID conflicts and malformed frames.
import { spawn } from 'node:child_process';
import { test, expect, peerPort } from './fixtures.mjs';
import { harnessPage, waitForEvent, events, uniqueId, rustPeer, jsPeer } from './peerjs-harness.mjs';

const MESSAGES = {
  json: { text: 'héllo ✓', n: 42, nested: { list: [1, 2.5, null, true] } },
  binary: { text: 'héllo ✓', n: 42, nested: { list: [1, 2.5, null, true] } },
  raw: 'plain text ✓',
};

// JS dials Rust (JS default options, then reliable:true), Rust echoes, JS checks what came back.
for (const serialization of ['json', 'raw', 'binary']) {
  for (const reliable of [undefined, true]) {
    const label = reliable ? 'reliable:true' : 'default options';
    test(`JS → Rust → JS round trip, ${serialization}, ${label}`, async ({ newUser }) => {
      const [rustPage, jsPage] = [await harnessPage(newUser), await harnessPage(newUser)];
      const rustId = uniqueId('R');
      const jsId = uniqueId('J');
      await rustPeer(rustPage, rustId, peerPort);
      await rustPage.evaluate((id) => window.echo.add(id), rustId);
      await jsPeer(jsPage, jsId, peerPort);
      const options = { serialization, ...(reliable ? { reliable } : {}) };
      const connId = await jsPage.evaluate(([id, remote, o]) => window.jsConnect(id, remote, o), [jsId, rustId, options]);
      await waitForEvent(jsPage, 'jsEvents', { type: 'conn-open', connectionId: connId });
      const incoming = await waitForEvent(rustPage, 'rustEvents', { type: 'connection', connectionId: connId });
      expect(incoming.peer).toBe(jsId);
      expect(incoming.serialization).toBe(serialization);
      expect(incoming.reliable).toBe(reliable === true);
      await jsPage.evaluate(([c, m]) => window.jsConns[c].send(m), [connId, MESSAGES[serialization]]);
      const echoed = await waitForEvent(jsPage, 'jsEvents', { type: 'data', connectionId: connId });
      const got = serialization === 'raw' && typeof echoed.data !== 'string'
        ? new TextDecoder().decode(new Uint8Array(Object.values(echoed.data)))
        : echoed.data;
      expect(got).toEqual(MESSAGES[serialization]);
    });
  }

  test(`Rust → JS → Rust round trip, ${serialization}`, async ({ newUser }) => {
    const [rustPage, jsPage] = [await harnessPage(newUser), await harnessPage(newUser)];
    const rustId = uniqueId('R');
    const jsId = uniqueId('J');
    await jsPeer(jsPage, jsId, peerPort);
    await jsPage.evaluate((id) => window.echo.add(id), jsId);
    await rustPeer(rustPage, rustId, peerPort);
    const connId = await rustPage.evaluate(([id, remote, s]) => window.rustPeers[id].connect(remote, s), [rustId, jsId, serialization]);
    await waitForEvent(rustPage, 'rustEvents', { type: 'conn-open', connectionId: connId });
    const incoming = await waitForEvent(jsPage, 'jsEvents', { type: 'connection', connectionId: connId });
    expect(incoming.serialization).toBe(serialization);
    expect(incoming.reliable).toBe(true);
    await rustPage.evaluate(([id, c, m]) => window.rustPeers[id].send(c, m), [rustId, connId, MESSAGES[serialization]]);
    const echoed = await waitForEvent(rustPage, 'rustEvents', { type: 'data', connectionId: connId });
    expect(echoed.data).toEqual(MESSAGES[serialization]);
    // The JS side saw exactly the value Rust sent (no liveness pings or other frames).
    const jsData = await events(jsPage, 'jsEvents', { type: 'data', connectionId: connId });
    expect(jsData.map((e) => e.data)).toEqual([MESSAGES[serialization]]);
  });
}

test('binary messages larger than 16,300 bytes are chunked and arrive intact both ways', async ({ newUser }) => {
  const [rustPage, jsPage] = [await harnessPage(newUser), await harnessPage(newUser)];
  const rustId = uniqueId('R');
  const jsId = uniqueId('J');
  await rustPeer(rustPage, rustId, peerPort);
  await jsPeer(jsPage, jsId, peerPort);
  const connId = await jsPage.evaluate(([id, remote]) => window.jsConnect(id, remote, { serialization: 'binary', reliable: true }), [jsId, rustId]);
  await waitForEvent(jsPage, 'jsEvents', { type: 'conn-open', connectionId: connId });
  await waitForEvent(rustPage, 'rustEvents', { type: 'conn-open', connectionId: connId });
  // JS → Rust: 100 kB of text plus 50 kB of bytes in one message.
  const checksum = await jsPage.evaluate((c) => {
    const bytes = new Uint8Array(50_000).map((_, i) => (i * 7) % 256);
    const text = 'x'.repeat(100_000) + 'end';
    window.jsConns[c].send({ text, bytes });
    return { textLength: text.length, byteSum: bytes.reduce((a, b) => a + b, 0) };
  }, connId);
  const big = await waitForEvent(rustPage, 'rustEvents', { type: 'data', connectionId: connId });
  expect(big.data.text.length).toBe(checksum.textLength);
  expect(big.data.text.endsWith('end')).toBe(true);
  const bytes = Object.values(big.data.bytes);
  expect(bytes.length).toBe(50_000);
  expect(bytes.reduce((a, b) => a + b, 0)).toBe(checksum.byteSum);
  // Rust → JS: 200 kB string.
  await rustPage.evaluate(([id, c]) => window.rustPeers[id].send(c, { big: 'y'.repeat(200_000) + '!' }), [rustId, connId]);
  const back = await waitForEvent(jsPage, 'jsEvents', { type: 'data', connectionId: connId });
  expect(back.data.big.length).toBe(200_001);
  expect(back.data.big.endsWith('!')).toBe(true);
});

test('dialing an ID that is not online fails with peer-unavailable within 7 s', async ({ newUser }) => {
  const page = await harnessPage(newUser);
  const rustId = uniqueId('R');
  await rustPeer(page, rustId, peerPort);
  const started = Date.now();
  const connId = await page.evaluate((id) => window.rustPeers[id].connect('nobodyhere' + Date.now(), 'json'), rustId);
  const error = await waitForEvent(page, 'rustEvents', { type: 'conn-error', connectionId: connId }, 10_000);
  const elapsed = Date.now() - started;
  console.log(`peer-unavailable after ${elapsed} ms`);
  expect(error.message).toContain('peer-unavailable');
  expect(elapsed).toBeLessThan(7_000);
  await waitForEvent(page, 'rustEvents', { type: 'conn-close', connectionId: connId });
  expect(await page.evaluate((id) => window.rustPeers[id].openConnections(), rustId)).toBe(0);
});

test('a remote tab that vanishes is reported closed within 5 s', async ({ newUser }) => {
  const [a, b] = [await harnessPage(newUser), await harnessPage(newUser)];
  const idA = uniqueId('R');
  const idB = uniqueId('R');
  await rustPeer(a, idA, peerPort);
  await rustPeer(b, idB, peerPort);
  const connId = await a.evaluate(([id, remote]) => window.rustPeers[id].connect(remote, 'json'), [idA, idB]);
  await waitForEvent(a, 'rustEvents', { type: 'conn-open', connectionId: connId });
  await waitForEvent(b, 'rustEvents', { type: 'conn-open', connectionId: connId });
  // Let liveness start (the answerer pings first, then the dialer joins in).
  await a.waitForTimeout(1_500);
  const closedAt = Date.now();
  // Simulate a crash: no pagehide handler runs, nothing is closed cleanly.
  // (The CDP call does not answer once the renderer is gone: don't wait for it.)
  const session = await b.context().newCDPSession(b);
  session.send('Page.crash').catch(() => {});
  const closed = await waitForEvent(a, 'rustEvents', { type: 'conn-close', connectionId: connId }, 10_000);
  expect(closed).toBeTruthy();
  const elapsed = Date.now() - closedAt;
  console.log(`vanished peer reported closed after ${elapsed} ms`);
  expect(elapsed).toBeLessThan(5_500);
});

test('after the server restarts, the Rust peer reconnects with the same ID and accepts connections', async ({ newUser }) => {
  const port = 9400 + Math.floor(Math.random() * 500);
  const startServer = () => {
    const server = spawn('node', ['tests/support/peer-server.mjs', '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise((resolve) => server.stdout.on('data', (d) => String(d).includes('listening') && resolve(server)));
  };
  let server = await startServer();
  try {
    const [rustPage, jsPage] = [await harnessPage(newUser), await harnessPage(newUser)];
    const rustId = uniqueId('R');
    await rustPeer(rustPage, rustId, port);
    await rustPage.evaluate((id) => window.echo.add(id), rustId);
    server.kill('SIGKILL');
    await waitForEvent(rustPage, 'rustEvents', { peerId: rustId, type: 'disconnected' });
    server = await startServer();
    // Registered again by itself (second 'open').
    await rustPage.waitForFunction((id) => window.rustEvents.filter((e) => e.peerId === id && e.type === 'open').length >= 2, rustId, { timeout: 40_000 });
    const jsId = uniqueId('J');
    await jsPeer(jsPage, jsId, port);
    const connId = await jsPage.evaluate(([id, remote]) => window.jsConnect(id, remote, { serialization: 'json', reliable: true }), [jsId, rustId]);
    await waitForEvent(jsPage, 'jsEvents', { type: 'conn-open', connectionId: connId });
    await jsPage.evaluate((c) => window.jsConns[c].send({ after: 'restart' }), connId);
    const echoed = await waitForEvent(jsPage, 'jsEvents', { type: 'data', connectionId: connId });
    expect(echoed.data).toEqual({ after: 'restart' });
  } finally {
    server.kill('SIGKILL');
  }
});

test('a reload registers the same ID again without ID-TAKEN (same token)', async ({ newUser }) => {
  const page = await harnessPage(newUser);
  const rustId = uniqueId('R');
  await rustPeer(page, rustId, peerPort, 'persistedtoken1');
  await page.reload();
  await page.waitForFunction(() => window.harnessReady === true);
  await rustPeer(page, rustId, peerPort, 'persistedtoken1');
  expect(await events(page, 'rustEvents', { type: 'error' })).toEqual([]);
});

test('the same ID with a different token gets a clear unavailable-id', async ({ newUser }) => {
  const [a, b] = [await harnessPage(newUser), await harnessPage(newUser)];
  const id = uniqueId('R');
  await rustPeer(a, id, peerPort, 'tokenone');
  await b.evaluate(([id, port]) => window.makeRustPeer(id, 'othertoken', '127.0.0.1', port, '/'), [id, peerPort]);
  const error = await waitForEvent(b, 'rustEvents', { type: 'error', peerId: id });
  expect(error.kind).toBe('unavailable-id');
});

test('malformed frames from the server and from a peer give typed errors and the peer keeps working', async ({ newUser }) => {
  const [rustPage, jsPage] = [await harnessPage(newUser), await harnessPage(newUser)];
  const rustId = uniqueId('R');
  const jsId = uniqueId('J');
  await rustPeer(rustPage, rustId, peerPort);
  await rustPage.evaluate((id) => window.echo.add(id), rustId);
  // A raw WebSocket client relays a malformed OFFER through the real server.
  await jsPage.evaluate(([port, dst]) => new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/peerjs?key=peerjs&id=rawbot${Date.now()}&token=t1`);
    ws.onmessage = () => {
      ws.send(JSON.stringify({ type: 'OFFER', dst, payload: { nonsense: true } }));
      ws.send(JSON.stringify({ type: 'CANDIDATE', dst, payload: 17 }));
      setTimeout(() => { ws.close(); resolve(); }, 200);
    };
  }), [peerPort, rustId]);
  const bad = await waitForEvent(rustPage, 'rustEvents', { type: 'error', peerId: rustId });
  expect(bad.kind).toBe('invalid-message');
  // A peer sends garbage bytes on a json connection: typed error, connection still works.
  await jsPeer(jsPage, jsId, peerPort);
  const connId = await jsPage.evaluate(([id, remote]) => window.jsConnect(id, remote, { serialization: 'json', reliable: true }), [jsId, rustId]);
  await waitForEvent(jsPage, 'jsEvents', { type: 'conn-open', connectionId: connId });
  await jsPage.evaluate((c) => window.jsConns[c].dataChannel.send(new Uint8Array([123, 0, 255, 1]).buffer), connId);
  const frameError = await waitForEvent(rustPage, 'rustEvents', { type: 'conn-error', connectionId: connId });
  expect(frameError.message).toContain('not JSON');
  await jsPage.evaluate((c) => window.jsConns[c].send({ still: 'alive' }), connId);
  const echoed = await waitForEvent(jsPage, 'jsEvents', { type: 'data', connectionId: connId });
  expect(echoed.data).toEqual({ still: 'alive' });
});
