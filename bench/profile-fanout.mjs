// Where does the owner tab's time go during B3? Runs one B3 repetition at `--n` participants with
// the CDP sampling profiler on the owner's page, and prints self time by function and by kind
// (wasm, app JS glue, browser-native, GC, idle), plus the B8 numbers of that run.
//   node bench/profile-fanout.mjs [--n 50] [--votes 20] [--top 30]
// Needs what `scripts/bench` builds (dist/, target/bench/crypto-web). For wasm function names,
// build the app with names kept (see bench/notes.md); otherwise wasm shows as wasm-function[i].
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Bench, ROOT, freePort, launch, startServers, summarizeCpu } from './lib.mjs';
import { b3 } from './scenarios.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const n = arg('n', 50);
const votes = arg('votes', 20);
const top = arg('top', 30);

const OUT = join(ROOT, 'target', 'bench');
mkdirSync(OUT, { recursive: true });
const appPort = Number(process.env.BENCH_APP_PORT) || await freePort();
const peerPort = Number(process.env.BENCH_PEER_PORT) || await freePort();
const stop = await startServers({ appPort, peerPort, mounts: [`/crypto=${join(OUT, 'crypto-web')}`] });
const browser = await launch();
const bench = new Bench(browser, appPort, peerPort);
let result;
try {
  result = await b3(bench, { n, votes, profile: true, cpuProfile: true });
} finally {
  await bench.reset();
  await browser.close();
  stop();
}

writeFileSync(join(OUT, `owner-fanout-n${n}.cpuprofile`), JSON.stringify(result.cpu.profile));
const { kinds, top: functions } = summarizeCpu(result.cpu, top);
console.log(`owner tab, B3 n=${n}, ${votes} votes; self time in ms by kind:`, kinds);
console.log(`top ${top} functions by self time:`);
for (const line of functions) console.log(`  ${line}`);
console.log('B8 of this run:', result.b8);
const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
console.log(`applied on all: p50 ${p(result.applied, 0.5).toFixed(1)} ms, max ${Math.max(...result.applied).toFixed(1)} ms; app page rendered p50 ${p(result.app, 0.5).toFixed(1)} ms`);
