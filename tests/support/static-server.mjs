// Serves a built site (dist/) on 127.0.0.1 the way a plain static host would, with the SPA
// fallback: unknown paths without a file extension get index.html.
//   node tests/support/static-server.mjs --dir dist --port 8181 [--mount /prefix=dir ...]
// Each --mount serves another folder under a URL prefix (tests use it for the PeerJS harness and
// the stock peerjs bundle); mounts have no SPA fallback.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

const pairs = process.argv.slice(2).reduce((acc, arg, i, all) => {
  if (arg.startsWith('--')) acc.push([arg.slice(2), all[i + 1]]);
  return acc;
}, []);
const args = Object.fromEntries(pairs);
const root = resolve(args.dir ?? 'dist');
const port = Number(args.port ?? 8181);
const mounts = pairs
  .filter(([key]) => key === 'mount')
  .map(([, value]) => {
    const [prefix, dir] = value.split('=');
    return { prefix: prefix.replace(/\/$/, ''), dir: resolve(dir) };
  });
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.png': 'image/png',
};

async function fileFor(urlPath) {
  const mount = mounts.find((m) => urlPath.startsWith(`${m.prefix}/`));
  const base = mount ? mount.dir : root;
  const rest = mount ? urlPath.slice(mount.prefix.length) : urlPath;
  const clean = normalize(decodeURIComponent(rest)).replace(/^(\.\.[/\\])+/, '');
  const candidate = join(base, clean);
  if (!candidate.startsWith(base)) return null;
  try {
    const info = await stat(candidate);
    if (info.isFile()) return candidate;
    if (info.isDirectory()) return join(candidate, 'index.html');
  } catch {
    // fall through to the SPA fallback
  }
  return extname(clean) || mount ? null : join(root, 'index.html');
}

createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const file = await fileFor(path);
  if (!file) {
    res.writeHead(404).end('not found');
    return;
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': types[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(body);
  } catch {
    res.writeHead(404).end('not found');
  }
}).listen(port, '127.0.0.1', () => console.log(`static server on http://127.0.0.1:${port}/ serving ${root}`));
