// Profiles the B2 and B4 scenarios of issue 7 (not part of the benchmark run; it measures the
// same flows with instruments attached, so its times are a little slower than bench/run.mjs's).
//   node bench/profile.mjs [--votes 50] [--n 1000] [--only B2,B4] [--no-cpu] [--dump DIR]
// --dump DIR also writes each page's raw CPU profile to DIR/<scenario>-<page>.cpuprofile (open it
// in Chrome DevTools' Performance panel, or sum inclusive times with bench/cpuprofile.mjs).
// For every app page it records, with a clock shared by all pages (timeOrigin + now):
// data-channel sends and receives larger than 100 bytes (frames, not liveness pings), every
// IndexedDB transaction (stores, mode, created → complete), and, unless --no-cpu, a CPU profile
// (CDP Profiler, 100 µs sampling) summarised as self time per function and per kind (wasm, JS,
// native "(program)", GC, idle).
// B2: per vote, the stages click → participant sends → owner receives → owner sends → participant
// receives → badge gone, plus the owner's revision rendered; B4: the drain's totals.
import { Bench, freePort, launch, startServers, quantile, round, withHelpers, startCpu, summarizeCpu } from './lib.mjs';
import { drain, ownerAndAnn } from './scenarios.mjs';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const votes = Number(arg('votes', 50));
const n = Number(arg('n', 1000));
const only = arg('only', 'B2,B4').split(',');
const cpu = !args.includes('--no-cpu');
const dump = arg('dump', null);

/** Stops the profilers of `pages` (named), writes the raw profiles under --dump, summarises. */
async function stopCpu(scenario, cdps, names) {
  return Promise.all(cdps.map(async (c, i) => {
    const answer = await c.send('Profiler.stop');
    if (dump) {
      fs.mkdirSync(dump, { recursive: true });
      fs.writeFileSync(path.join(dump, `${scenario}-${names[i]}.cpuprofile`), JSON.stringify(answer.profile));
    }
    return summarizeCpu(answer);
  }));
}

/** Runs in every page before its scripts: timestamps frames and IndexedDB transactions. */
function instrument() {
  const now = () => performance.timeOrigin + performance.now();
  const t = { sent: [], recv: [], tx: [] };
  window.__prof = t;
  const size = (d) => d?.byteLength ?? d?.length ?? d?.size ?? 0;
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (d) {
    if (size(d) > 100) t.sent.push(now());
    return send.call(this, d);
  };
  const wrapped = new WeakMap();
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  EventTarget.prototype.addEventListener = function (type, fn, opts) {
    if (type === 'message' && this instanceof RTCDataChannel && typeof fn === 'function') {
      const w = function (e) {
        if (size(e.data) > 100) t.recv.push(now());
        return fn.call(this, e);
      };
      wrapped.set(fn, w);
      return add.call(this, type, w, opts);
    }
    return add.call(this, type, fn, opts);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, opts) {
    return remove.call(this, type, wrapped.get(fn) ?? fn, opts);
  };
  const transaction = IDBDatabase.prototype.transaction;
  IDBDatabase.prototype.transaction = function (stores, mode, ...rest) {
    const tx = transaction.call(this, stores, mode, ...rest);
    const rec = { at: now(), stores: [].concat(stores).join('+'), mode: mode ?? 'readonly', done: null };
    t.tx.push(rec);
    const end = () => { rec.done = now(); };
    add.call(tx, 'complete', end);
    add.call(tx, 'abort', end);
    return tx;
  };
}

/** CPU seconds so far of the page's main thread and of its renderer process (CDP metrics):
 * unlike wall times, these hardly move when other processes load the machine. */
async function cpuTimes(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const get = (name) => metrics.find((m) => m.name === name)?.value ?? NaN;
  return { thread: get('ThreadTime'), process: get('ProcessTime') };
}

const cpuDelta = (a, b, per) => `main thread ${round(((b.thread - a.thread) * 1000) / per)} ms, renderer process ${round(((b.process - a.process) * 1000) / per)} ms`;

const txSummary = (txs) => {
  const groups = {};
  for (const tx of txs) {
    const key = `${tx.stores} ${tx.mode}`;
    (groups[key] ??= []).push(tx.done ? tx.done - tx.at : NaN);
  }
  return Object.fromEntries(Object.entries(groups).map(([k, d]) => [k, { count: d.length, p50: round(quantile(d, 0.5)), total: round(d.reduce((a, b) => a + b, 0), 0) }]));
};

const appPort = Number(process.env.BENCH_APP_PORT) || await freePort();
const peerPort = Number(process.env.BENCH_PEER_PORT) || await freePort();
const stop = await startServers({ appPort, peerPort });
const browser = await launch();
const bench = new Bench(browser, appPort, peerPort);
const context = bench.context.bind(bench);
bench.context = async () => {
  const c = await context();
  await c.addInitScript(instrument);
  return c;
};

const reset = (page) => page.evaluate(() => { const t = window.__prof; t.sent.length = 0; t.recv.length = 0; t.tx.length = 0; });
const take = (page) => page.evaluate(() => window.__prof);

try {
  if (only.includes('B2')) {
    const { owner, ann } = await ownerAndAnn(bench);
    // What the pages burn while nothing happens (timers, heartbeats), per second.
    const idle0 = await Promise.all([cpuTimes(owner), cpuTimes(ann)]);
    await owner.waitForTimeout(2000);
    const idle1 = await Promise.all([cpuTimes(owner), cpuTimes(ann)]);
    console.log(`  idle CPU per second: owner ${cpuDelta(idle0[0], idle1[0], 2)}; participant ${cpuDelta(idle0[1], idle1[1], 2)}`);
    await Promise.all([reset(owner), reset(ann)]);
    const cpu0 = await Promise.all([cpuTimes(owner), cpuTimes(ann)]);
    const cdps = cpu ? await Promise.all([startCpu(owner), startCpu(ann)]) : [];
    // The owner's revision rendered, per vote (like the participant's badge, via the DOM).
    await owner.evaluate(() => {
      window.rendered = [];
      const el = () => document.querySelector('[data-testid="revision"]');
      let last = el()?.textContent;
      new MutationObserver(() => {
        const r = el()?.textContent;
        if (r !== last) { last = r; window.rendered.push(window.bench.now()); }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const clicks = await ann.evaluate(async (n) => {
      const badge = () => document.querySelector('[data-testid="pending-badge"]');
      const out = [];
      for (let i = 0; i < n; i++) {
        const button = document.querySelector(`[data-testid="vote-option-${i % 2}"]`);
        const t0 = window.bench.now();
        button.click();
        await window.bench.until(() => badge());
        out.push([t0, await window.bench.until(() => !badge())]);
        await new Promise((r) => setTimeout(r, 20)); // separates the votes' trailing work
      }
      return out;
    }, votes);
    const cpu1 = await Promise.all([cpuTimes(owner), cpuTimes(ann)]);
    const cpus = cpu ? await stopCpu('B2', cdps, ['owner', 'participant']) : [];
    const o = await take(owner);
    const a = await take(ann);
    const rendered = await owner.evaluate(() => window.rendered);
    const stages = { 'click→ann sends': [], 'ann sends→owner recv': [], 'owner recv→owner sends(last)': [], 'owner sends→ann recv(last)': [], 'ann recv(last)→badge gone': [], 'click→badge gone': [], 'owner recv→owner rendered': [] };
    const after = (list, t) => list.filter((x) => x >= t);
    for (const [t0, t6] of clicks) {
      const t1 = after(a.sent, t0)[0];
      const t2 = after(o.recv, t1)[0];
      const oSends = o.sent.filter((x) => x >= t2 && x <= t6);
      const t3 = oSends[oSends.length - 1];
      const aRecv = a.recv.filter((x) => x >= t3 && x <= t6);
      const t5 = aRecv[aRecv.length - 1];
      const t4 = after(rendered, t2)[0];
      stages['click→ann sends'].push(t1 - t0);
      stages['ann sends→owner recv'].push(t2 - t1);
      stages['owner recv→owner sends(last)'].push(t3 - t2);
      stages['owner sends→ann recv(last)'].push(t5 - t3);
      stages['ann recv(last)→badge gone'].push(t6 - t5);
      stages['click→badge gone'].push(t6 - t0);
      stages['owner recv→owner rendered'].push(t4 - t2);
    }
    console.log(`B2 profile, ${votes} votes (p50 / p90 ms per stage):`);
    for (const [k, v] of Object.entries(stages)) console.log(`  ${k.padEnd(32)} ${round(quantile(v, 0.5))} / ${round(quantile(v, 0.9))}`);
    console.log(`  CPU per vote: owner ${cpuDelta(cpu0[0], cpu1[0], votes)}; participant ${cpuDelta(cpu0[1], cpu1[1], votes)}`);
    console.log(`  frames per vote: ann sent ${round(a.sent.length / votes)}, ann recv ${round(a.recv.length / votes)}, owner recv ${round(o.recv.length / votes)}, owner sent ${round(o.sent.length / votes)}`);
    console.log('  participant IndexedDB transactions:', txSummary(a.tx));
    console.log('  owner IndexedDB transactions:', txSummary(o.tx));
    if (cpu) {
      for (const [name, s] of [['owner', cpus[0]], ['participant', cpus[1]]]) {
        console.log(`  ${name} CPU self time (ms):`, s.kinds);
        for (const line of s.top) console.log(`    ${line}`);
      }
    }
    await bench.reset();
  }
  if (only.includes('B4')) {
    const { owner, ann, ownerId, pollId } = await ownerAndAnn(bench);
    const r0 = Number(await owner.textContent('[data-testid="revision"]'));
    const ownerContext = owner.context();
    await owner.close();
    await ann.waitForSelector('[data-testid="sync-status"]:not([data-state="connected"])', { timeout: 30_000 });
    await ann.evaluate((n) => {
      for (let i = 0; i < n; i++) document.querySelector(`[data-testid="vote-option-${i % 2}"]`).click();
    }, n);
    await ann.waitForFunction((n) => document.querySelector('[data-testid="pending-badge"]')?.textContent === `${n} pending`, n, { timeout: 60_000 });
    await ann.waitForTimeout(1000);
    const back = await withHelpers(await ownerContext.newPage());
    await reset(ann);
    const cdps = cpu ? await Promise.all([startCpu(back), startCpu(ann)]) : [];
    const { connected, drained, ownerAt } = await drain(ann, async () => {
      await back.goto(bench.url(`/p/${ownerId}/${pollId}`));
      await back.waitForSelector('[data-testid="revision"]');
      return withHelpers(back);
    }, r0 + n);
    await ann.waitForTimeout(500);
    const cpus = cpu ? await stopCpu('B4', cdps, ['owner', 'participant']) : [];
    const o = await take(back);
    const a = await take(ann);
    const start = a.sent[0];
    const rel = (x) => round(x - start, 0);
    console.log(`B4 profile, ${n} commands, ms from the participant's first send: owner at target revision ${rel(ownerAt)}, participant drained ${rel(drained)} (connected seen ${rel(connected)})`);
    console.log(`  participant: last send ${rel(a.sent[a.sent.length - 1])}, first recv ${rel(a.recv[0])}, last recv ${rel(a.recv[a.recv.length - 1])}, ${a.sent.length} sent, ${a.recv.length} received`);
    console.log(`  owner: first recv ${rel(o.recv[0])}, last recv ${rel(o.recv[o.recv.length - 1])}, first send ${rel(o.sent[0])}, last send ${rel(o.sent[o.sent.length - 1])}, ${o.recv.length} received, ${o.sent.length} sent`);
    console.log('  participant IndexedDB transactions:', txSummary(a.tx));
    console.log('  owner IndexedDB transactions:', txSummary(o.tx));
    const spans = (txs) => txs.filter((t) => t.mode === 'readwrite').map((t) => `${t.stores} ${rel(t.at)}→${rel(t.done)}`).join(', ');
    console.log(`  participant writes: ${spans(a.tx)}`);
    console.log(`  owner writes: ${spans(o.tx)}`);
    if (cpu) {
      for (const [name, s] of [['owner', cpus[0]], ['participant', cpus[1]]]) {
        console.log(`  ${name} CPU self time (ms):`, s.kinds);
        for (const line of s.top) console.log(`    ${line}`);
      }
    }
    await bench.reset();
  }
} finally {
  await browser.close();
  stop();
}
