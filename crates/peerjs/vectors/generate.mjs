// Generates binarypack.json: test vectors for crates/peerjs (src/binarypack.rs, src/chunker.rs)
// made by the real JS implementation that stock PeerJS uses for its default `binary`
// serialization.
//
// Pinned versions: peerjs-js-binarypack 2.1.0 (what peerjs 1.5.5 depends on, `^2.1.0`) and
// peerjs 1.5.5 (its chunking and reassembly code). The script refuses to run with others.
//
// Regenerate (the JSON is checked in; Rust tests never run this):
//   npm ci   # at the repository root: package.json pins both packages
//   node crates/peerjs/vectors/generate.mjs
// (Both come from the root package.json, which pins them.)
//
// Output: {"generator", "packages", "chunk_size", "vectors": [...], "chunked": [...], "close_frame"}
// - vectors[]: {name, json, hex, pack, source, note?}. `json` is the value in the tagged form of
//   tagged.mjs, `hex` the BinaryPack bytes. source "js-pack": hex is what the JS `pack` wrote for
//   the JS value; "handcrafted": bytes the JS packer never writes but the JS unpacker reads (the
//   script checks that it reads them as `json` says). pack=true: Rust's pack(json) must equal hex
//   byte for byte; pack=false: decode-only (a non-minimal encoding, or a JS packer bug).
// - chunked[]: {name, json, frames: [hex]}: values sent in this order through ONE PeerJS `binary`
//   DataConnection (see fakeBinaryConnection in tagged.mjs: PeerJS's own send path, including its
//   16,300-byte chunker and per-connection message counter), with every data-channel frame it wrote.
// - close_frame: the frame PeerJS writes for `conn.close({flush: true})`.
import { readFileSync, writeFileSync } from "node:fs";
import { pack, unpack } from "peerjs-js-binarypack";
import { Peer, util } from "peerjs/dist/bundler.mjs";
import { bytesOfHex, describe, fakeBinaryConnection, fromTagged, hexOf, mismatch } from "./tagged.mjs";

const PINNED = { "peerjs-js-binarypack": "2.1.0", peerjs: "1.5.5" };
for (const [name, want] of Object.entries(PINNED)) {
  const got = JSON.parse(readFileSync(new URL(`../../../node_modules/${name}/package.json`, import.meta.url))).version;
  if (got !== want) throw new Error(`${name} is ${got}, expected ${want}: see the install command at the top`);
}
if (util.pack !== pack) throw new Error("peerjs does not use the same peerjs-js-binarypack instance");
if (util.chunkedMTU !== 16300) throw new Error(`unexpected chunk size ${util.chunkedMTU}`);

const vectors = [];

/** A value packed by the JS packer. `tagged` defaults to describe(js); `pack` = bytes must match Rust. */
// `lossyInJs`: the bytes are right but the JS unpacker reads them inexactly; the vector then
// records what JS reads as `js_unpacks_as` (check_rust_output.mjs expects that from Rust's bytes).
function jsCase(name, js, { tagged = describe(js), packToo = true, note, lossyInJs = false } = {}) {
  const bytes = new Uint8Array(pack(js));
  const readBack = unpack(bytes.buffer);
  const err = mismatch(tagged, readBack);
  if (err && !lossyInJs) throw new Error(`${name}: JS reads its own bytes differently from the description: ${err}`);
  const lossy = err ? { js_unpacks_as: describe(readBack), note: note ?? "the JS unpacker reads these bytes inexactly" } : {};
  vectors.push({ name, json: tagged, hex: hexOf(bytes), pack: packToo, source: "js-pack", ...(note ? { note } : {}), ...lossy });
}
/** A value given in tagged form, built in JS and packed by the JS packer. */
function taggedCase(name, tagged, opts = {}) {
  jsCase(name, fromTagged(tagged), { tagged, ...opts });
}
/** Bytes the JS packer never writes; the JS unpacker must read them as `tagged`. */
function handcrafted(name, hex, tagged, { packToo, note }) {
  const err = mismatch(tagged, unpack(bytesOfHex(hex).buffer));
  if (err) throw new Error(`${name}: JS unpacks the handcrafted bytes differently: ${err}`);
  vectors.push({ name, json: tagged, hex, pack: packToo, source: "handcrafted", ...(note ? { note } : {}) });
}

const int = (v) => ({ t: "int", v: String(v) });
const str = (v) => ({ t: "str", v });

// --- nil, bool
jsCase("null", null);
jsCase("undefined (the JS packer writes null)", undefined);
jsCase("true", true);
jsCase("false", false);

// --- integers at every width boundary the packer uses
for (const n of [
  0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1,
  -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1,
  2 ** 32, 2 ** 32 + 1, 2 ** 53 - 1, 2 ** 53, -(2 ** 32), -(2 ** 32) - 1, -(2 ** 53 - 1), -(2 ** 53),
  2 ** 62, -(2 ** 62), -(2 ** 63), 2 ** 63 + 2 ** 11, 2 ** 64 - 2 ** 11,
]) {
  // JS reads int64 (d3) through a float64 uint64, so negative ones below -2^31 come back rounded
  // to a multiple of 2^11 (e.g. -2147483649 reads as -2147483648). The bytes themselves are exact.
  jsCase(`int ${BigInt(n)}`, n, { lossyInJs: n < -(2 ** 31) });
}
jsCase("negative zero (an integral number: packed as int 0)", -0, { tagged: int(0) });
jsCase("2^63 (JS packs it as int64 and so reads it back as -2^63)", 2 ** 63, {
  tagged: int("-9223372036854775808"),
  note: "JS packer bug: 2^63 is written d3 8000000000000000, i.e. -2^63",
});

// --- floats: non-integral numbers are written as float64 (type cb); never float32
for (const x of [
  0.5, -0.5, 1.5, -1.5, 0.1, 0.30000000000000004, Math.PI, -Math.E, 1e-7, 123456.789, -98765.4321,
  1234567890123.25, 1.0000000000000002, 0.9999999999999999, 2.2250738585072014e-308, 1e-300, 2 ** -20 + 2 ** -60,
]) {
  const bytes = Buffer.from(new Uint8Array(pack(x)));
  const ieee = Buffer.alloc(9);
  ieee[0] = 0xcb;
  ieee.writeDoubleBE(x, 1);
  if (!bytes.equals(ieee)) throw new Error(`JS packs ${x} as ${bytes.toString("hex")}, not IEEE-754 ${ieee.toString("hex")}`);
  jsCase(`float ${x}`, x);
}
{
  // JS computes the exponent with Math.log and gets it wrong within a few ULPs below some powers
  // of two; the bytes then mean another number (which both JS and Rust decode identically).
  const x = 7.999999999999999;
  const readBack = unpack(pack(x));
  jsCase("float just below 8 (JS packer mis-encodes it)", x, {
    tagged: { t: "float", v: String(readBack) },
    packToo: false,
    note: `JS packer bug: ${x} is written as ${readBack}; Rust writes the exact IEEE-754 bytes`,
  });
}
jsCase("2^64 (JS packs it as uint64 0)", 2 ** 64, {
  tagged: int(0),
  packToo: false,
  note: "JS packer bug: 2^64 is written cf 0000000000000000",
});

// --- strings (types b0-bf / d8 u16 length / d9 u32 length), UTF-8 with non-ASCII
jsCase("empty string", "");
jsCase("string a", "a");
jsCase("string 15 bytes", "abcdefghijklmno");
jsCase("string 16 bytes", "abcdefghijklmnop");
jsCase("string non-ASCII (2, 3, 4-byte UTF-8)", "é€😀 ñ 漢字");
jsCase("string with NUL and controls", "a\u0000b\u0001\u007f\u0080\u009f");
jsCase("string lone surrogate (TextEncoder writes U+FFFD)", "x\ud800y", { tagged: str("x\ufffdy") });
taggedCase("string 65535 bytes", { t: "str", repeat: "a", times: 65535 });
taggedCase("string 65536 bytes non-ASCII", { t: "str", repeat: "é", times: 32768 });

// --- binary (types a0-af / da u16 length / db u32 length)
jsCase("empty ArrayBuffer", new ArrayBuffer(0));
jsCase("ArrayBuffer 15 bytes", new Uint8Array(15).map((_, i) => i * 17).buffer);
jsCase("Uint8Array 16 bytes", new Uint8Array(16).map((_, i) => 255 - i));
jsCase("Uint8Array subarray view (only the viewed bytes)", new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4));
jsCase("Int16Array (its little-endian memory bytes)", new Int16Array([1, -2, 0x1234]));
jsCase("Float32Array (its memory bytes, not a float type)", new Float32Array([1.5]));
taggedCase("binary 65535 bytes", { t: "bin", fill: { len: 65535, mul: 31, add: 7 } });
taggedCase("binary 65536 bytes", { t: "bin", fill: { len: 65536, mul: 13, add: 1 } });

// --- Date: packed as its toString() (a fixed UTC rendering; depends on TZ, so set it)
process.env.TZ = "UTC";
jsCase("Date (packed as a string)", new Date(0));

// --- arrays (90-9f / dc / dd)
jsCase("empty array", []);
jsCase("array of mixed", [1, -1, "x", null, true, 2.5, new Uint8Array([1, 2])]);
jsCase("array 15 items", Array.from({ length: 15 }, (_, i) => i));
jsCase("array 16 items", Array.from({ length: 16 }, (_, i) => i * 1000));
jsCase("sparse array (holes and undefined become null)", [, 1, undefined]); // eslint-disable-line no-sparse-arrays
// The JS packer recurses once per element (packNext), so it overflows the stack on arrays of
// more than ~9,000 items (objects: ~8,500 keys; Node 20 default stack). Its unpacker loops and
// reads long arrays fine: check_rust_output.mjs has it read Rust-packed arrays and maps of 65,536.
taggedCase("array 5000 items", { t: "array", repeat: int(300), times: 5000 });
jsCase("nested arrays", [[[[[]]]], [1, [2, [3, [4]]]]]);

// --- maps (80-8f / de / df); keys in Object.keys order: integer-like keys first, ascending
jsCase("empty object", {});
jsCase("object", { a: 1, b: "two", c: [3], d: { e: null } });
jsCase("object with integer-like keys (JS enumerates them first)", { b: 1, a: 2, 2: 3, 1: 4, "-1": 5, "01": 6 });
jsCase("object 15 keys", Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])));
jsCase("object 16 keys", Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])));
jsCase(
  "object 300 keys",
  Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`key-${i}-é`, i % 3 === 0 ? i : i % 3 === 1 ? `v${i}` : [i]])),
);
jsCase("class instance (packed as its own fields)", new (class Point { constructor() { this.x = 1; this.y = -2; } })());
jsCase("object with an undefined field (packed as null)", { a: undefined, b: 1 });
jsCase("nested maps and arrays", {
  poll: { id: "p1", options: [{ id: 1, label: "Yes ✓", votes: 3 }, { id: 2, label: "No", votes: 0 }] },
  sig: new Uint8Array(64).map((_, i) => i),
  ratio: 0.75,
  meta: { tags: [], open: true, closed: null, big: 2 ** 40, neg: -(2 ** 40) },
});
jsCase("PeerJS close control message", { __peerData: { type: "close" } });

// --- bytes the JS packer never writes, but its unpacker reads
const hc = (name, hex, tagged, packToo, note) => handcrafted(name, hex, tagged, { packToo, note });
hc("undefined type c1", "c1", { t: "undefined" }, true, "JS reads c1 as undefined; its packer writes undefined as c0");
hc("float32 type ca", "ca3fc00000", { t: "float", v: "1.5" }, false, "ca is read, never written");
hc("float32 integral", "ca40400000", { t: "float", v: "3" }, false, "JS reads 3; Rust Float(3.0)");
hc("float64 integral", "cb3ff0000000000000", { t: "float", v: "1" }, false, "an integral number is written as an int");
hc("float64 1e20 (too big for the JS integer path)", "cb4415af1d78b58c40", { t: "float", v: "100000000000000000000" }, true,
  "JS pack(1e20) throws 'Invalid integer'; Rust writes float64, which JS reads");
hc("float64 +Infinity", "cb7ff0000000000000", { t: "float", v: "Infinity" }, true, "JS pack(Infinity) throws; Rust writes this");
hc("float64 -Infinity", "cbfff0000000000000", { t: "float", v: "-Infinity" }, true, "JS pack(-Infinity) throws; Rust writes this");
hc("uint8 non-minimal", "cc05", int(5), false);
hc("uint16 non-minimal", "cd0001", int(1), false);
hc("uint32 non-minimal", "ce000000ff", int(255), false);
hc("uint64 small", "cf0000000000000005", int(5), false);
hc("uint64 2^63", "cf8000000000000000", int("9223372036854775808"), true, "Rust writes 2^63 this way (JS writes d3, a bug)");
hc("int8 non-minimal", "d0ff", int(-1), false);
hc("int16 non-minimal", "d1ff80", int(-128), false);
hc("int32 non-minimal", "d2ffffffff", int(-1), false);
hc("int64 -2048 non-minimal", "d3fffffffffffff800", int(-2048), false, "JS reads d3 ffffffffffffffff (-1) as 0: see the negative int64 note");
hc("int64 positive small", "d30000000000000001", int(1), false);
hc("str32 short", "d900000003616263", str("abc"), false);
hc("str16 short", "d8000161", str("a"), false);
hc("raw32 short", "db000000020102", { t: "bin", hex: "0102" }, false);
hc("raw16 short", "da0000", { t: "bin", hex: "" }, false);
hc("array32 short", "dd000000020102", { t: "array", v: [int(1), int(2)] }, false);
hc("array16 short", "dc0000", { t: "array", v: [] }, false);
hc("map32 short", "df00000001b16101", { t: "map", v: [[str("a"), int(1)]] }, false);
hc("map16 short", "de0000", { t: "map", v: [] }, false);
hc("map with an int key (JS turns it into the property \"1\")", "810102", { t: "map", v: [[int(1), int(2)]] }, true);

// --- chunking: values sent in order through one PeerJS `binary` connection
const conn = fakeBinaryConnection(Peer, util);
const chunked = [];
function send(name, tagged) {
  const before = conn.sentFrames.length;
  conn.send(fromTagged(tagged));
  const frames = conn.sentFrames.slice(before);
  chunked.push({ name, json: tagged, frames: frames.map(hexOf) });
}
const sizedBin = (packedLen, mul) => ({ t: "bin", fill: { len: packedLen - 3, mul, add: 1 } }); // da + u16 length + bytes
send("small map (one frame, uses no message id)", { t: "map", v: [[str("kind"), str("hello")], [str("n"), int(1)]] });
send("packed size exactly 16300 bytes (one frame)", sizedBin(16300, 3));
send("packed size 16301 bytes (two chunks, message id 1)", sizedBin(16301, 5));
send("packed size 32601 bytes (three chunks, message id 2)", sizedBin(32601, 11));
send("nested map of about 40 kB (message id 3)", {
  t: "map",
  v: [
    [str("type"), str("snapshot")],
    [str("blob"), { t: "bin", fill: { len: 30000, mul: 17, add: 5 } }],
    [str("text"), { t: "str", repeat: "vote ✓ ", times: 1000 }],
    [str("ok"), { t: "bool", v: true }],
  ],
});
send("small string after chunked messages (one frame)", str("bye"));
conn.close({ flush: true });
const closeFrames = conn.sentFrames.slice(chunked.reduce((n, c) => n + c.frames.length, 0));
if (closeFrames.length !== 1) throw new Error(`close wrote ${closeFrames.length} frames`);

// Check the frames against PeerJS's own receive path before writing anything.
const receiver = fakeBinaryConnection(Peer, util);
const received = [];
receiver.on("data", (d) => received.push(d));
for (const c of chunked) for (const f of c.frames) receiver._handleDataMessage({ data: bytesOfHex(f).buffer });
if (received.length !== chunked.length) throw new Error(`PeerJS reassembled ${received.length} of ${chunked.length} messages`);
chunked.forEach((c, i) => {
  const err = mismatch(c.json, received[i]);
  if (err) throw new Error(`${c.name}: PeerJS reassembled something else: ${err}`);
});
receiver._handleDataMessage({ data: closeFrames[0].buffer });
if (receiver.closedByPeer !== 1) throw new Error("PeerJS did not treat the close frame as a close");

const out = {
  generator: "crates/peerjs/vectors/generate.mjs",
  packages: PINNED,
  chunk_size: util.chunkedMTU,
  vectors,
  chunked,
  close_frame: hexOf(closeFrames[0]),
};
writeFileSync(new URL("./binarypack.json", import.meta.url), `${JSON.stringify(out, null, 1)}\n`);
console.log(`wrote binarypack.json: ${vectors.length} vectors, ${chunked.length} chunked sends (${chunked.reduce((n, c) => n + c.frames.length, 0)} frames), close frame`);
process.exit(0); // the probe Peer's delayed abort timer would otherwise keep node alive briefly
