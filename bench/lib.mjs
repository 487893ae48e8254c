// Shared pieces of the benchmark runner: servers, the browser, pages for app users and for stock
// peerjs peers, in-page clocks, and statistics. Nothing here measures anything by itself.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { chromium } from 'playwright-core';
import { participantSource } from '../tests/e2e/protocol-doc.mjs';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, seconds = 30) {
  for (let i = 0; i < seconds * 10; i++) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1');
      c.on('connect', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Starts the static server (app dist + vendor mounts) and the real PeerJS server; returns a stop(). */
export async function startServers({ appPort, peerPort, mounts = [] }) {
  const children = [
    spawn('node', [
      'tests/support/static-server.mjs', '--dir', 'dist', '--port', String(appPort),
      '--mount', '/vendor/peerjs=node_modules/peerjs/dist',
      '--mount', '/vendor/tweetnacl=node_modules/tweetnacl',
      ...mounts.flatMap((m) => ['--mount', m]),
    ], { cwd: ROOT, stdio: 'ignore' }),
    spawn('node', ['tests/support/peer-server.mjs', '--port', String(peerPort), '--alive-timeout-ms', '15000'],
      { cwd: ROOT, stdio: 'ignore' }),
  ];
  await waitForPort(appPort);
  await waitForPort(peerPort);
  return () => children.forEach((c) => c.kill('SIGTERM'));
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--enable-precise-memory-info',
    ],
  });
}

/** A bench environment: the browser, URLs, and helpers that make users. */
export class Bench {
  constructor(browser, appPort, peerPort) {
    this.browser = browser;
    this.base = `http://127.0.0.1:${appPort}`;
    this.peerPort = peerPort;
    this.server = { host: '127.0.0.1', port: peerPort, path: '/', key: 'peerjs', secure: false };
    this.contexts = [];
  }

  url(path) {
    const sep = path.includes('?') ? '&' : '?';
    return `${this.base}${path}${sep}peerjs=ws://127.0.0.1:${this.peerPort}/`;
  }

  async context() {
    const context = await this.browser.newContext({ permissions: ['camera', 'microphone'] });
    this.contexts.push(context);
    return context;
  }

  /** Closes every context made so far. */
  async reset() {
    await Promise.all(this.contexts.splice(0).map((c) => c.close().catch(() => {})));
  }

  /** An app user with a display name, online. */
  async appUser(name) {
    const page = await (await this.context()).newPage();
    await page.goto(this.url('/'));
    await page.waitForSelector('[data-testid="network-status"][data-state="online"]');
    await page.fill('[data-testid="participant-name"]', name);
    await page.waitForSelector('[data-testid="name-save-state"][data-state="saved"]');
    return page;
  }

  /** The owner creates a single-choice poll; returns { ownerId, pollId, link }. */
  async createPoll(page, title, options) {
    await page.click('[data-testid="new-poll"]');
    await page.fill('[data-testid="poll-title"]', title);
    for (let i = 2; i < options.length; i++) await page.click('[data-testid="poll-add-option"]');
    for (const [i, text] of options.entries()) await page.fill(`[data-testid="poll-option-${i}"]`, text);
    await page.click('[data-testid="poll-create"]');
    await page.waitForSelector('[data-testid="poll-page"][data-role="owner"]');
    const pollId = await page.getAttribute('[data-testid="poll-page"]', 'data-poll-id');
    return {
      ownerId: new URL(page.url()).pathname.split('/')[2],
      pollId,
      link: await page.inputValue('[data-testid="share-link"]'),
    };
  }

  /** A participant page that joined the poll by its invite link and is connected. */
  async joined(link, name) {
    const page = await this.appUser(name);
    await page.goto(link);
    await page.waitForSelector('[data-testid="sync-status"][data-state="connected"]');
    await page.waitForSelector('[data-testid="my-role"]:has-text("voter")');
    return page;
  }

  /** A blank same-origin page with stock peerjs, tweetnacl, the PROTOCOL.md §6 participant and
   * the in-page helpers of `pageHelpers`. With `dalek`, the three tweetnacl functions §6 calls
   * are the app's own ed25519-dalek code as wasm (bench/crates/crypto, `nacl.rs`), so that 25
   * light clients sharing the page's one thread are not bound by tweetnacl-js (~15 ms per
   * verify on the bench machine). */
  async stockPage(context, { dalek = false } = {}) {
    const page = await (context ?? (await this.context())).newPage();
    await page.goto(`${this.base}/vendor/peerjs/peerjs.min.js`);
    await page.setContent('<!doctype html><title>bench peer</title>');
    await page.addScriptTag({ url: '/vendor/peerjs/peerjs.min.js' });
    await page.addScriptTag({ url: '/vendor/tweetnacl/nacl-fast.min.js' });
    if (dalek) {
      await page.evaluate(async () => {
        const wasm = await import('/crypto/starpoll_bench_crypto.js');
        await wasm.default();
        const detached = (message, secretKey) => wasm.nacl_sign(message, secretKey);
        detached.verify = (message, signature, publicKey) => wasm.nacl_verify(message, signature, publicKey);
        const fromSeed = (seed) => {
          const publicKey = wasm.nacl_public_key(seed);
          const secretKey = new Uint8Array(64);
          secretKey.set(seed);
          secretKey.set(publicKey, 32);
          return { publicKey, secretKey };
        };
        window.nacl = { sign: { detached, keyPair: { fromSeed } } };
      });
    }
    await page.addScriptTag({ content: participantSource() });
    await page.addScriptTag({ content: pageHelpers });
    return page;
  }
}

/** In-page helpers: a wall clock comparable across pages, and waiting on the DOM. */
export const pageHelpers = `
window.bench = {
  now: () => performance.timeOrigin + performance.now(),
  until(check) {
    return new Promise((resolve) => {
      const done = check();
      if (done) return resolve(window.bench.now());
      const observer = new MutationObserver(() => {
        if (check()) { observer.disconnect(); resolve(window.bench.now()); }
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    });
  },
  randomId: () => Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join(''),
};`;

/** Installs the in-page helpers in an app page. */
export async function withHelpers(page) {
  await page.addScriptTag({ content: pageHelpers });
  return page;
}

// ---- CPU profiles ----

/** Starts the CDP sampling profiler on `page` (every `interval` µs); stop it with
 * `cdp.send('Profiler.stop')`. */
export async function startCpu(page, interval = 100) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval });
  await cdp.send('Profiler.start');
  return cdp;
}

/** Self time (ms) per kind (wasm, js, program = browser-native, gc, idle, other = browser APIs)
 * and for the `top` functions, from a CDP `Profiler.stop` answer. */
export function summarizeCpu({ profile }, top = 18) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map();
  const kinds = { wasm: 0, js: 0, program: 0, gc: 0, idle: 0, other: 0 };
  for (const [id, us] of self) {
    const { functionName, url } = byId.get(id).callFrame;
    // The app's wasm shows under its .wasm URL (or wasm://), unnamed functions as wasm-function[i].
    const wasm = url.endsWith('.wasm') || url.startsWith('wasm') || functionName.startsWith('wasm-function');
    const name = `${functionName || '(anonymous)'} ${url ? `[${url.split('/').pop()}]` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    if (functionName === '(program)') kinds.program += us;
    else if (functionName === '(garbage collector)') kinds.gc += us;
    else if (functionName === '(idle)') kinds.idle += us;
    else if (wasm) kinds.wasm += us;
    else if (url) kinds.js += us;
    else kinds.other += us;
  }
  const best = [...fns].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${round(v / 1000, 1)} ms  ${k}`);
  return { kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(v / 1000, 1)])), top: best };
}

// ---- statistics ----

export function quantile(samples, q) {
  if (!samples.length) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}

/** p50/p99 of each repetition, and over all. */
export function summarize(reps) {
  const p50s = reps.map((r) => quantile(r, 0.5));
  const all = reps.flat();
  return {
    n: all.length,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    repP50s: p50s,
    spread: p50s.length > 1 ? (Math.max(...p50s) - Math.min(...p50s)) / quantile(p50s, 0.5) : 0,
  };
}

export const round = (x, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
