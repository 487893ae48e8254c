// The benchmark scenarios of issue 7 (B1–B5, B8), each one repetition: they return raw samples in
// milliseconds (or bytes), and the runner (run.mjs) aggregates repetitions. Every scenario and its
// baseline run in the same browser, against the same servers, one after the other.
import { withHelpers, startCpu } from './lib.mjs';
import { storedOutbox, processedRecords } from '../tests/e2e/idb.mjs';

// ---- stock peerjs baselines ----

/** A stock peerjs peer in `page` under a random ID, answering with `onConnection(conn)` code. */
async function stockPeer(page, server, echo) {
  return page.evaluate(([server, echo]) => new Promise((resolve, reject) => {
    const peer = new peerjs.Peer(window.bench.randomId(), server);
    peer.on('open', resolve);
    peer.on('error', reject);
    if (echo) peer.on('connection', (conn) => conn.on('data', (d) => conn.send(d)));
    window.stockPeer = peer;
  }), [server, echo]);
}

/** B1: stock peerjs JSON ping RTT between two contexts, and one IndexedDB put+commit. */
export async function b1(bench, { pings = 200 } = {}) {
  const a = await bench.stockPage();
  const b = await bench.stockPage();
  const idB = await stockPeer(b, bench.server, true);
  await stockPeer(a, bench.server, false);
  const rtt = await a.evaluate(async ([idB, n]) => {
    const conn = window.stockPeer.connect(idB, { serialization: 'json', reliable: true });
    await new Promise((r) => conn.on('open', r));
    let answer;
    conn.on('data', (d) => answer(d));
    const out = [];
    for (let i = 0; i < n + 10; i++) {
      const got = new Promise((r) => { answer = r; });
      const t0 = performance.now();
      conn.send({ i, pad: 'x'.repeat(400) });
      await got;
      if (i >= 10) out.push(performance.now() - t0); // the first 10 warm up
    }
    return out;
  }, [idB, pings]);
  const idb = await a.evaluate(async (n) => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open(`bench-${Math.random()}`, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('kv');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const out = [];
    for (let i = 0; i < n + 10; i++) {
      const t0 = performance.now();
      await new Promise((resolve, reject) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(JSON.stringify({ i, pad: 'x'.repeat(400) }), `k${i}`);
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      if (i >= 10) out.push(performance.now() - t0);
    }
    return out;
  }, pings);
  return { rtt, idb };
}

/** Owner + one joined participant (app pages), with in-page helpers. */
export async function ownerAndAnn(bench, options = ['A', 'B']) {
  const owner = await withHelpers(await bench.appUser('Olga'));
  const poll = await bench.createPoll(owner, 'Bench', options);
  const ann = await withHelpers(await bench.joined(poll.link, 'Ann'));
  return { owner, ann, ...poll };
}

/** B2: click a vote → the owner's ack → the pending badge is gone, `votes` times. */
export async function b2(bench, { votes = 200 } = {}) {
  const { ann } = await ownerAndAnn(bench);
  return ann.evaluate(async (n) => {
    const badge = () => document.querySelector('[data-testid="pending-badge"]');
    const out = [];
    for (let i = 0; i < n; i++) {
      const button = document.querySelector(`[data-testid="vote-option-${i % 2}"]`);
      const t0 = window.bench.now();
      button.click();
      await window.bench.until(() => badge());
      out.push((await window.bench.until(() => !badge())) - t0);
    }
    return out;
  }, votes);
}

/** Brings the owner back and measures the drain: starts watching participant `ann` (offline,
 * with queued commands) first, so that the moment its link comes up is seen whenever it happens,
 * then opens the owner's page with `openOwner()` and waits until `ann` has no pending command and
 * the owner shows revision `target`, clicking Retry so that `ann` dials at once instead of after
 * its backoff. Returns the owner's page and the in-page times of each. */
export async function drain(ann, openOwner, target) {
  const annDone = ann.evaluate(async () => {
    const connected = await window.bench.until(
      () => document.querySelector('[data-testid="sync-status"][data-state="connected"]'));
    const drained = await window.bench.until(() => !document.querySelector('[data-testid="pending-badge"]'));
    return { connected, drained };
  });
  const back = await openOwner();
  const ownerDone = back.evaluate((target) => window.bench.until(
    () => Number(document.querySelector('[data-testid="revision"]')?.textContent) >= target), target);
  let settled = false;
  annDone.then(() => { settled = true; });
  while (!settled) {
    const retry = await ann.$('[data-testid="sync-retry"]');
    if (retry) await retry.click().catch(() => {});
    await ann.waitForTimeout(500);
  }
  return { back, ...(await annDone), ownerAt: await ownerDone };
}

/** B4: `n` votes queued while the owner is away; the owner returns; from the moment the
 * participant's link is verified until every command is acked and both pages show the final
 * state. Also counts lost and duplicated commands from the owner's records. */
export async function b4(bench, { n = 1000 } = {}) {
  const { owner, ann, ownerId, pollId } = await ownerAndAnn(bench);
  const r0 = Number(await owner.textContent('[data-testid="revision"]'));
  const ownerContext = owner.context();
  await owner.close();
  await ann.waitForSelector('[data-testid="sync-status"]:not([data-state="connected"])', { timeout: 30_000 });
  await ann.evaluate((n) => {
    for (let i = 0; i < n; i++) document.querySelector(`[data-testid="vote-option-${i % 2}"]`).click();
  }, n);
  for (let i = 0; i < 600 && (await storedOutbox(ann)).length < n; i++) await ann.waitForTimeout(100);
  const stored = (await storedOutbox(ann)).length;

  const { back, connected, drained, ownerAt } = await drain(ann, async () => {
    const back = await ownerContext.newPage();
    await back.goto(bench.url(`/p/${ownerId}/${pollId}`));
    await back.waitForSelector('[data-testid="revision"]');
    return withHelpers(back);
  }, r0 + n);
  const finalOption = (n - 1) % 2;
  await ann.waitForSelector(`[data-testid="tally-${finalOption}"]:has-text("1")`);
  const records = await processedRecords(back, pollId);
  const acked = records.filter((r) => r.outcome.outcome === 'acked' && r.outcome.revision > r0);
  const revisions = acked.map((r) => r.outcome.revision).sort((a, b) => a - b);
  const distinct = new Set(revisions).size;
  return {
    ms: Math.max(drained, ownerAt) - connected,
    stored,
    applied: acked.length,
    lost: n - acked.length,
    duplicated: acked.length - distinct,
    consecutive: revisions.every((r, i) => r === r0 + 1 + i),
  };
}

/** B4 baseline: stock peerjs sends `n` messages of a sealed frame's size; until the last arrives. */
export async function b4Baseline(bench, { n = 1000 } = {}) {
  const a = await bench.stockPage();
  const b = await bench.stockPage();
  const idB = await stockPeer(b, bench.server, false);
  await stockPeer(a, bench.server, false);
  await b.evaluate((n) => {
    window.lastArrival = new Promise((resolve) => {
      window.stockPeer.on('connection', (conn) => {
        let count = 0;
        conn.on('data', () => { if (++count === n) resolve(window.bench.now()); });
      });
    });
  }, n);
  const t0 = await a.evaluate(async ([idB, n]) => {
    const conn = window.stockPeer.connect(idB, { serialization: 'json', reliable: true });
    await new Promise((r) => conn.on('open', r));
    const t0 = window.bench.now();
    for (let i = 0; i < n; i++) conn.send({ i, pad: 'x'.repeat(400) });
    return t0;
  }, [idB, n]);
  return (await b.evaluate(() => window.lastArrival)) - t0;
}

/** B5: an invite link opened in a fresh context → the poll is rendered with live tallies. */
export async function b5(bench, { samples = 5 } = {}) {
  const { link } = await ownerAndAnn(bench);
  const out = [];
  for (let i = 0; i < samples; i++) {
    const page = await (await bench.context()).newPage();
    const t0 = performance.now();
    await page.goto(link);
    await page.waitForSelector('[data-testid="sync-status"][data-state="connected"]');
    await page.waitForSelector('[data-testid="tally-0"]');
    out.push(performance.now() - t0);
    await page.context().close();
  }
  return out;
}

/** B5 baseline: a fresh context loads a page with stock peerjs and opens a connection. */
export async function b5Baseline(bench, { samples = 5 } = {}) {
  const target = await bench.stockPage();
  const id = await stockPeer(target, bench.server, true);
  const out = [];
  for (let i = 0; i < samples; i++) {
    const context = await bench.context();
    const t0 = performance.now();
    const page = await bench.stockPage(context);
    await stockPeer(page, bench.server, false);
    await page.evaluate((id) => new Promise((resolve) => {
      window.stockPeer.connect(id, { serialization: 'json', reliable: true }).on('open', resolve);
    }), id);
    out.push(performance.now() - t0);
    await context.close();
  }
  return out;
}

/** B6: cold load of `path` in a fresh context until `selector` is shown. */
export async function coldLoad(bench, path, selector, { samples = 5 } = {}) {
  const out = [];
  for (let i = 0; i < samples; i++) {
    const context = await bench.context();
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(path.startsWith('http') ? path : bench.url(path));
    await page.waitForSelector(selector);
    out.push(performance.now() - t0);
    await context.close();
  }
  return out;
}

// ---- B3 fan-out and B8 ----

/** In-page code that starts `k` PROTOCOL.md §6 participants of one poll and records, per client
 * and revision, when its `poll:event` frame arrived (`window.arrived`, read from the unverified
 * body) and when the client had verified and applied it (`window.applied`, checked in a
 * microtask after the participant's own listener). A `data` listener is added to each client's
 * connection by wrapping the stock `Peer.prototype.connect`. */
function startClients([server, ownerId, pollId, k]) {
  const { Peer } = window.peerjs;
  const connect = Peer.prototype.connect;
  const byId = {};
  window.applied = {}; // client peer ID -> { revision -> time }
  window.arrived = {};
  Peer.prototype.connect = function (...args) {
    const conn = connect.apply(this, args);
    const id = this.id;
    conn.on('data', (data) => {
      const at = window.bench.now();
      try {
        const body = JSON.parse(JSON.parse(data).body);
        if (body.type === 'poll:event') window.arrived[id][body.revision] ??= at;
      } catch { /* not a frame */ }
      queueMicrotask(() => {
        const view = byId[id]?.getView();
        if (view && !(view.revision in window.applied[id])) window.applied[id][view.revision] = window.bench.now();
      });
    });
    return conn;
  };
  window.clients = Array.from({ length: k }, (_, i) => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const client = window.protocolDoc.participate({ seed, ownerId, pollId, name: `Light ${i}`, server });
    byId[client.id] = client;
    window.applied[client.id] = {};
    window.arrived[client.id] = {};
    return client;
  });
}

/** B3 (and B8 at n = 50): the owner votes `votes` times; for each, the time until all `n`
 * participants have the new tally: one participant is an app page, timed when its DOM tally
 * changes; the others are PROTOCOL.md §6 clients (stock peerjs, ed25519 from the app's dalek
 * code as wasm in place of tweetnacl-js), 25 per page,
 * timed when the event frame arrives (`samples`) and when they verified and applied it
 * (`applied`; serialised on their page's one thread, see BENCHMARKS.md). */
export async function b3(bench, { n, votes = 20, profile = false, cpuProfile = false }) {
  const owner = await withHelpers(await bench.appUser('Olga'));
  const { ownerId, pollId, link } = await bench.createPoll(owner, 'Fan-out', ['A', 'B']);
  // Up to 10 participants are app pages; beyond that, one app page and §6 clients.
  const appCount = n <= 10 ? n : 1;
  const apps = [];
  for (let i = 0; i < appCount; i++) apps.push(await withHelpers(await bench.joined(link, `App ${i}`)));
  const pages = [];
  for (let i = 0; i < n - appCount; i += 25) {
    const page = await bench.stockPage(undefined, { dalek: true });
    await page.evaluate(startClients, [bench.server, ownerId, pollId, Math.min(25, n - appCount - i)]);
    pages.push(page);
  }
  await owner.waitForFunction((n) => document.querySelector('[data-testid="participant-count"]')?.textContent === String(n), n, { timeout: 90_000 });
  const r0 = Number(await owner.textContent('[data-testid="revision"]'));
  for (const page of pages) {
    await page.waitForFunction(() => window.clients.every((c) => c.getView()), null, { timeout: 60_000 });
  }
  const profiler = cpuProfile ? await startCpu(owner, 200) : null;
  let cdp;
  if (profile) {
    cdp = await owner.context().newCDPSession(owner);
    await cdp.send('Performance.enable');
    await owner.evaluate(() => {
      window.longest = { task: 0, lag: 0 };
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.longest.task = Math.max(window.longest.task, e.duration);
      }).observe({ type: 'longtask' });
      let last = performance.now();
      window.lagTimer = setInterval(() => {
        const now = performance.now();
        window.longest.lag = Math.max(window.longest.lag, now - last - 10);
        last = now;
      }, 10);
    });
  }
  const out = [];
  const appliedOut = [];
  const appOut = [];
  for (let j = 0; j < votes; j++) {
    const revision = r0 + j + 1;
    const appRendered = apps.map((app) => app.evaluate((option) => window.bench.until(
      () => document.querySelector(`[data-testid="tally-${option}"]`)?.textContent === '1'), j % 2));
    const t0 = await owner.evaluate((option) => {
      const t0 = window.bench.now();
      document.querySelector(`[data-testid="vote-option-${option}"]`).click();
      return t0;
    }, j % 2);
    const rendered = Math.max(...await Promise.all(appRendered));
    const arrived = [rendered];
    const applied = [rendered];
    for (const page of pages) {
      const times = await page.evaluate((revision) => new Promise((resolve) => {
        const check = () => {
          const ids = Object.keys(window.applied);
          if (ids.every((id) => window.applied[id][revision] !== undefined)) {
            resolve(ids.map((id) => [window.arrived[id][revision], window.applied[id][revision]]));
          } else setTimeout(check, 5);
        };
        check();
      }), revision);
      arrived.push(...times.map(([a]) => a));
      applied.push(...times.map(([, b]) => b));
    }
    out.push(Math.max(...arrived) - t0);
    appliedOut.push(Math.max(...applied) - t0);
    appOut.push(rendered - t0);
  }
  const cpu = profiler ? await profiler.send('Profiler.stop') : undefined;
  let b8;
  if (profile) {
    const { metrics } = await cdp.send('Performance.getMetrics');
    const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN;
    const longest = await owner.evaluate(() => { clearInterval(window.lagTimer); return window.longest; });
    b8 = { heapMB: heap / 1048576, longestTaskMs: longest.task, maxLoopLagMs: longest.lag };
  }
  return { samples: out, applied: appliedOut, app: appOut, b8, cpu };
}

/** B3 baseline: a stock peerjs owner sends one message to `n` stock peers, `votes` times; the
 * time until the last one received it. Setup is not what is measured, so a stock peer whose
 * connection to the owner does not open within 15 s is destroyed and made again (up to 3 times);
 * if one still fails, the error says which and how (the row then shows it). */
export async function b3Baseline(bench, { n, votes = 20 }) {
  const owner = await bench.stockPage();
  const ownerPeerId = await stockPeer(owner, bench.server, false);
  await owner.evaluate(() => {
    // Open connections by the peer at the other end: a retried peer's abandoned connection
    // closes and leaves; the send loop skips any that is no longer open.
    window.conns = new Map();
    window.stockPeer.on('connection', (conn) => {
      conn.on('open', () => window.conns.set(conn.peer, conn));
      conn.on('close', () => { if (window.conns.get(conn.peer) === conn) window.conns.delete(conn.peer); });
    });
  });
  const pages = [];
  let retried = 0;
  for (let i = 0; i < n; i += 25) {
    const page = await bench.stockPage();
    // One peer after another: 25 simultaneous WebRTC handshakes in one page sometimes never
    // all open on this machine.
    retried += await page.evaluate(async ([server, ownerPeerId, k, first]) => {
      window.arrivals = [];
      let retried = 0;
      const attempt = (i) => new Promise((resolve, reject) => {
        const peer = new peerjs.Peer(window.bench.randomId(), server);
        const timer = setTimeout(() => { peer.destroy(); reject(new Error('no open connection after 15 s')); }, 15_000);
        peer.on('error', (e) => { clearTimeout(timer); peer.destroy(); reject(e); });
        peer.on('open', () => {
          const conn = peer.connect(ownerPeerId, { serialization: 'json', reliable: true });
          conn.on('open', () => {
            clearTimeout(timer);
            window.arrivals[i] = {};
            conn.on('data', (d) => { window.arrivals[i][d.j] = window.bench.now(); });
            resolve();
          });
        });
      });
      for (let i = 0; i < k; i++) {
        for (let tries = 1; ; tries++) {
          try {
            await attempt(i);
            break;
          } catch (e) {
            if (tries === 3) throw new Error(`stock peer ${first + i + 1} of the baseline failed 3 times, last: ${e.type ?? ''} ${e.message}`);
            retried++;
          }
        }
      }
      return retried;
    }, [bench.server, ownerPeerId, Math.min(25, n - i), i]);
    pages.push(page);
  }
  await owner.waitForFunction((n) => window.conns.size >= n, n, { timeout: 120_000 }).catch(async () => {
    const open = await owner.evaluate(() => window.conns.size);
    throw new Error(`the stock owner saw ${open} of ${n} connections open after 120 s (${retried} peers retried)`);
  });
  const out = [];
  for (let j = 0; j < votes; j++) {
    const t0 = await owner.evaluate((j) => {
      const t0 = window.bench.now();
      for (const c of window.conns.values()) if (c.open) c.send({ j, pad: 'x'.repeat(600) });
      return t0;
    }, j);
    const times = [];
    for (const page of pages) {
      times.push(...await page.evaluate((j) => new Promise((resolve) => {
        const check = () => {
          const all = window.arrivals.map((a) => a[j]);
          if (all.every((t) => t !== undefined)) resolve(all); else setTimeout(check, 5);
        };
        check();
      }), j));
    }
    out.push(Math.max(...times) - t0);
  }
  return out;
}
