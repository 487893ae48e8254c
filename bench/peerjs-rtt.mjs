// Benchmark: peerjs-client (Rust/wasm) against stock peerjs (JS), same browser, same run.
//   node bench/peerjs-rtt.mjs [--messages 300] [--connects 10] [--runs 3] [--out file.json]
// Needs the release harness (scripts/build-harness.sh) and node_modules; starts its own PeerJS
// server and static server on free loopback ports and stops them at the end.
// Measures, for Rust↔Rust and JS↔JS: connect→open time and JSON echo round-trip time (one message
// in flight at a time), timed inside the page with performance.now(). Prints a table and the
// Rust/JS ratios; writes the raw numbers as JSON.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { chromium } from 'playwright-core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const MESSAGES = Number(arg('messages', 300));
const CONNECTS = Number(arg('connects', 10));
const RUNS = Number(arg('runs', 3));
const OUT = arg('out', 'target/bench-peerjs.json');

const freePort = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const start = (args, ready) => new Promise((resolve) => {
  const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (d) => String(d).includes(ready) && resolve(child));
});

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const peerPort = await freePort();
const appPort = await freePort();
const peerServer = await start(['tests/support/peer-server.mjs', '--port', String(peerPort)], 'listening');
const web = await start(['tests/support/static-server.mjs', '--dir', 'target/harness-web', '--port', String(appPort),
  '--mount', '/harness=target/harness-web', '--mount', '/vendor/peerjs=node_modules/peerjs/dist'], 'static server');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection'],
});

async function page() {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const p = await context.newPage();
  await p.goto(`http://127.0.0.1:${appPort}/harness/index.html`);
  await p.waitForFunction(() => window.harnessReady === true);
  return p;
}

// In-page measurement for one implementation. `impl` is 'rust' or 'js'.
async function measure(impl, a, b, run) {
  const idA = `${impl}a${run}x${Date.now().toString(36)}`;
  const idB = `${impl}b${run}x${Date.now().toString(36)}`;
  await b.evaluate(([impl, id, port]) => new Promise((resolve) => {
    window.echo.add(id);
    if (impl === 'rust') {
      window.rustListeners.push((e, peer) => peer === id && e.type === 'open' && resolve());
      window.makeRustPeer(id, `tok${id}`, '127.0.0.1', port, '/');
    } else {
      window.makeJsPeer(id, port).on('open', resolve);
    }
  }), [impl, idB, peerPort]);
  return a.evaluate(async ([impl, id, remote, port, messages, connects]) => {
    const waitRust = (pred) => new Promise((resolve) => {
      const l = (e, peer) => { if (peer === id && pred(e)) { window.rustListeners.splice(window.rustListeners.indexOf(l), 1); resolve(e); } };
      window.rustListeners.push(l);
    });
    let peer;
    if (impl === 'rust') {
      const opened = waitRust((e) => e.type === 'open');
      peer = window.makeRustPeer(id, `tok${id}`, '127.0.0.1', port, '/');
      await opened;
    } else {
      peer = window.makeJsPeer(id, port);
      await new Promise((r) => peer.on('open', r));
    }
    const connect = async () => {
      const t0 = performance.now();
      if (impl === 'rust') {
        const cid = peer.connect(remote, 'json');
        await waitRust((e) => e.type === 'conn-open' && e.connectionId === cid);
        return { ms: performance.now() - t0, cid };
      }
      const conn = peer.connect(remote, { serialization: 'json', reliable: true });
      await new Promise((r) => conn.on('open', r));
      return { ms: performance.now() - t0, conn };
    };
    const connectMs = [];
    for (let i = 0; i < connects; i++) {
      const c = await connect();
      connectMs.push(c.ms);
      if (impl === 'rust') peer.close(c.cid); else c.conn.close();
    }
    const c = await connect();
    const rtt = [];
    const payload = { type: 'poll:vote', pollId: 'p', commandId: 'c', optionIds: [1, 2], pad: 'x'.repeat(200) };
    let resolveEcho;
    if (impl === 'js') c.conn.on('data', () => resolveEcho());
    else window.rustListeners.push((e, peerId) => peerId === id && e.type === 'data' && resolveEcho && resolveEcho());
    for (let i = 0; i < messages + 20; i++) {
      const echoed = new Promise((r) => { resolveEcho = r; });
      const t0 = performance.now();
      if (impl === 'rust') peer.send(c.cid, { ...payload, i }); else c.conn.send({ ...payload, i });
      await echoed;
      if (i >= 20) rtt.push(performance.now() - t0); // 20 warm-up messages
    }
    peer.destroy();
    return { connectMs, rtt };
  }, [impl, idA, idB, peerPort, MESSAGES, CONNECTS]);
}

const results = { rust: [], js: [] };
try {
  const [a, b] = [await page(), await page()];
  for (let run = 0; run < RUNS; run++) {
    // Alternate the order so neither implementation always runs on a warmer browser.
    const order = run % 2 === 0 ? ['js', 'rust'] : ['rust', 'js'];
    for (const impl of order) results[impl].push(await measure(impl, a, b, run));
  }
} finally {
  await browser.close();
  peerServer.kill();
  web.kill();
}

const summary = {};
for (const impl of ['rust', 'js']) {
  const runs = results[impl].map((r) => ({
    rttP50: pct(r.rtt, 50), rttP99: pct(r.rtt, 99), connectP50: pct(r.connectMs, 50), connectP99: pct(r.connectMs, 99),
  }));
  const all = (k) => runs.map((r) => r[k]);
  summary[impl] = Object.fromEntries(['rttP50', 'rttP99', 'connectP50', 'connectP99'].map((k) => [k, {
    median: pct(all(k), 50), min: Math.min(...all(k)), max: Math.max(...all(k)),
  }]));
}
const fmt = (x) => x.toFixed(2);
console.log(`\npeerjs-client vs stock peerjs — ${RUNS} runs, ${MESSAGES} JSON echoes and ${CONNECTS} connects per run\n`);
console.log('| metric (ms) | Rust↔Rust median [min–max] | JS↔JS median [min–max] | Rust/JS |');
console.log('|---|---|---|---|');
for (const [k, label] of [['rttP50', 'echo RTT p50'], ['rttP99', 'echo RTT p99'], ['connectP50', 'connect→open p50'], ['connectP99', 'connect→open p99']]) {
  const r = summary.rust[k];
  const j = summary.js[k];
  console.log(`| ${label} | ${fmt(r.median)} [${fmt(r.min)}–${fmt(r.max)}] | ${fmt(j.median)} [${fmt(j.min)}–${fmt(j.max)}] | ${(r.median / j.median).toFixed(2)}× |`);
}
writeFileSync(OUT, JSON.stringify({ date: new Date().toISOString(), messages: MESSAGES, connects: CONNECTS, runs: RUNS, summary, results }, null, 1));
console.log(`\nraw numbers: ${OUT}`);
