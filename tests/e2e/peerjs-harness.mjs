// Helpers for the peerjs-client interop tests: pages running the Rust client (through the
// harness in tests/peerjs-harness) and stock JS peerjs, each logging events that tests wait on.

/** Opens the harness page in a fresh context (a separate browser user). */
export async function harnessPage(newUser) {
  const context = await newUser();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/harness/index.html');
  await page.waitForFunction(() => window.harnessReady === true);
  return page;
}

/** Waits until an event matching every field of `match` is logged in `log` ('rustEvents' or 'jsEvents'). */
export async function waitForEvent(page, log, match, timeout = 15_000) {
  const handle = await page.waitForFunction(
    ([log, match]) =>
      window[log].find((e) => Object.entries(match).every(([k, v]) => e[k] === v)),
    [log, match],
    { timeout },
  );
  return handle.jsonValue();
}

/** Events in `log` matching `match`, now. */
export async function events(page, log, match) {
  return page.evaluate(
    ([log, match]) =>
      window[log].filter((e) => Object.entries(match).every(([k, v]) => e[k] === v)),
    [log, match],
  );
}

let counter = 0;
/** A unique PeerJS ID for a test. */
export function uniqueId(prefix) {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter}`;
}

/** Starts a Rust peer in `page` and waits for it to register. */
export async function rustPeer(page, id, port, token = 'tok' + id.toLowerCase()) {
  await page.evaluate(([id, token, port]) => {
    window.makeRustPeer(id, token, '127.0.0.1', port, '/');
  }, [id, token, port]);
  await waitForEvent(page, 'rustEvents', { peerId: id, type: 'open' });
}

/** Starts a stock PeerJS peer in `page` and waits for it to register. */
export async function jsPeer(page, id, port) {
  await page.evaluate(([id, port]) => window.makeJsPeer(id, port), [id, port]);
  await waitForEvent(page, 'jsEvents', { peerId: id, type: 'open' });
}
