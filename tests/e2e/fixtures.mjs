// Shared end-to-end helpers: Debian Chromium with the flags WebRTC needs on a loopback-only
// machine, one browser context per simulated user, and the app URL pointing at the test's own
// PeerJS server.
import { test as base, expect } from '@playwright/test';
import { chromium } from 'playwright-core';

export const peerPort = Number(process.env.E2E_PEER_PORT ?? 9181);
export const peerjsParam = `peerjs=ws://127.0.0.1:${peerPort}/`;

/** The app URL for `path` with the test PeerJS server selected. */
export function appUrl(path = '/') {
  const sep = path.includes('?') ? '&' : '?';
  return `${path}${sep}${peerjsParam}`;
}

export const test = base.extend({
  // One Chromium per worker; each test makes the contexts (users) it needs.
  browser: [
    async ({}, use) => {
      const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--allow-loopback-in-peer-connection',
        ],
      });
      await use(browser);
      await browser.close();
    },
    { scope: 'worker' },
  ],
  // A fresh user: own context (own IndexedDB), camera/mic granted so ICE works on loopback.
  // The pages' warnings, errors and uncaught exceptions are kept, and printed if the test fails,
  // so that a failure seen only in CI says what the app logged.
  newUser: async ({ browser, baseURL }, use, testInfo) => {
    const contexts = [];
    const logs = [];
    await use(async () => {
      const context = await browser.newContext({
        baseURL,
        permissions: ['camera', 'microphone', 'clipboard-read', 'clipboard-write'],
      });
      const user = contexts.push(context);
      const at = () => `${(performance.now() / 1000).toFixed(3)} s, user ${user}`;
      context.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') logs.push(`[${at()}] ${m.type()}: ${m.text()}`);
      });
      context.on('weberror', (e) => logs.push(`[${at()}] uncaught: ${e.error()}`));
      return context;
    });
    if (testInfo.status !== testInfo.expectedStatus && logs.length > 0) {
      console.log(`What the pages logged (warnings and errors, the last 60 of ${logs.length}):`);
      console.log(logs.slice(-60).join('\n'));
    }
    await Promise.all(contexts.map((c) => c.close()));
  },
});

export { expect };
