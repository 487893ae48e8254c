// starpoll's signature checker: a Web Worker that checks frames' ed25519 signatures with the
// browser's own WebCrypto, off the page's thread (src/hub/checker.rs starts it from this text).
//
// Asked:    { id, signers: [peer id], keys: Uint8Array(32·n), sigs: Uint8Array(64·n),
//             bodies: Uint8Array (the signed bytes, one after the other), ends: Uint32Array(n) }
// Answers:  { id, ok: Uint8Array(n) }  — 1 where the signature verifies, 0 anywhere else
//           { unsupported: "<why>" }   — once, if this browser has no Ed25519 in WebCrypto
// Every job's answer is its own: one that throws counts as 0 and the others still answer.
'use strict';

const keys = new Map(); // peer id → Promise<CryptoKey>
const KEYS_MAX = 4096;
let unsupported = false;

function key(signer, raw) {
  let imported = keys.get(signer);
  if (!imported) {
    if (keys.size >= KEYS_MAX) keys.clear();
    imported = crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
    keys.set(signer, imported);
  }
  return imported;
}

async function check(data, i) {
  const start = i === 0 ? 0 : data.ends[i - 1];
  const imported = await key(data.signers[i], data.keys.subarray(32 * i, 32 * i + 32));
  const sig = data.sigs.subarray(64 * i, 64 * i + 64);
  return crypto.subtle.verify({ name: 'Ed25519' }, imported, sig, data.bodies.subarray(start, data.ends[i]));
}

self.onmessage = async ({ data }) => {
  const ok = new Uint8Array(data.signers.length);
  await Promise.all(
    data.signers.map(async (_, i) => {
      try {
        ok[i] = (await check(data, i)) ? 1 : 0;
      } catch (e) {
        if (!unsupported && (typeof crypto === 'undefined' || !crypto.subtle || e?.name === 'NotSupportedError')) {
          unsupported = true;
          self.postMessage({ unsupported: String(e?.message ?? e) });
        }
      }
    }),
  );
  self.postMessage({ id: data.id, ok }, [ok.buffer]);
};
