// starpoll's service worker: keeps the app shell (index.html and the build's assets) so the app
// opens with no network at all. Poll data is not here: it lives in IndexedDB.
//
// - Navigations go to the network first, so a new build is picked up as soon as it is served;
//   with no network they get the cached index.html (every route is the same single page).
// - Other same-origin GETs (the hashed .js/.wasm/.css, the icon) come from the cache first.
// - The shell is (re)cached from the index.html the server returns: every asset it links is
//   fetched and stored, and cached files no longer linked (an older build's) are deleted.
//   This file itself does not change between builds; the index.html it reads does.
'use strict';

const CACHE = 'starpoll-shell';
const INDEX = '/index.html';

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const response = await fetch(INDEX, { cache: 'no-store' });
      if (response.ok) await remember(response);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate') {
    event.respondWith(navigate(event));
  } else {
    event.respondWith(
      caches.match(request, { ignoreSearch: true }).then((hit) => hit ?? fetch(request)),
    );
  }
});

/** Network first; on failure the cached shell. A fresh shell is remembered in the background. */
async function navigate(event) {
  try {
    const response = await fetch(event.request);
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && type.startsWith('text/html')) {
      event.waitUntil(remember(response.clone()).catch(() => {}));
    }
    return response;
  } catch (offline) {
    const cached = await caches.match(INDEX);
    if (cached) return cached;
    throw offline;
  }
}

/** Stores `response` (an index.html) and every asset it links; drops what it no longer links. */
async function remember(response) {
  const cache = await caches.open(CACHE);
  const html = await response.clone().text();
  const cachedIndex = await cache.match(INDEX);
  if (cachedIndex && (await cachedIndex.text()) === html) return;
  const assets = [...html.matchAll(/(?:href|src)="(\/[^"?#]+)"/g)].map((m) => m[1]);
  const wanted = new Set(assets.map((path) => new URL(path, self.location.origin).href));
  for (const href of wanted) {
    if (!(await cache.match(href))) await cache.add(href);
  }
  await cache.put(INDEX, new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
  wanted.add(new URL(INDEX, self.location.origin).href);
  for (const request of await cache.keys()) {
    if (!wanted.has(request.url)) await cache.delete(request);
  }
}
