// Running the native host (`starpoll-host`) from an e2e spec: its binary, its environment (the
// spec's PeerJS server, loopback only), one-shot subcommands, and a started host whose stderr log
// is kept. The binary is built by scripts/test before the e2e tier (`cargo build -p
// starpoll-host`); STARPOLL_HOST_BIN overrides its path.
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { peerPort } from './fixtures.mjs';

export const bin = process.env.STARPOLL_HOST_BIN ?? path.resolve('target/debug/starpoll-host');

export function hostEnv(data, baseURL) {
  return {
    ...process.env,
    STARPOLL_PEERJS: `ws://127.0.0.1:${peerPort}/`,
    STARPOLL_DATA: data,
    // Loopback only: the test's traffic stays on this machine.
    STARPOLL_LISTEN: '127.0.0.1',
    STARPOLL_APP_URL: baseURL,
    STARPOLL_HEALTH_SECS: '1',
  };
}

/** Runs a host subcommand to completion; returns its stdout lines. */
export function hostCommand(args, data, baseURL) {
  return execFileSync(bin, args, { env: hostEnv(data, baseURL), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .trim()
    .split('\n');
}

/** Starts the host; resolves once it is registered on the PeerJS server. */
export async function startHost(data, baseURL) {
  const child = spawn(bin, [], { env: hostEnv(data, baseURL), stdio: ['ignore', 'ignore', 'pipe'] });
  const host = { child, log: '' };
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    host.log += chunk;
  });
  host.exit = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + 20_000;
  while (!host.log.includes('event=signal.open')) {
    if (Date.now() > deadline) throw new Error(`the host did not register:\n${host.log}`);
    if (child.exitCode !== null) throw new Error(`the host exited ${child.exitCode}:\n${host.log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return host;
}
