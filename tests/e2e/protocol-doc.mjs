// The "Minimal JavaScript participant" of PROTOCOL.md §6, taken from the document itself at test
// time, so a test that uses it keeps the document honest. The only change is mechanical: its two
// `import`s become the browser globals of the stock bundles (peerjs's UMD build and tweetnacl).
import { readFileSync } from 'node:fs';

export function participantSource() {
  const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## 6. Minimal JavaScript participant'));
  const code = section.slice(section.indexOf('```js') + 5, section.indexOf('```', section.indexOf('```js') + 5));
  if (!code.includes("import { Peer } from 'peerjs';") || !code.includes("import nacl from 'tweetnacl';")) {
    throw new Error('PROTOCOL.md §6 no longer starts with the expected imports');
  }
  const body = code
    .replace("import { Peer } from 'peerjs';", 'const { Peer } = window.peerjs;')
    .replace("import nacl from 'tweetnacl';", 'const nacl = window.nacl;')
    .replace('export function participate', 'function participate');
  return `(() => {\n${body}\nwindow.protocolDoc = { participate, seal, open, makeIdentity, applyEvent };\n})();`;
}

/** Opens a blank page with stock peerjs, tweetnacl and the §6 code loaded. */
export async function protocolPage(newUser) {
  const context = await newUser();
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`[page error] ${e.message}`));
  await page.goto('/vendor/peerjs/peerjs.min.js'); // same origin, so crypto.randomUUID is available
  await page.setContent('<!doctype html><title>protocol participant</title>');
  await page.addScriptTag({ url: '/vendor/peerjs/peerjs.min.js' });
  await page.addScriptTag({ url: '/vendor/tweetnacl/nacl-fast.min.js' });
  await page.addScriptTag({ content: participantSource() });
  return page;
}
