// Checks that the JS implementation reads what the Rust crate writes: unpacks every value in a
// dump made by crates/peerjs/tests/binarypack_vectors.rs with peerjs-js-binarypack, and feeds
// every chunked send through PeerJS's own `binary` DataConnection receive path (chunk
// reassembly included), comparing with the expected values. Prints "N passed, N failed" and
// exits non-zero on any failure.
//
//   PEERJS_RUST_VECTORS_OUT=/tmp/rust-vectors.json cargo test -p peerjs-client --test binarypack_vectors
//   npm ci   # at the repository root: package.json pins both packages
//   node crates/peerjs/vectors/check_rust_output.mjs /tmp/rust-vectors.json
import { readFileSync } from "node:fs";
import { unpack } from "peerjs-js-binarypack";
import { Peer, util } from "peerjs/dist/bundler.mjs";
import { bytesOfHex, fakeBinaryConnection, mismatch } from "./tagged.mjs";

const PINNED = { "peerjs-js-binarypack": "2.1.0", peerjs: "1.5.5" };
for (const [name, want] of Object.entries(PINNED)) {
  const got = JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url))).version;
  if (got !== want) {
    console.error(`${name} is ${got}, expected ${want}: run npm ci at the repository root`);
    process.exit(2);
  }
}

const path = process.argv[2];
if (!path) {
  console.error("usage: node check_rust_output.mjs <file written with PEERJS_RUST_VECTORS_OUT>");
  process.exit(2);
}
const dump = JSON.parse(readFileSync(path, "utf8"));
let passed = 0;
let failed = 0;
const check = (name, problem) => {
  if (problem) {
    failed++;
    console.log(`FAIL ${name}: ${problem}`);
  } else {
    passed++;
  }
};
const attempt = (fn) => {
  try {
    return fn();
  } catch (e) {
    return `threw ${e}`;
  }
};

for (const v of dump.values) {
  check(v.name, attempt(() => mismatch(v.expect, unpack(bytesOfHex(v.hex).buffer))));
}

// One connection for all chunked sends, as they were written by one Rust Chunker.
const conn = fakeBinaryConnection(Peer, util);
const received = [];
conn.on("data", (d) => received.push(d));
for (const c of dump.chunked) {
  const before = received.length;
  const problem = attempt(() => {
    for (const f of c.frames) conn._handleDataMessage({ data: bytesOfHex(f).buffer });
    if (received.length !== before + 1) return `PeerJS emitted ${received.length - before} messages, expected 1`;
    return mismatch(c.expect, received[before]);
  });
  check(`chunked: ${c.name}`, problem);
}
check("leftover partial messages", Object.keys(conn._chunkedData).length ? `${Object.keys(conn._chunkedData)} still partial` : null);
check(
  "close frame",
  attempt(() => {
    conn._handleDataMessage({ data: bytesOfHex(dump.close_frame).buffer });
    return conn.closedByPeer === 1 ? null : "PeerJS did not close on it";
  }),
);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
