// End-to-end tests: real Debian Chromium, the release build in dist/, a real PeerJS server.
// scripts/test builds dist/ first; this config starts the static server and the PeerJS server
// itself (Playwright stops them when the run ends). Ports come from the environment so parallel
// runs and the `run` command do not collide.
import { defineConfig } from '@playwright/test';

const appPort = Number(process.env.E2E_APP_PORT ?? 8181);
const peerPort = Number(process.env.E2E_PEER_PORT ?? 9181);

export default defineConfig({
  testDir: 'tests/e2e',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  outputDir: 'test-results',
  reporter: [['list'], ['json', { outputFile: 'test-results/e2e.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${appPort}`,
  },
  webServer: [
    {
      command:
        `node tests/support/static-server.mjs --dir dist --port ${appPort}` +
        ' --mount /harness=target/harness-web --mount /vendor/peerjs=node_modules/peerjs/dist' +
        ' --mount /vendor/tweetnacl=node_modules/tweetnacl',
      url: `http://127.0.0.1:${appPort}/`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node tests/support/peer-server.mjs --port ${peerPort} --alive-timeout-ms 15000`,
      url: `http://127.0.0.1:${peerPort}/`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
  ],
});
