// Where does the owner tab's time go during B3? Runs one B3 repetition at `--n` participants with
// the CDP sampling profiler on the owner's page, and prints self time by function and by kind
// (wasm, app JS glue, browser-native, GC, idle), plus the B8 numbers of that run.
//   node bench/profile-fanout.mjs [--n 50] [--votes 20] [--top 30]
// Needs what `scripts/bench` builds (dist/, target/bench/crypto-web). For wasm function names,
// build the app with names kept (see bench/notes.md); otherwise wasm shows as wasm-function[i].
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Bench, ROOT, freePort, launch, startServers } from './lib.mjs';
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
const appPort = await freePort();
const peerPort = await freePort();
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

const { cpu } = result;
writeFileSync(join(OUT, `owner-fanout-n${n}.cpuprofile`), JSON.stringify(cpu));
// Self time per node: samples × interval (timeDeltas are per sample, in µs).
const byId = new Map(cpu.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
cpu.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (cpu.timeDeltas[i] ?? 0)));
const byName = new Map();
const byKind = new Map();
const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
for (const [id, us] of selfUs) {
  const { callFrame: f } = byId.get(id);
  const name = f.functionName || '(anonymous)';
  const kind = f.url.endsWith('.wasm') || name.startsWith('wasm-function') || f.url.startsWith('wasm://') ? 'wasm'
    : ['(program)', '(idle)', '(garbage collector)', '(root)'].includes(name) ? name
      : f.url ? 'JS' : 'native (browser API)';
  add(byName, `${name} ${f.url ? `(${f.url.split('/').pop()}:${f.lineNumber})` : ''}`, us);
  add(byKind, kind, us);
}
const table = (map) => [...map].sort((a, b) => b[1] - a[1]);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
console.log(`owner tab, B3 n=${n}, ${votes} votes: ${(total / 1000).toFixed(0)} ms profiled`);
console.log('by kind:');
for (const [k, us] of table(byKind)) console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
console.log(`top ${top} functions by self time:`);
for (const [k, us] of table(byName).slice(0, top)) console.log(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
console.log('B8 of this run:', result.b8);
const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
console.log(`applied on all: p50 ${p(result.applied, 0.5).toFixed(1)} ms, max ${Math.max(...result.applied).toFixed(1)} ms; app page rendered p50 ${p(result.app, 0.5).toFixed(1)} ms`);
