// The benchmark runner (issue 7): starts the servers, runs every scenario and its baseline
// `--reps` times in one browser, prints a table, writes target/bench/results.json and rewrites
// BENCHMARKS.md. Run it through scripts/bench, which builds the release first.
//   node bench/run.mjs [--reps 3] [--only B1,B2,...] [--quick] [--report] [--idle-wait 120]
//
// A partial run (`--only`) merges into the previous results: the scenarios it did not run keep
// their figures, and every row of the report says when it was measured. Each scenario records
// the machine's 1-minute load average before and after it; a row whose scenario started with
// the load above half the cores is marked "under load" in the report (its figure measures the
// machine as much as the code). Before each scenario the runner waits up to `--idle-wait`
// seconds (default 180) for the load to fall below that mark: after B3's eleven renderers the
// 1-minute average needs 2–3 minutes to fall from ~8 to 1, so 60 s let B4 start under load.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import { join } from 'node:path';
import { Bench, ROOT, freePort, launch, startServers, summarize, quantile, round } from './lib.mjs';
import * as s from './scenarios.mjs';
import { b9, b10 } from './host-scale.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const quick = args.includes('--quick');
const reps = Number(arg('reps', quick ? 1 : 3));
const only = arg('only', 'B1,B2,B3,B4,B5,B6,B7,B8,B9,B10').split(',');
/** B9: participants of one poll on the native host (`--host-n 100,500,1000`). */
const hostN = arg('host-n', quick ? '20' : '100,500,1000').split(',').map(Number);
const want = (id) => only.includes(id);
const fanout = quick ? [1, 10] : [1, 10, 25, 50, 100];
const idleWait = Number(arg('idle-wait', quick ? 0 : 180));
/** The load above which a figure is marked as measured under load: half the cores. */
const LOADED = cpus().length / 2;

const OUT = join(ROOT, 'target', 'bench');
mkdirSync(OUT, { recursive: true });
const log = (...m) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...m);

// `--report`: rewrite BENCHMARKS.md from the last results (after editing bench/notes.md).
if (args.includes('--report')) {
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), report(JSON.parse(readFileSync(join(OUT, 'results.json'), 'utf8'))));
  process.exit(0);
}

// BENCH_APP_PORT / BENCH_PEER_PORT pin the servers' ports (on a shared machine); else free ones.
const appPort = Number(process.env.BENCH_APP_PORT) || await freePort();
const peerPort = Number(process.env.BENCH_PEER_PORT) || await freePort();
const helloDist = join(OUT, 'hello-dist');
const cryptoWeb = join(OUT, 'crypto-web');
const stop = await startServers({
  appPort,
  peerPort,
  mounts: [`/hello=${helloDist}`, `/crypto=${cryptoWeb}`],
});
const browser = await launch();
const bench = new Bench(browser, appPort, peerPort);
const results = { date: new Date().toISOString(), machine: machine(), reps, scenarios: {}, measured: {} };

/** Waits (up to `--idle-wait` s) for the machine to calm down, then notes the load before `id`. */
async function begin(id) {
  const until = Date.now() + idleWait * 1000;
  while (loadavg()[0] > LOADED && Date.now() < until) {
    log(`${id}: load ${round(loadavg()[0], 2)} > ${LOADED}; waiting for the machine to idle`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
  results.measured[id] = { at: new Date().toISOString(), reps, loadBefore: round(loadavg()[0], 2) };
}

/** Notes the load after `id`. */
function end(id) {
  if (results.measured[id]) results.measured[id].loadAfter = round(loadavg()[0], 2);
}

/** Runs `fn` once per repetition (fresh contexts each time) and returns the per-rep values. */
async function repeat(name, fn) {
  const out = [];
  for (let r = 0; r < reps; r++) {
    log(`${name} rep ${r + 1}/${reps}`);
    try {
      out.push(await fn(r));
    } finally {
      await bench.reset();
    }
  }
  return out;
}

try {
  // B1 is every other scenario's baseline, so it runs whenever B2 does.
  let b1 = null;
  if (want('B1') || want('B2')) {
    await begin('B1');
    const runs = await repeat('B1', () => s.b1(bench));
    b1 = { rtt: summarize(runs.map((r) => r.rtt)), idb: summarize(runs.map((r) => r.idb)), runs };
    results.scenarios.B1 = { rtt: b1.rtt, idbCommit: b1.idb };
    end('B1');
  }
  if (want('B2')) {
    await begin('B2');
    const runs = await repeat('B2', () => s.b2(bench, { votes: quick ? 50 : 200 }));
    const stats = summarize(runs);
    // Baseline per repetition: that repetition's B1 RTT p50 + 2 × its IDB commit p50.
    const base = b1.runs.map((r) => quantile(r.rtt, 0.5) + 2 * quantile(r.idb, 0.5));
    const baseline = quantile(base, 0.5);
    results.scenarios.B2 = { ...stats, baseline, ratio: stats.p50 / baseline, target: '≤ 2× baseline' };
    end('B2');
  }
  if (want('B3') || want('B8')) {
    await begin('B3');
    results.measured.B8 = results.measured.B3;
    results.scenarios.B3 = {};
    for (const n of fanout) {
      const profile = n === 50 || (quick && n === 10);
      let app;
      try {
        app = await repeat(`B3 n=${n}`, () => s.b3(bench, { n, votes: quick ? 5 : 20, profile }));
      } catch (error) {
        log(`B3 n=${n} failed: ${error.message.split('\n')[0]}`);
        results.scenarios.B3[n] = { error: error.message.split('\n')[0] };
        await bench.reset();
        continue;
      }
      let base;
      let baselineError;
      try {
        base = await repeat(`B3 baseline n=${n}`, () => s.b3Baseline(bench, { n, votes: quick ? 5 : 20 }));
      } catch (error) {
        baselineError = error.message.split('\n')[0];
        log(`B3 baseline n=${n} failed: ${baselineError}`);
        base = [[NaN]];
        await bench.reset();
      }
      // Every participant has the new tally: app pages rendered it, light clients applied it.
      const stats = summarize(app.map((a) => a.applied));
      const baseline = summarize(base);
      results.scenarios.B3[n] = {
        ...stats,
        baseline: baseline.p50,
        baselineP99: baseline.p99,
        ratio: stats.p50 / baseline.p50,
        ...(baselineError ? { baselineError } : {}),
        appRendered: summarize(app.map((a) => a.app)),
        arrived: summarize(app.map((a) => a.samples)),
      };
      if (profile) {
        const b8 = app.map((a) => a.b8);
        results.scenarios.B8 = {
          n,
          heapMB: Math.max(...b8.map((b) => b.heapMB)),
          longestTaskMs: Math.max(...b8.map((b) => b.longestTaskMs)),
          maxLoopLagMs: Math.max(...b8.map((b) => b.maxLoopLagMs)),
          target: '< 100 MB, < 50 ms',
        };
      }
    }
    end('B3');
  }
  if (want('B4')) {
    await begin('B4');
    const n = quick ? 200 : 1000;
    const runs = await repeat('B4', () => s.b4(bench, { n }));
    const base = await repeat('B4 baseline', () => s.b4Baseline(bench, { n }));
    const stats = summarize([runs.map((r) => r.ms)]);
    results.scenarios.B4 = {
      commands: n,
      ...stats,
      repMs: runs.map((r) => r.ms),
      baseline: quantile(base, 0.5),
      ratio: stats.p50 / quantile(base, 0.5),
      lost: runs.reduce((a, r) => a + r.lost, 0),
      duplicated: runs.reduce((a, r) => a + r.duplicated, 0),
      consecutive: runs.every((r) => r.consecutive),
      target: '< 400 ms; 0 lost, 0 duplicated',
    };
    end('B4');
  }
  if (want('B5')) {
    await begin('B5');
    const runs = await repeat('B5', () => s.b5(bench));
    const base = await repeat('B5 baseline', () => s.b5Baseline(bench));
    const stats = summarize(runs);
    const baseline = summarize(base);
    results.scenarios.B5 = { ...stats, baseline: baseline.p50, ratio: stats.p50 / baseline.p50, target: 'p99 < 500 ms' };
    end('B5');
  }
  if (want('B6')) {
    await begin('B6');
    const app = await repeat('B6', () => s.coldLoad(bench, '/', '[data-testid="new-poll"]'));
    const hello = existsSync(helloDist)
      ? await repeat('B6 baseline', () => s.coldLoad(bench, `${bench.base}/hello/`, '[data-testid="hello"]'))
      : null;
    const stats = summarize(app);
    const baseline = hello && summarize(hello);
    results.scenarios.B6 = {
      ...stats,
      baseline: baseline?.p50 ?? null,
      ratio: baseline ? stats.p50 / baseline.p50 : null,
      bytes: sizes(join(ROOT, 'dist')),
      baselineBytes: existsSync(helloDist) ? sizes(helloDist) : null,
      target: '≤ 250 KB gzip total (150 KB stretch)',
    };
    end('B6');
  }
  if (want('B7')) {
    await begin('B7');
    results.scenarios.B7 = await b7();
    end('B7');
  }
  if (want('B9')) {
    await begin('B9');
    results.scenarios.B9 = {};
    const logFile = join(OUT, 'b9-load.log');
    for (const n of hostN) {
      log(`B9 n=${n}`);
      try {
        results.scenarios.B9[n] = await b9(bench, { n, votes: quick ? 5 : 20, pages: 2, wave: 50, log: logFile });
      } catch (error) {
        log(`B9 n=${n} failed: ${error.message.split('\n')[0]}`);
        results.scenarios.B9[n] = { error: error.message.split('\n')[0] };
        await bench.reset();
      }
    }
    end('B9');
  }
  if (want('B10')) {
    await begin('B10');
    const count = quick ? 200 : 1000;
    const runs = [];
    for (let r = 0; r < reps; r++) {
      log(`B10 rep ${r + 1}/${reps}`);
      runs.push(await b10(bench, { count, log: join(OUT, 'b10-load.log') }));
    }
    const drains = runs.map((x) => x.drainMs);
    const bases = runs.map((x) => x.baseline?.drainMs ?? NaN);
    results.scenarios.B10 = {
      commands: count,
      p50: quantile(drains, 0.5),
      p99: quantile(drains, 0.99),
      repMs: drains,
      baseline: quantile(bases, 0.5),
      ratio: quantile(drains, 0.5) / quantile(bases, 0.5),
      lost: runs.reduce((a, x) => a + x.lost, 0),
      duplicated: runs.reduce((a, x) => a + x.duplicated, 0),
      refused: runs.reduce((a, x) => a + x.refused, 0),
      consecutive: runs.every((x) => x.consecutive),
      hostMemory: runs.map((x) => x.hostMemory),
      runs,
      target: '0 lost, 0 duplicated',
    };
    end('B10');
  }
} finally {
  await browser.close();
  stop();
}

// A partial run keeps the previous figures of the scenarios it did not run (each with its date).
const previousFile = join(OUT, 'results.json');
const merged = merge(existsSync(previousFile) ? JSON.parse(readFileSync(previousFile, 'utf8')) : null, results);
writeFileSync(previousFile, `${JSON.stringify(merged, null, 2)}\n`);
const markdown = report(merged);
console.log(`\n${markdown}`);
if (!quick) {
  writeFileSync(join(ROOT, 'BENCHMARKS.md'), markdown);
  log('wrote BENCHMARKS.md');
}
log(`wrote ${previousFile}`);

/** The previous results with this run's scenarios replacing theirs. A quick run never merges. */
function merge(previous, current) {
  if (!previous || quick || previous.quick) return { ...current, quick };
  const measured = { ...(previous.measured ?? {}) };
  // Results written before per-scenario dates existed: date their rows by the old run.
  for (const id of Object.keys(previous.scenarios ?? {})) {
    measured[id] ??= { at: previous.date, reps: previous.reps };
  }
  return {
    ...current,
    quick,
    scenarios: { ...previous.scenarios, ...current.scenarios },
    measured: { ...measured, ...current.measured },
  };
}

// ---- B6 bytes, B7 crypto ----

function sizes(dir) {
  const out = {};
  for (const file of readdirSync(dir)) {
    const kind = file.endsWith('.wasm') ? 'wasm' : file.endsWith('.js') && file !== 'sw.js' ? 'js' : file.endsWith('.css') ? 'css' : null;
    if (!kind) continue;
    const data = readFileSync(join(dir, file));
    out[kind] = {
      raw: data.length,
      gzip: gzipSync(data, { level: 9 }).length,
      brotli: brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
  }
  out.total = ['raw', 'gzip', 'brotli'].reduce((t, k) => ({ ...t, [k]: Object.values(out).reduce((a, v) => a + (v[k] ?? 0), 0) }), {});
  return out;
}

async function b7() {
  const native = join(OUT, 'release', 'crypto-bench');
  if (!existsSync(native) || !existsSync(cryptoWeb)) return { missing: 'run bench/build-baselines.sh' };
  const iterations = 2000;
  const nativeRuns = JSON.parse(execFileSync(native, [String(iterations), String(reps)], { encoding: 'utf8' }));
  // The same bench natively with the field arithmetic the wasm build runs (32-bit serial).
  const serial = join(OUT, 'serial', 'release', 'crypto-bench');
  const serialRuns = existsSync(serial)
    ? JSON.parse(execFileSync(serial, [String(iterations), String(reps)], { encoding: 'utf8' }))
    : null;
  const page = await (await bench.context()).newPage();
  await page.goto(`${bench.base}/crypto/index.html`);
  await page.waitForFunction(() => window.cryptoBenchReady === true);
  const wasmRuns = await page.evaluate(([iterations, reps]) => window.runCryptoBench(iterations, reps), [iterations, reps]);
  await bench.reset();
  const med = (xs) => quantile(xs, 0.5);
  return {
    iterations,
    native: { signUs: med(nativeRuns.sign_us), verifyUs: med(nativeRuns.verify_us) },
    nativeSerial: serialRuns && { signUs: med(serialRuns.sign_us), verifyUs: med(serialRuns.verify_us) },
    verifyRatioSerial: serialRuns ? med(wasmRuns.verify_us) / med(serialRuns.verify_us) : null,
    wasm: { signUs: med(wasmRuns.sign_us), verifyUs: med(wasmRuns.verify_us) },
    verifyRatio: med(wasmRuns.verify_us) / med(nativeRuns.verify_us),
    signRatio: med(wasmRuns.sign_us) / med(nativeRuns.sign_us),
    target: 'verify ≤ 2× native',
  };
}

// ---- the report ----

function machine() {
  const chromium = (() => {
    try { return execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim(); } catch { return 'chromium'; }
  })();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${round(totalmem() / 2 ** 30, 1)} GiB RAM, ${chromium}, node ${process.version}`;
}

function ms(x) { return Number.isFinite(x) ? `${round(x, x < 10 ? 2 : 1)} ms` : '—'; }
function ratio(x) { return Number.isFinite(x) ? `${round(x, 2)}×` : '—'; }
function spread(st) { return st?.spread !== undefined ? `${round(st.spread * 100, 0)} %` : '—'; }
function kb(bytes) { return `${round(bytes / 1024, 1)} KB`; }

function report(r) {
  const S = r.scenarios;
  const rows = [];
  const when = (id) => {
    const m = r.measured?.[id];
    if (!m) return '—';
    const load = m.loadBefore === undefined ? '' : `, load ${m.loadBefore}→${m.loadAfter ?? '?'}`;
    const flag = m.loadBefore > LOADED ? ' **under load**' : '';
    return `${m.at.slice(0, 16).replace('T', ' ')}${load}${flag}`;
  };
  const row = (id, ...cells) => rows.push(`| ${[id, ...cells, when(id)].join(' | ')} |`);
  if (S.B1) {
    row('B1', 'stock peerjs JSON ping RTT', ms(S.B1.rtt.p50), ms(S.B1.rtt.p99), spread(S.B1.rtt), '—', '—', '—');
    row('B1', 'IndexedDB put + commit', ms(S.B1.idbCommit.p50), ms(S.B1.idbCommit.p99), spread(S.B1.idbCommit), '—', '—', '—');
  }
  if (S.B2) row('B2', `vote → ack → badge gone (${S.B2.n} votes)`, ms(S.B2.p50), ms(S.B2.p99), spread(S.B2), ms(S.B2.baseline), ratio(S.B2.ratio), S.B2.target);
  for (const [n, st] of Object.entries(S.B3 ?? {})) {
    if (st.error) {
      row('B3', `fan-out to N=${n}: **did not complete** (${st.error})`, '—', '—', '—', '—', '—', '—');
      continue;
    }
    row('B3', n <= 10 ? `fan-out to N=${n} app pages: new tally rendered on all` : `fan-out to N=${n} (1 app page + ${n - 1} §6 light clients, 25 per page): new tally applied on all (event frame arrived at all ${ms(st.arrived?.p50)}; app page rendered ${ms(st.appRendered.p50)})`, ms(st.p50), ms(st.p99), spread(st), st.baselineError ? `baseline failed: ${st.baselineError}` : ms(st.baseline), ratio(st.ratio), n === '100' ? 'p99 ≤ 100 ms, ≤ 2×' : '≤ 2×');
  }
  if (S.B4) row('B4', `${S.B4.commands} queued commands → all acked, pages converged (lost ${S.B4.lost}, duplicated ${S.B4.duplicated})`, ms(S.B4.p50), ms(S.B4.p99), `${S.B4.repMs.map((x) => round(x, 0)).join(' / ')} ms`, ms(S.B4.baseline), ratio(S.B4.ratio), S.B4.target);
  if (S.B5) row('B5', 'invite link → poll with live tallies', ms(S.B5.p50), ms(S.B5.p99), spread(S.B5), ms(S.B5.baseline), ratio(S.B5.ratio), S.B5.target);
  if (S.B6) {
    row('B6', 'cold load to interactive', ms(S.B6.p50), ms(S.B6.p99), spread(S.B6), ms(S.B6.baseline), ratio(S.B6.ratio), '—');
    const b = S.B6.bytes;
    const h = S.B6.baselineBytes;
    row('B6', 'bytes gzip: wasm / js / css = total', `${kb(b.wasm.gzip)} / ${kb(b.js.gzip)} / ${kb(b.css.gzip)} = **${kb(b.total.gzip)}**`, `raw ${kb(b.total.raw)}, brotli ${kb(b.total.brotli)}`, '—', h ? `${kb(h.total.gzip)} gzip` : '—', h ? ratio(b.total.gzip / h.total.gzip) : '—', S.B6.target);
  }
  if (S.B7 && !S.B7.missing) {
    row('B7', `ed25519 verify, release wasm vs native default build (AVX2 backend) (${S.B7.iterations}×)`, `${round(S.B7.wasm.verifyUs, 1)} µs`, '—', '—', `${round(S.B7.native.verifyUs, 1)} µs native`, ratio(S.B7.verifyRatio), S.B7.target);
    if (S.B7.nativeSerial) row('B7', 'ed25519 verify, release wasm vs native with the same (32-bit serial) backend', `${round(S.B7.wasm.verifyUs, 1)} µs`, '—', '—', `${round(S.B7.nativeSerial.verifyUs, 1)} µs native serial`, ratio(S.B7.verifyRatioSerial), '—');
    row('B7', 'ed25519 sign, release wasm', `${round(S.B7.wasm.signUs, 1)} µs`, '—', '—', `${round(S.B7.native.signUs, 1)} µs native`, ratio(S.B7.signRatio), '—');
  }
  for (const [n, st] of Object.entries(S.B9 ?? {})) {
    if (st.error) {
      row('B9', `host fan-out to N=${n}: **did not complete** (${st.error})`, '—', '—', '—', '—', '—', '—');
      continue;
    }
    const mib = (m) => (m?.rssKiB ? `${round(m.rssKiB / 1024, 1)} MiB` : '?');
    const b = st.baseline ?? {};
    const pages = (st.pageMs ?? []).filter(Number.isFinite);
    const pageP50 = pages.length ? quantile(pages, 0.5) : NaN;
    const base = b.allArrived?.p50;
    row('B9', `host fan-out to N=${n} (${st.connected} of ${n} load participants connected in ${round(st.connectMs / 1000, 1)} s; ${st.votes} votes${st.voterJoined === false ? ', the voter\'s join was never answered' : ''}${st.timedOut ? ', the last one reached not all within 15 s' : ''}; ${st.missed} receipts missed): new revision applied on all (frame arrived at all ${ms(st.allArrived.p50)}, p99 ${ms(st.allArrived.p99)}); ${pages.length} app-page samples rendered ${ms(pageP50)}; host RSS ${mib(st.memoryAfter)} (peak ${st.memoryAfter?.hwmKiB ? round(st.memoryAfter.hwmKiB / 1024, 1) : '?'} MiB); baseline: ${b.connected ?? 0} raw clients, broadcaster RSS ${mib(b.memoryAfter)}`,
      ms(st.allApplied.p50), ms(st.allApplied.p99), '—', base !== undefined ? `${ms(base)} (p99 ${ms(b.allArrived?.p99)})` : `— (${b.error ?? 'no baseline'})`,
      base && st.allApplied.p50 != null ? ratio(st.allApplied.p50 / base) : '—', n === '500' ? 'p99 ≤ 250 ms' : n === '1000' ? 'N connected; RSS ≤ 200 MB' : '—');
  }
  if (S.B10) row('B10', `${S.B10.commands} queued commands → all acked by the host (${(S.B10.runs ?? []).map((x) => `${x.answered} answered${x.complete ? '' : ', **incomplete** after 120 s'}`).join('; ')}; lost ${S.B10.lost}, duplicated ${S.B10.duplicated}, refused ${S.B10.refused}, revisions consecutive: ${S.B10.consecutive ? 'yes' : 'no'})`, ms(S.B10.p50), ms(S.B10.p99), `${S.B10.repMs.map((x) => round(x, 0)).join(' / ')} ms`, ms(S.B10.baseline), ratio(S.B10.ratio), S.B10.target);
  if (S.B8) row('B8', `owner tab at N=${S.B8.n}: JS heap; longest task / max event-loop lag during B3`, `${round(S.B8.heapMB, 1)} MB`, `${ms(S.B8.longestTaskMs)} / ${ms(S.B8.maxLoopLagMs)}`, '—', '—', '—', S.B8.target);
  return `# Benchmarks

Produced by \`./scripts/bench\`; last run ${r.date.slice(0, 10)}. Every baseline is measured in the
same run as its scenario (same browser, same servers); *measured* says when each row was measured
(UTC), with the 1-minute load average before → after it: a row started with the load above
${LOADED} (half the cores) is marked **under load** and measures the machine as much as the code.
Machine: ${r.machine}. Raw numbers: \`target/bench/results.json\`.

p50/p99 are over all samples of all repetitions; *spread* is (max − min) / median of the
per-repetition p50s; *ratio* is p50 / baseline p50.

| id | scenario | p50 | p99 | spread | baseline | ratio | target | measured |
|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${readFileSync(join(ROOT, 'bench', 'notes.md'), 'utf8')}`;
}
