// Scale of the native host (issue 18), rows B9 and B10: the real `starpoll-host` (built with the
// `host` profile) on the run's PeerJS server, N simulated participants from `starpoll-load` (one
// process: each its own key, signaling socket, UDP socket and str0m stack, following the poll
// through the core's OwnerLink/Follower), a few real app pages in Chromium joined to the same
// poll, and the baseline in the same run: a raw str0m broadcaster (`starpoll-load broadcast`)
// with N raw clients on the same stack. The load client measures on one monotonic clock and
// prints JSON; the app pages record the wall-clock time of each tally change, compared with
// the wall-clock time the load client sent each vote.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, withHelpers } from './lib.mjs';

const BIN = join(ROOT, 'target', 'host');
export const hostBin = join(BIN, 'starpoll-host');
export const loadBin = join(BIN, 'starpoll-load');
const OUT = join(ROOT, 'target', 'bench');

/** Identity index ranges, so no two processes of one run register the same peer ID. */
const FIRST = { fanout: 0, raw: 100_000, broadcaster: 200_000, drain: 300_000, rawDrain: 300_001 };

/** UDP ports, when BENCH_UDP_BASE is set (a shared machine): the host, the broadcaster and each
 * load process get their own range above it; else every socket takes any free port. */
const UDP_BASE = Number(process.env.BENCH_UDP_BASE) || 0;
const udp = (offset) => (UDP_BASE ? ['--port-base', String(UDP_BASE + offset)] : []);
const UDP = { host: 0, broadcaster: 1, fanout: 10, raw: 2010, drain: 4010, rawDrain: 4011 };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `starpoll-load` to completion; resolves with its JSON (stderr goes to `log`). */
function load(args, log) {
  return new Promise((resolve, reject) => {
    const err = openSync(log, 'a');
    const child = spawn(loadBin, args, { stdio: ['ignore', 'pipe', err] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.on('exit', (code) => {
      closeSync(err);
      if (code === 0) {
        try { resolve(JSON.parse(out)); } catch (e) { reject(new Error(`bad output: ${out.slice(0, 200)}`)); }
      } else reject(new Error(`starpoll-load ${args[0]} exited ${code}; see ${log}`));
    });
  });
}

/** Waits until `file` contains `needle` (a started process's log). */
async function waitForLog(file, needle, child, seconds = 30) {
  for (let i = 0; i < seconds * 10; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(needle)) return;
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}; see ${file}`);
    await sleep(100);
  }
  throw new Error(`no "${needle}" in ${file} after ${seconds} s`);
}

/** A fresh host data directory with one poll; starts the host. Returns { hostId, pollId, child, stop }. */
export async function startHost(peerPort, appBase, tag) {
  const data = mkdtempSync(join(OUT, `host-${tag}-`));
  const env = {
    ...process.env,
    STARPOLL_PEERJS: `ws://127.0.0.1:${peerPort}/`,
    STARPOLL_DATA: data,
    STARPOLL_LISTEN: UDP_BASE ? `127.0.0.1:${UDP_BASE + UDP.host}` : '127.0.0.1',
    STARPOLL_APP_URL: appBase,
    STARPOLL_MAX_CONNECTIONS: '2000',
  };
  const pollId = execFileSync(hostBin, ['new-poll', '--title', 'Scale', '--option', 'A', '--option', 'B'],
    { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0];
  const hostId = execFileSync(hostBin, ['id'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .trim().split('\n')[0];
  const log = join(data, 'host.log');
  const err = openSync(log, 'a');
  const child = spawn(hostBin, [], { env, stdio: ['ignore', 'ignore', err] });
  closeSync(err);
  await waitForLog(log, 'event=signal.open', child);
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
  };
  return { hostId, pollId, child, log, data, stop };
}

/** Starts the raw broadcaster; returns { id, child, stop }. */
async function startBroadcaster(peerPort, log) {
  const err = openSync(log, 'a');
  const child = spawn(loadBin, ['broadcast', '--peerjs', `ws://127.0.0.1:${peerPort}/`, '--first', String(FIRST.broadcaster), ...udp(UDP.broadcaster)],
    { stdio: ['ignore', 'pipe', err] });
  closeSync(err);
  const id = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0].trim());
    });
    child.on('exit', (code) => reject(new Error(`the broadcaster exited ${code}`)));
  });
  // Registered once the PeerJS server lists it as taken: give the socket a moment.
  await sleep(1000);
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('exit', resolve));
  };
  return { id, child, stop };
}

/** App pages joined to the host's poll, recording each tally change (wall clock). */
async function appPages(bench, hostId, pollId, count) {
  const pages = [];
  for (let i = 0; i < count; i++) {
    const page = await withHelpers(await bench.joined(bench.url(`/p/${hostId}/${pollId}`), `Page ${i}`));
    await page.evaluate(() => {
      window.tallies = [];
      const read = () => [0, 1].map((k) => document.querySelector(`[data-testid="tally-${k}"]`)?.textContent ?? '');
      let last = read().join('/');
      new MutationObserver(() => {
        const now = read();
        if (now.join('/') !== last) {
          last = now.join('/');
          window.tallies.push([window.bench.now(), now]);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    pages.push(page);
  }
  return pages;
}

/** Per vote, when each page's tally showed it (the voter alternates options 1 and 2: vote v shows
 * `tally-(v % 2)` = 1 and the other 0), minus the wall-clock time the vote was sent. */
async function pageLatencies(pages, sentAt) {
  const out = [];
  for (const page of pages) {
    const tallies = await page.evaluate(() => window.tallies);
    sentAt.forEach((t0, v) => {
      const want = v % 2 === 0 ? ['1', '0'] : ['0', '1'];
      const seen = tallies.find(([at, t]) => at >= t0 - 1 && t[0] === want[0] && t[1] === want[1]);
      out.push(seen ? Math.max(0, seen[0] - t0) : NaN);
    });
  }
  return out;
}

function rss(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))?.[1]);
    return { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
  } catch {
    return null;
  }
}

/** B9 at one N: host fan-out with app pages, then the raw baseline. */
export async function b9(bench, { n, votes, pages: pageCount, wave, log }) {
  const peerjs = `ws://127.0.0.1:${bench.peerPort}/`;
  const host = await startHost(bench.peerPort, bench.base, `b9-${n}`);
  let result;
  try {
    const idle = rss(host.child.pid);
    const pages = await appPages(bench, host.hostId, host.pollId, pageCount);
    const run = await load(['fanout', '--peerjs', peerjs, '--hub', host.hostId, '--poll', host.pollId,
      '--n', String(n), '--votes', String(votes), '--wave', String(wave), '--first', String(FIRST.fanout), ...udp(UDP.fanout),
      '--watch-pid', String(host.child.pid)], log);
    const pageMs = await pageLatencies(pages, run.sentAtUnixMs);
    await bench.reset();
    result = { ...run, hostIdle: idle, pageMs };
  } finally {
    await host.stop();
  }
  const broadcaster = await startBroadcaster(bench.peerPort, log);
  try {
    const base = await load(['raw-fanout', '--peerjs', peerjs, '--hub', broadcaster.id, '--n', String(n),
      '--votes', String(votes), '--wave', String(wave), '--first', String(FIRST.raw), ...udp(UDP.raw),
      '--watch-pid', String(broadcaster.child.pid)], log);
    result.baseline = base;
  } catch (error) {
    result.baseline = { error: error.message };
  } finally {
    await broadcaster.stop();
  }
  return result;
}

/** B10: `count` commands queued offline by one participant, drained by the host; baseline: the
 * same number of messages of a vote frame's size echoed by the raw broadcaster. */
export async function b10(bench, { count, log }) {
  const peerjs = `ws://127.0.0.1:${bench.peerPort}/`;
  const host = await startHost(bench.peerPort, bench.base, 'b10');
  let result;
  try {
    result = await load(['drain', '--peerjs', peerjs, '--hub', host.hostId, '--poll', host.pollId,
      '--count', String(count), '--first', String(FIRST.drain), ...udp(UDP.drain)], log);
    result.hostMemory = rss(host.child.pid);
  } finally {
    await host.stop();
  }
  const broadcaster = await startBroadcaster(bench.peerPort, log);
  try {
    result.baseline = await load(['raw-drain', '--peerjs', peerjs, '--hub', broadcaster.id,
      '--count', String(count), '--first', String(FIRST.rawDrain), ...udp(UDP.rawDrain)], log);
  } catch (error) {
    result.baseline = { error: error.message };
  } finally {
    await broadcaster.stop();
  }
  return result;
}
