// The tagged JSON form shared by generate.mjs, check_rust_output.mjs and the Rust test
// crates/peerjs/tests/binarypack_vectors.rs. It describes a BinaryPack value unambiguously:
//
//   {"t":"nil"}                      null (the JS packer also writes `undefined` as null)
//   {"t":"undefined"}                undefined (type byte 0xc1; only decoded, or packed by Rust)
//   {"t":"bool","v":true}
//   {"t":"int","v":"-129"}           integer as a decimal string (exact beyond 2^53)
//   {"t":"float","v":"1.5"}          float as a string both sides parse exactly ("Infinity", "NaN")
//   {"t":"str","v":"héllo"}          string (BinaryPack's UTF-8 string types)
//   {"t":"str","repeat":"é","times":40000}                    compact form of a long string
//   {"t":"bin","hex":"00ff"}         binary (BinaryPack's raw types; ArrayBuffer in JS)
//   {"t":"bin","fill":{"len":70000,"mul":31,"add":7}}         byte i = (i*mul + add) mod 256
//   {"t":"array","v":[<tagged>, ...]}
//   {"t":"array","repeat":<tagged>,"times":65536}             compact form of a long array
//   {"t":"map","v":[[<tagged key>, <tagged value>], ...]}     entries in wire order
//
// Nothing here is generated; it is plain code for the two scripts.

export function hexOf(bytes) {
  return Buffer.from(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength).toString("hex");
}

export function bytesOfHex(hex) {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** The bytes a tagged `bin` stands for. */
export function binBytes(t) {
  if (t.hex !== undefined) return bytesOfHex(t.hex);
  const { len, mul, add } = t.fill;
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (i * mul + add) % 256;
  return out;
}

/** Builds the JS value a tagged description stands for (what a JS app would pass to `pack`). */
export function fromTagged(t) {
  switch (t.t) {
    case "nil":
      return null;
    case "undefined":
      return undefined;
    case "bool":
      return t.v;
    case "int":
    case "float":
      return Number(t.v);
    case "str":
      return t.v !== undefined ? t.v : t.repeat.repeat(t.times);
    case "bin": {
      const bytes = binBytes(t);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    }
    case "array":
      return t.v !== undefined ? t.v.map(fromTagged) : Array.from({ length: t.times }, () => fromTagged(t.repeat));
    case "map": {
      const obj = {};
      for (const [k, v] of t.v) obj[String(fromTagged(k))] = fromTagged(v);
      return obj;
    }
    default:
      throw new Error(`unknown tag ${JSON.stringify(t.t)}`);
  }
}

/**
 * Describes a JS value the way the JS packer will encode it: integral numbers are ints
 * (including -0), other numbers floats, `undefined` and array holes become nil, typed arrays
 * and ArrayBuffers become bin, Dates become their toString(), objects become maps in
 * Object.keys order.
 */
export function describe(v) {
  if (v === null || v === undefined) return { t: "nil" };
  if (typeof v === "boolean") return { t: "bool", v };
  if (typeof v === "number") {
    if (Number.isInteger(v)) return { t: "int", v: BigInt(v).toString() };
    return { t: "float", v: String(v) };
  }
  if (typeof v === "string") return { t: "str", v };
  if (v instanceof ArrayBuffer) return { t: "bin", hex: hexOf(new Uint8Array(v)) };
  if (ArrayBuffer.isView(v)) return { t: "bin", hex: hexOf(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
  if (v instanceof Date) return { t: "str", v: v.toString() };
  if (Array.isArray(v)) return { t: "array", v: Array.from(v, describe) };
  return { t: "map", v: Object.keys(v).map((k) => [{ t: "str", v: k }, describe(v[k])]) };
}

/**
 * Does a value produced by the JS unpacker match a tagged description? JS has one number
 * type, so int vs float is not checked here (the Rust side checks it); map keys are compared
 * after JS's coercion to property names, and order is ignored because JS objects enumerate
 * integer-like keys first. Returns null on a match, or a string saying where it differs.
 */
export function mismatch(t, v, path = "$") {
  const fail = (what) => `${path}: expected ${what}, got ${describeForError(v)}`;
  switch (t.t) {
    case "nil":
      return v === null ? null : fail("null");
    case "undefined":
      return v === undefined ? null : fail("undefined");
    case "bool":
      return v === t.v ? null : fail(String(t.v));
    case "int":
    case "float":
      return typeof v === "number" && Object.is(v, Number(t.v)) ? null : fail(`number ${t.v}`);
    case "str": {
      const want = fromTagged(t);
      return v === want ? null : fail(`string of ${want.length} UTF-16 units`);
    }
    case "bin": {
      // Top-level ArrayBuffer normally; PeerJS's chunk reassembly yields Uint8Array instead.
      if (!(v instanceof ArrayBuffer) && !(v instanceof Uint8Array)) return fail("binary");
      const got = hexOf(new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)));
      const want = hexOf(binBytes(t));
      return got === want ? null : fail(`binary ${want.slice(0, 32)}… (${want.length / 2} bytes)`);
    }
    case "array": {
      const items = t.v !== undefined ? t.v : Array.from({ length: t.times }, () => t.repeat);
      if (!Array.isArray(v) || v.length !== items.length) return fail(`array of ${items.length}`);
      for (let i = 0; i < items.length; i++) {
        const m = mismatch(items[i], v[i], `${path}[${i}]`);
        if (m) return m;
      }
      return null;
    }
    case "map": {
      if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
        return fail("object");
      }
      if (Object.keys(v).length !== t.v.length) return fail(`object with ${t.v.length} keys`);
      for (const [k, val] of t.v) {
        const key = String(fromTagged(k));
        if (!Object.prototype.hasOwnProperty.call(v, key)) return fail(`key ${JSON.stringify(key)}`);
        const m = mismatch(val, v[key], `${path}.${key}`);
        if (m) return m;
      }
      return null;
    }
    default:
      return `${path}: unknown tag ${JSON.stringify(t.t)}`;
  }
}

function describeForError(v) {
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  if (typeof v === "string") return `string of ${v.length} UTF-16 units`;
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return String(v);
  }
}

/**
 * A PeerJS `binary` DataConnection (the class `peer.connect()` uses by default) with no WebRTC
 * underneath: built without its constructor (which would open an RTCPeerConnection), with the
 * fields its constructors set, and `_bufferedSend` (the data channel write) captured. `send` and
 * `_handleDataMessage` are PeerJS's own code paths, so chunking and reassembly are the real ones.
 */
export function fakeBinaryConnection(Peer, util) {
  const probe = new Peer({ debug: 0 }); // Node has no WebRTC: this aborts (asynchronously) and connects nowhere.
  probe.on("error", () => {});
  const BinaryPackConnection = probe._serializers.binary;
  // `util` is an instance of PeerJS's Util, which extends its BinaryPackChunker.
  const BinaryPackChunker = Object.getPrototypeOf(Object.getPrototypeOf(util)).constructor;
  const conn = Object.create(BinaryPackConnection.prototype);
  Object.assign(conn, {
    _events: Object.create(null), // EventEmitter3 state
    _eventsCount: 0,
    _open: true,
    _buffer: [],
    _bufferSize: 0,
    _buffering: false,
    chunker: new BinaryPackChunker(),
    _chunkedData: {},
    sentFrames: [],
    closedByPeer: 0,
  });
  conn._bufferedSend = (msg) => conn.sentFrames.push(new Uint8Array(msg));
  conn.close = (options) => {
    if (options?.flush) return BinaryPackConnection.prototype.close.call(conn, options);
    conn.closedByPeer++;
  };
  return conn;
}
