// Sums a raw CPU profile (written by `node bench/profile.mjs --dump DIR`) by function, inclusive
// of callees: what a function and everything it called cost. Most useful on a build that keeps
// its wasm function names (bench/notes.md, "Profiling with names").
//   node bench/cpuprofile.mjs FILE.cpuprofile [--top 40] [--match REGEX] [--within REGEX]
// --within REGEX counts only the samples from the first to the last whose stack holds a function
// matching REGEX (e.g. `HubMachine::handle_input` for the owner's drain of a burst).
// Prints the top functions by inclusive time (a recursive function is counted once per sample),
// then their self time, both in ms.
import fs from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const file = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!file) {
  console.error('usage: node bench/cpuprofile.mjs FILE.cpuprofile [--top 40] [--match REGEX]');
  process.exit(2);
}
const top = Number(opt('top', 40));
const match = new RegExp(opt('match', '.'));
const within = opt('within', null);
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
// Strip Rust's hash suffix so monomorphic copies of one function add up.
const name = (node) => (node.callFrame.functionName || '(anonymous)').replace(/::h[0-9a-f]{16}$/, '');

const stackHas = (id, re) => {
  for (let at = id; at !== undefined; at = parent.get(at)) if (re.test(name(byId.get(at)))) return true;
  return false;
};
let first = 0;
let last = profile.samples.length - 1;
if (within) {
  const re = new RegExp(within);
  const hits = profile.samples.map((id, i) => (stackHas(id, re) ? i : -1)).filter((i) => i >= 0);
  if (hits.length === 0) {
    console.error(`no sample's stack matches ${within}`);
    process.exit(1);
  }
  [first, last] = [hits[0], hits[hits.length - 1]];
  const span = profile.timeDeltas.slice(first + 1, last + 1).reduce((a, b) => a + b, 0);
  console.log(`window: samples ${first}..${last}, ${(span / 1000).toFixed(1)} ms`);
}

const inclusive = new Map();
const self = new Map();
profile.samples.forEach((id, i) => {
  if (i < first || i > last) return;
  const us = profile.timeDeltas[i] ?? 0;
  const leaf = name(byId.get(id));
  self.set(leaf, (self.get(leaf) ?? 0) + us);
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const n = name(byId.get(at));
    if (seen.has(n)) continue;
    seen.add(n);
    inclusive.set(n, (inclusive.get(n) ?? 0) + us);
  }
});
const ms = (us) => (us / 1000).toFixed(1).padStart(8);
const rows = [...inclusive].filter(([n]) => match.test(n)).sort((a, b) => b[1] - a[1]).slice(0, top);
console.log('inclusive ms   self ms   function');
for (const [n, us] of rows) console.log(`${ms(us)}  ${ms(self.get(n) ?? 0)}   ${n.slice(0, 150)}`);
