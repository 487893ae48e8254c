//! BinaryPack: the wire format of PeerJS's default `binary` serialization (npm
//! `peerjs-js-binarypack` 2.x), as a pure encoder/decoder of [`Value`]s.
//!
//! BinaryPack looks like MessagePack but is not compatible with it: it has its own type bytes
//! for UTF-8 strings (`b0`–`bf`, `d8` u16 length, `d9` u32 length) distinct from raw binary
//! (`a0`–`af`, `da`, `db`), and no 8-bit lengths. All multi-byte numbers are big-endian.
//!
//! # Invariants
//! - [`pack`] writes exactly the bytes the JS packer writes for the same JS value (checked
//!   byte for byte against vectors made by the JS library, `vectors/binarypack.json`), except
//!   where the JS packer is buggy or throws; there it writes bytes the JS unpacker reads
//!   correctly (see "Deviations" below).
//! - [`unpack`] never panics, whatever the input, and never allocates more than a small
//!   constant per length field before the bytes backing it have been seen; memory use is at
//!   most about 64 bytes per input byte. Nesting is limited to [`DEFAULT_MAX_DEPTH`].
//! - Trailing bytes: [`unpack`] rejects input with bytes after the value
//!   ([`BinaryPackError::TrailingBytes`]), since no BinaryPack packer writes any (the JS unpacker
//!   silently ignores them). [`unpack_prefix`] accepts them and says how many bytes it used.
//! - Integers decode to their canonical [`Value`]: [`Value::Int`] whenever the number fits an
//!   `i64`, [`Value::UInt`] only above `i64::MAX`, whatever width the bytes used.
//!
//! # How JS values map to [`Value`]
//! JS has one number type, so the JS packer picks the encoding from the value: integral numbers
//! (including `-0`) become the smallest integer type that fits (`00`–`7f`, `e0`–`ff`, then
//! `cc`/`d0`, `cd`/`d1`, `ce`/`d2`, `d3`, and `cf` for above 2^63), all other numbers become
//! float64 (`cb`); float32 (`ca`) is only ever read. [`Value::Float`] follows the same rule when
//! packed, so `Float(2.0)` is written as the integer 2 and reads back as `Int(2)`.
//! `undefined` is written by JS as null (`c0`); `c1` (undefined) is only read by JS.
//! `ArrayBuffer`s and typed arrays (their bytes) become [`Value::Bin`]; JS reads binary back as an
//! `ArrayBuffer`. Objects become maps in `Object.keys` order (integer-like keys first, ascending,
//! then insertion order); JS turns every map key into a property name (`String(key)`), so
//! duplicate keys collapse (the last value wins). A `Date` is packed as its `toString()`.
//!
//! # Deviations from the JS packer, and JS quirks the transport must know
//! - Negative integers below -2^31 use int64 (`d3`), which the JS unpacker reads through a
//!   float64 and so rounds to a multiple of 2^11 (-2147483649 reads as -2147483648; int64 -1
//!   reads as 0). Rust reads them exactly. Don't send such numbers to JS peers.
//! - Integers beyond ±2^53 lose precision in JS (they are float64 there).
//! - JS writes 2^63 as int64 `d3 80…` (= -2^63) and 2^64 as `cf 00…` (= 0), and throws on other
//!   integral numbers outside [-2^63, 2^64] and on ±Infinity. Rust writes 2^63 as `cf 80…` and
//!   the others as float64, which JS reads correctly.
//! - JS's float encoder gets a few values within some ULPs below a power of two wrong (e.g.
//!   7.999999999999999 is sent as 8.00000762939453), and NaN and subnormals entirely wrong.
//!   Rust always writes exact IEEE-754. The JS decoder reads NaN as ±Infinity and subnormals
//!   wrongly; don't send them.
//! - The JS packer recurses once per array element/object key and overflows the stack beyond
//!   roughly 9,000 elements (its unpacker is fine with more).
//! - The JS string decoder is lenient (it never fails on invalid UTF-8); [`unpack`] rejects
//!   invalid UTF-8 ([`BinaryPackError::InvalidUtf8`]). The JS unpacker reads the type bytes
//!   `c4`–`c9` and `d4`–`d7` as `undefined`; no packer writes them and [`unpack`] rejects them
//!   ([`BinaryPackError::UnknownType`]). JS reads a truncated input as zeros where Rust errors.
//!
//! # JSON
//! [`Value::from`] a `serde_json::Value`, [`Value::to_json`], [`to_value`] and [`from_value`]
//! bridge to JSON-like data (so app messages can be serde types). JSON to [`Value`] is lossless;
//! the other way fails on binary, non-finite floats and map keys other than strings and
//! integers, turns `undefined` into `null`, integral floats into integers and integer keys into
//! strings (as JS does), and keeps the last of duplicate keys.

use serde::de::DeserializeOwned;
use serde::Serialize;
use thiserror::Error;

/// The deepest nesting of arrays and maps [`unpack`] accepts.
pub const DEFAULT_MAX_DEPTH: usize = 128;

/// Upper bound on the capacity reserved up front for an array or map, whatever its length field
/// says; longer ones grow as their items are actually decoded.
const MAX_PREALLOCATED_ITEMS: usize = 1024;

/// 2^63 and 2^64 as `f64` (both exact).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// A value BinaryPack can carry: the JSON-like data model of JS plus raw binary.
///
/// `PartialEq` is structural: `Int(1)`, `UInt(1)` and `Float(1.0)` differ, and `Float(NaN)` is
/// unequal to itself. Values from [`unpack`] are canonical (see [`Value::UInt`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (type `c0`).
    Nil,
    /// `undefined` (type `c1`). The JS packer writes `undefined` as `c0`; JS reads `c1` as
    /// `undefined`.
    Undefined,
    /// `true` / `false` (`c3` / `c2`).
    Bool(bool),
    /// An integer that fits an `i64`, written in the smallest integer type that holds it.
    Int(i64),
    /// An integer above `i64::MAX` (written as uint64, `cf`). [`unpack`] only produces this for
    /// such values; smaller ones given here are packed exactly like [`Value::Int`].
    UInt(u64),
    /// A JS number. Packed as float64 (`cb`) unless it is integral and fits the integer types,
    /// in which case it is packed as that integer, as JS does. Float32 (`ca`) decodes to this.
    Float(f64),
    /// A UTF-8 string (types `b0`–`bf`, `d8`, `d9`).
    Str(String),
    /// Raw binary, an `ArrayBuffer` in JS (types `a0`–`af`, `da`, `db`).
    Bin(Vec<u8>),
    /// An array (types `90`–`9f`, `dc`, `dd`).
    Array(Vec<Value>),
    /// A map in wire order (types `80`–`8f`, `de`, `df`). Keys are usually strings; JS
    /// stringifies any other key.
    Map(Vec<(Value, Value)>),
}

/// Why bytes could not be decoded by [`unpack`] / [`unpack_prefix`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BinaryPackError {
    /// The input ended inside a value.
    #[error(
        "input truncated at byte {offset}: needs at least {needed} more byte(s), {available} left"
    )]
    Truncated {
        /// Where the missing bytes should have started.
        offset: usize,
        /// How many bytes the value needed from there, at least.
        needed: usize,
        /// How many bytes were left.
        available: usize,
    },
    /// A type byte no BinaryPack packer writes (`c4`–`c9`, `d4`–`d7`).
    #[error("unknown BinaryPack type byte {byte:#04x} at byte {offset}")]
    UnknownType {
        /// The type byte.
        byte: u8,
        /// Its position.
        offset: usize,
    },
    /// A string's bytes are not UTF-8.
    #[error("string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: usize,
        /// What is wrong with them.
        #[source]
        source: std::str::Utf8Error,
    },
    /// Arrays and maps nested deeper than allowed.
    #[error("arrays/maps nested deeper than {max_depth} at byte {offset}")]
    TooDeep {
        /// The limit.
        max_depth: usize,
        /// The type byte of the container that went over it.
        offset: usize,
    },
    /// Bytes left after a complete value (only from [`unpack`]).
    #[error("{trailing} trailing byte(s) after the value, which ended at byte {consumed}")]
    TrailingBytes {
        /// The length of the value.
        consumed: usize,
        /// How many bytes followed it.
        trailing: usize,
    },
}

/// Why a [`Value`] could not be packed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PackError {
    /// BinaryPack lengths are at most 32 bits.
    #[error("{kind} of length {len} is longer than BinaryPack's 32-bit length allows")]
    TooLong {
        /// "string", "binary", "array" or "map".
        kind: &'static str,
        /// The length (bytes for strings and binary, items for arrays and maps).
        len: usize,
    },
}

/// Why a [`Value`] could not be turned into JSON or a serde type.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum JsonError {
    /// JSON has no binary type.
    #[error("binary data ({len} bytes) has no JSON form")]
    Binary {
        /// Its length.
        len: usize,
    },
    /// JSON has no NaN or infinities.
    #[error("the float {0} has no JSON form")]
    NonFiniteFloat(f64),
    /// Only string and integer map keys have a JSON form.
    #[error("a map key of type {0} has no JSON form")]
    UnsupportedKey(&'static str),
    /// serde_json could not convert between the JSON and the Rust type.
    #[error("JSON (de)serialization failed")]
    Serde(#[from] serde_json::Error),
}

impl Value {
    /// A short name of the variant, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Undefined => "undefined",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bin(_) => "binary",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
    }

    /// The value under a string key of a map, as JS sees it: the **last** entry with that key
    /// (JS assigns properties in order). `None` for non-maps and absent keys.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .rev()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is binary.
    pub fn as_bin(&self) -> Option<&[u8]> {
        match self {
            Value::Bin(b) => Some(b),
            _ => None,
        }
    }

    /// The integer, if this is an integer (or an integral float) that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            Value::Float(f) => match integral(f) {
                Some(Integral::Signed(i)) => Some(i),
                _ => None,
            },
            _ => None,
        }
    }

    /// The integer, if this is a non-negative integer (or integral float) that fits a `u64`.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Int(i) => u64::try_from(i).ok(),
            Value::UInt(u) => Some(u),
            Value::Float(f) => match integral(f) {
                Some(Integral::Signed(i)) => u64::try_from(i).ok(),
                Some(Integral::Unsigned(u)) => Some(u),
                None => None,
            },
            _ => None,
        }
    }

    /// This value as JSON; see the module docs for what fails and what is lossy.
    pub fn to_json(&self) -> Result<serde_json::Value, JsonError> {
        use serde_json::Value as J;
        Ok(match self {
            Value::Nil | Value::Undefined => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::UInt(u) => J::from(*u),
            Value::Float(f) => match integral(*f) {
                Some(Integral::Signed(i)) => J::from(i),
                Some(Integral::Unsigned(u)) => J::from(u),
                None => serde_json::Number::from_f64(*f)
                    .map(J::Number)
                    .ok_or(JsonError::NonFiniteFloat(*f))?,
            },
            Value::Str(s) => J::String(s.clone()),
            Value::Bin(b) => return Err(JsonError::Binary { len: b.len() }),
            Value::Array(items) => {
                J::Array(items.iter().map(Value::to_json).collect::<Result<_, _>>()?)
            }
            Value::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (k, v) in entries {
                    let key = match k {
                        Value::Str(s) => s.clone(),
                        Value::Int(i) => i.to_string(),
                        Value::UInt(u) => u.to_string(),
                        other => return Err(JsonError::UnsupportedKey(other.type_name())),
                    };
                    map.insert(key, v.to_json()?);
                }
                J::Object(map)
            }
        })
    }
}

impl From<&serde_json::Value> for Value {
    /// Lossless: integers become [`Value::Int`] / [`Value::UInt`], other numbers
    /// [`Value::Float`], objects maps with string keys in the JSON map's iteration order.
    fn from(json: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Nil,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Value::UInt(u)
                } else {
                    // serde_json numbers are always one of i64, u64, f64.
                    Value::Float(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            J::String(s) => Value::Str(s.clone()),
            J::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (Value::Str(k.clone()), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        Value::from(&json)
    }
}

impl TryFrom<&Value> for serde_json::Value {
    type Error = JsonError;
    fn try_from(value: &Value) -> Result<Self, JsonError> {
        value.to_json()
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i.into())
    }
}
impl From<u32> for Value {
    fn from(u: u32) -> Self {
        Value::Int(u.into())
    }
}
impl From<u64> for Value {
    /// Canonical: [`Value::Int`] when it fits.
    fn from(u: u64) -> Self {
        i64::try_from(u).map_or(Value::UInt(u), Value::Int)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::Bin(b)
    }
}
impl From<&[u8]> for Value {
    fn from(b: &[u8]) -> Self {
        Value::Bin(b.to_vec())
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

/// Any serde-serializable value as a [`Value`] (through `serde_json::Value`: structs become maps
/// with string keys, bytes become arrays of numbers).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, JsonError> {
    Ok(Value::from(serde_json::to_value(value)?))
}

/// A serde type from a [`Value`] (through [`Value::to_json`]).
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, JsonError> {
    Ok(serde_json::from_value(value.to_json()?)?)
}

// ---------------------------------------------------------------------------------------------
// Packing

/// Packs a value into BinaryPack bytes. Fails only on a string, binary, array or map longer
/// than `u32::MAX` (bytes or items).
pub fn pack(value: &Value) -> Result<Vec<u8>, PackError> {
    let mut out = Vec::new();
    pack_into(value, &mut out)?;
    Ok(out)
}

/// Appends the BinaryPack bytes of a value to `out`. On error, `out` holds a partial encoding.
pub fn pack_into(value: &Value, out: &mut Vec<u8>) -> Result<(), PackError> {
    match value {
        Value::Nil => out.push(0xc0),
        Value::Undefined => out.push(0xc1),
        Value::Bool(false) => out.push(0xc2),
        Value::Bool(true) => out.push(0xc3),
        Value::Int(i) => write_int(out, *i),
        Value::UInt(u) => write_uint(out, *u),
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_str(out, s)?,
        Value::Bin(b) => write_bin(out, b)?,
        Value::Array(items) => {
            write_header(out, items.len(), 0x90, 0xdc, 0xdd, "array")?;
            for item in items {
                pack_into(item, out)?;
            }
        }
        Value::Map(entries) => {
            write_header(out, entries.len(), 0x80, 0xde, 0xdf, "map")?;
            for (k, v) in entries {
                pack_into(k, out)?;
                pack_into(v, out)?;
            }
        }
    }
    Ok(())
}

/// Writes an integer in the smallest type the JS packer would use for it.
pub(crate) fn write_int(out: &mut Vec<u8>, n: i64) {
    let be = n.to_be_bytes();
    // Two's complement makes the low bytes right for both the signed and unsigned types.
    let (tag, len): (Option<u8>, usize) = match n {
        -32..=127 => (None, 1),
        128..=255 => (Some(0xcc), 1),
        -128..=-33 => (Some(0xd0), 1),
        256..=0xffff => (Some(0xcd), 2),
        -0x8000..=-129 => (Some(0xd1), 2),
        0x1_0000..=0xffff_ffff => (Some(0xce), 4),
        -0x8000_0000..=-0x8001 => (Some(0xd2), 4),
        _ => (Some(0xd3), 8),
    };
    out.extend(tag);
    out.extend_from_slice(&be[be.len() - len..]);
}

/// Writes an unsigned integer: as [`write_int`] when it fits an `i64`, else as uint64.
pub(crate) fn write_uint(out: &mut Vec<u8>, n: u64) {
    match i64::try_from(n) {
        Ok(i) => write_int(out, i),
        Err(_) => {
            out.push(0xcf);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

enum Integral {
    Signed(i64),
    Unsigned(u64),
}

/// The integer an integral, finite float in [-2^63, 2^64) stands for.
fn integral(f: f64) -> Option<Integral> {
    if !f.is_finite() || f.trunc() != f {
        return None;
    }
    if (-TWO_POW_63..TWO_POW_63).contains(&f) {
        // Exact: f is integral and in range (and -0.0 becomes 0).
        Some(Integral::Signed(f as i64))
    } else if (TWO_POW_63..TWO_POW_64).contains(&f) {
        Some(Integral::Unsigned(f as u64))
    } else {
        None
    }
}

fn write_float(out: &mut Vec<u8>, f: f64) {
    match integral(f) {
        Some(Integral::Signed(i)) => write_int(out, i),
        Some(Integral::Unsigned(u)) => write_uint(out, u),
        None => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
    }
}

pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), PackError> {
    write_header(out, s.len(), 0xb0, 0xd8, 0xd9, "string")?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub(crate) fn write_bin(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), PackError> {
    write_header(out, bytes.len(), 0xa0, 0xda, 0xdb, "binary")?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// Writes a length-prefixed type: `fix + len` for up to 15, else `tag16` + u16 or `tag32` + u32.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    len: usize,
    fix: u8,
    tag16: u8,
    tag32: u8,
    kind: &'static str,
) -> Result<(), PackError> {
    match u8::try_from(len) {
        Ok(small) if small <= 0x0f => out.push(fix | small),
        _ => {
            if let Ok(l) = u16::try_from(len) {
                out.push(tag16);
                out.extend_from_slice(&l.to_be_bytes());
            } else if let Ok(l) = u32::try_from(len) {
                out.push(tag32);
                out.extend_from_slice(&l.to_be_bytes());
            } else {
                return Err(PackError::TooLong { kind, len });
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Unpacking

/// Decodes exactly one value that spans all of `bytes`, nested at most [`DEFAULT_MAX_DEPTH`].
pub fn unpack(bytes: &[u8]) -> Result<Value, BinaryPackError> {
    unpack_with_max_depth(bytes, DEFAULT_MAX_DEPTH)
}

/// As [`unpack`], with another nesting limit (0 allows no arrays or maps at all).
pub fn unpack_with_max_depth(bytes: &[u8], max_depth: usize) -> Result<Value, BinaryPackError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        max_depth,
    };
    let value = reader.value(0)?;
    if reader.pos < bytes.len() {
        return Err(BinaryPackError::TrailingBytes {
            consumed: reader.pos,
            trailing: bytes.len() - reader.pos,
        });
    }
    Ok(value)
}

/// Decodes the value at the start of `bytes`, returning it and how many bytes it used; later
/// bytes are ignored (as the JS unpacker does).
pub fn unpack_prefix(bytes: &[u8]) -> Result<(Value, usize), BinaryPackError> {
    let mut reader = Reader {
        bytes,
        pos: 0,
        max_depth: DEFAULT_MAX_DEPTH,
    };
    let value = reader.value(0)?;
    Ok((value, reader.pos))
}

/// A cursor over untrusted input. Invariant: `pos <= bytes.len()`.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn truncated(&self, needed: usize) -> BinaryPackError {
        BinaryPackError::Truncated {
            offset: self.pos,
            needed,
            available: self.remaining(),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BinaryPackError> {
        let end = self.pos.checked_add(n).ok_or_else(|| self.truncated(n))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| self.truncated(n))?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], BinaryPackError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, BinaryPackError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, BinaryPackError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, BinaryPackError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, BinaryPackError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    fn len16(&mut self) -> Result<usize, BinaryPackError> {
        Ok(usize::from(self.u16()?))
    }
    fn len32(&mut self) -> Result<usize, BinaryPackError> {
        // On a 16-bit target a huge length cannot be backed by the input anyway.
        Ok(usize::try_from(self.u32()?).unwrap_or(usize::MAX))
    }

    fn value(&mut self, depth: usize) -> Result<Value, BinaryPackError> {
        let offset = self.pos;
        let byte = self.u8()?;
        let low = usize::from(byte & 0x0f);
        Ok(match byte {
            0x00..=0x7f => Value::Int(i64::from(byte)),
            0xe0..=0xff => Value::Int(i64::from(i8::from_be_bytes([byte]))),
            0x80..=0x8f => self.map(low, depth, offset)?,
            0x90..=0x9f => self.items(low, depth, offset)?,
            0xa0..=0xaf => Value::Bin(self.take(low)?.to_vec()),
            0xb0..=0xbf => self.string(low)?,
            0xc0 => Value::Nil,
            0xc1 => Value::Undefined,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xca => Value::Float(f64::from(f32::from_bits(self.u32()?))),
            0xcb => Value::Float(f64::from_bits(self.u64()?)),
            0xcc => Value::Int(i64::from(self.u8()?)),
            0xcd => Value::Int(i64::from(self.u16()?)),
            0xce => Value::Int(i64::from(self.u32()?)),
            0xcf => Value::from(self.u64()?),
            0xd0 => Value::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Value::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Value::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Value::Int(i64::from_be_bytes(self.array()?)),
            0xd8 => {
                let len = self.len16()?;
                self.string(len)?
            }
            0xd9 => {
                let len = self.len32()?;
                self.string(len)?
            }
            0xda => {
                let len = self.len16()?;
                Value::Bin(self.take(len)?.to_vec())
            }
            0xdb => {
                let len = self.len32()?;
                Value::Bin(self.take(len)?.to_vec())
            }
            0xdc => {
                let len = self.len16()?;
                self.items(len, depth, offset)?
            }
            0xdd => {
                let len = self.len32()?;
                self.items(len, depth, offset)?
            }
            0xde => {
                let len = self.len16()?;
                self.map(len, depth, offset)?
            }
            0xdf => {
                let len = self.len32()?;
                self.map(len, depth, offset)?
            }
            0xc4..=0xc9 | 0xd4..=0xd7 => return Err(BinaryPackError::UnknownType { byte, offset }),
        })
    }

    fn string(&mut self, len: usize) -> Result<Value, BinaryPackError> {
        let offset = self.pos;
        let bytes = self.take(len)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|source| BinaryPackError::InvalidUtf8 { offset, source })?;
        Ok(Value::Str(s.to_owned()))
    }

    /// Checks the nesting limit and that `len` items of at least `min_item_bytes` each can
    /// still follow, so a length field alone never drives an allocation.
    fn enter(
        &self,
        len: usize,
        min_item_bytes: usize,
        depth: usize,
        offset: usize,
    ) -> Result<usize, BinaryPackError> {
        let depth = depth + 1;
        if depth > self.max_depth {
            return Err(BinaryPackError::TooDeep {
                max_depth: self.max_depth,
                offset,
            });
        }
        let needed = len.saturating_mul(min_item_bytes);
        if needed > self.remaining() {
            return Err(self.truncated(needed));
        }
        Ok(depth)
    }

    fn items(&mut self, len: usize, depth: usize, offset: usize) -> Result<Value, BinaryPackError> {
        let depth = self.enter(len, 1, depth, offset)?;
        let mut items = Vec::with_capacity(len.min(MAX_PREALLOCATED_ITEMS));
        for _ in 0..len {
            items.push(self.value(depth)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, len: usize, depth: usize, offset: usize) -> Result<Value, BinaryPackError> {
        let depth = self.enter(len, 2, depth, offset)?;
        let mut entries = Vec::with_capacity(len.min(MAX_PREALLOCATED_ITEMS));
        for _ in 0..len {
            let key = self.value(depth)?;
            let value = self.value(depth)?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn packed(v: &Value) -> Vec<u8> {
        pack(v).expect("packable")
    }

    /// What a value reads back as after packing: the canonical form.
    fn canonical(v: &Value) -> Value {
        match v {
            Value::UInt(u) => Value::from(*u),
            Value::Float(f) => match integral(*f) {
                Some(Integral::Signed(i)) => Value::Int(i),
                Some(Integral::Unsigned(u)) => Value::from(u),
                None => Value::Float(*f),
            },
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (canonical(k), canonical(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            Just(Value::Undefined),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-300i64..300).prop_map(Value::Int),
            any::<u64>().prop_map(Value::UInt),
            // Any bit pattern except NaN (NaN != NaN); NaN has its own test.
            any::<f64>()
                .prop_filter("not NaN", |f| !f.is_nan())
                .prop_map(Value::Float),
            (-1e6f64..1e6).prop_map(Value::Float),
            ".{0,40}".prop_map(Value::Str),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bin),
        ];
        leaf.prop_recursive(6, 200, 20, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..20).prop_map(Value::Array),
                proptest::collection::vec((inner.clone(), inner), 0..20).prop_map(Value::Map),
            ]
        })
    }

    proptest! {
        #[test]
        fn pack_then_unpack_gives_the_canonical_value(v in arb_value()) {
            let bytes = packed(&v);
            prop_assert_eq!(unpack(&bytes), Ok(canonical(&v)));
        }

        #[test]
        fn packing_what_was_unpacked_reproduces_the_bytes(v in arb_value()) {
            let bytes = packed(&v);
            let back = unpack(&bytes).expect("own output decodes");
            prop_assert_eq!(packed(&back), bytes);
        }

        #[test]
        fn every_strict_prefix_is_truncated(v in arb_value()) {
            let bytes = packed(&v);
            for cut in 0..bytes.len() {
                let result = unpack(&bytes[..cut]);
                prop_assert!(
                    matches!(result, Err(BinaryPackError::Truncated { .. })),
                    "prefix {} of {}: {:?}", cut, hex(&bytes), result
                );
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = unpack(&bytes);
            let _ = unpack_prefix(&bytes);
        }

        #[test]
        fn garbage_with_valid_prefix_never_panics(
            v in arb_value(),
            tail in proptest::collection::vec(any::<u8>(), 1..50),
        ) {
            let mut bytes = packed(&v);
            let len = bytes.len();
            bytes.extend(tail);
            let result = unpack(&bytes);
            let trailing_rejected = matches!(
                result,
                Err(BinaryPackError::TrailingBytes { consumed, .. }) if consumed == len
            );
            prop_assert!(trailing_rejected, "{:?}", result);
            prop_assert_eq!(unpack_prefix(&bytes), Ok((canonical(&v), len)));
        }

        #[test]
        fn json_round_trip(v in arb_value()) {
            // Whatever converts to JSON converts back to the same JSON.
            if let Ok(json) = v.to_json() {
                let again = Value::from(&json).to_json().expect("JSON-born values convert");
                prop_assert_eq!(again, json);
            }
        }
    }

    #[test]
    fn integer_widths_follow_the_js_packer() {
        let cases: &[(i64, &str)] = &[
            (0, "00"),
            (127, "7f"),
            (128, "cc80"),
            (255, "ccff"),
            (256, "cd0100"),
            (65535, "cdffff"),
            (65536, "ce00010000"),
            (0xffff_ffff, "ceffffffff"),
            (0x1_0000_0000, "d30000000100000000"),
            (-1, "ff"),
            (-32, "e0"),
            (-33, "d0df"),
            (-128, "d080"),
            (-129, "d1ff7f"),
            (-32768, "d18000"),
            (-32769, "d2ffff7fff"),
            (i64::from(i32::MIN), "d280000000"),
            (i64::from(i32::MIN) - 1, "d3ffffffff7fffffff"),
            (i64::MAX, "d37fffffffffffffff"),
        ];
        for &(n, want) in cases {
            assert_eq!(hex(&packed(&Value::Int(n))), want, "{n}");
            if n != i64::MAX {
                // (i64::MAX as f64 rounds up to 2^63.)
                assert_eq!(hex(&packed(&Value::Float(n as f64))), want, "{n} as float");
            }
        }
        assert_eq!(hex(&packed(&Value::UInt(5))), "05");
        assert_eq!(hex(&packed(&Value::UInt(u64::MAX))), "cfffffffffffffffff");
    }

    #[test]
    fn floats_follow_the_js_packer_and_fix_its_bugs() {
        assert_eq!(hex(&packed(&Value::Float(1.5))), "cb3ff8000000000000");
        assert_eq!(hex(&packed(&Value::Float(-0.0))), "00");
        assert_eq!(
            hex(&packed(&Value::Float(TWO_POW_63))),
            "cf8000000000000000"
        );
        assert_eq!(
            hex(&packed(&Value::Float(-TWO_POW_63))),
            "d38000000000000000"
        );
        assert_eq!(
            hex(&packed(&Value::Float(TWO_POW_64))),
            "cb43f0000000000000"
        );
        assert_eq!(
            hex(&packed(&Value::Float(f64::INFINITY))),
            "cb7ff0000000000000"
        );
        assert_eq!(
            hex(&packed(&Value::Float(7.999_999_999_999_999))),
            "cb401fffffffffffff"
        );
        let nan = packed(&Value::Float(f64::NAN));
        match unpack(&nan) {
            Ok(Value::Float(f)) => assert!(f.is_nan()),
            other => panic!("{other:?}"),
        }
        assert_eq!(unpack(&[0xca, 0x3f, 0xc0, 0, 0]), Ok(Value::Float(1.5)));
    }

    #[test]
    fn length_headers_switch_at_15_and_65535() {
        for (len, header) in [
            (15usize, "bf"),
            (16, "d80010"),
            (65535, "d8ffff"),
            (65536, "d900010000"),
        ] {
            let bytes = packed(&Value::Str("a".repeat(len)));
            assert_eq!(hex(&bytes[..header.len() / 2]), header);
            assert_eq!(unpack(&bytes), Ok(Value::Str("a".repeat(len))));
        }
        for (len, header) in [(15usize, "af"), (16, "da0010"), (65536, "db00010000")] {
            let bytes = packed(&Value::Bin(vec![7; len]));
            assert_eq!(hex(&bytes[..header.len() / 2]), header);
        }
        for (len, header) in [(15usize, "9f"), (16, "dc0010"), (65536, "dd00010000")] {
            let v = Value::Array(vec![Value::Nil; len]);
            let bytes = packed(&v);
            assert_eq!(hex(&bytes[..header.len() / 2]), header);
            assert_eq!(unpack(&bytes), Ok(v));
        }
        for (len, header) in [(15usize, "8f"), (16, "de0010"), (65536, "df00010000")] {
            let v = Value::Map(
                (0..len)
                    .map(|i| (Value::from(i as u64), Value::Nil))
                    .collect(),
            );
            let bytes = packed(&v);
            assert_eq!(hex(&bytes[..header.len() / 2]), header);
            assert_eq!(unpack(&bytes), Ok(v));
        }
    }

    #[test]
    fn typed_errors_for_bad_input() {
        assert_eq!(
            unpack(&[]),
            Err(BinaryPackError::Truncated {
                offset: 0,
                needed: 1,
                available: 0
            })
        );
        assert_eq!(
            unpack(&[0xc4]),
            Err(BinaryPackError::UnknownType {
                byte: 0xc4,
                offset: 0
            })
        );
        assert_eq!(
            unpack(&[0x91, 0xd7]),
            Err(BinaryPackError::UnknownType {
                byte: 0xd7,
                offset: 1
            })
        );
        assert!(matches!(
            unpack(&[0xb2, 0xc3, 0x28]),
            Err(BinaryPackError::InvalidUtf8 { offset: 1, .. })
        ));
        assert_eq!(
            unpack(&[0x01, 0x02]),
            Err(BinaryPackError::TrailingBytes {
                consumed: 1,
                trailing: 1
            })
        );
    }

    #[test]
    fn huge_length_fields_fail_without_allocating() {
        for bytes in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff, 0x00][..],
            &[0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
            &[0xdb, 0xff, 0xff, 0xff, 0xff, 0x00],
            &[0xd9, 0xff, 0xff, 0xff, 0xff, 0x00],
            &[0xdc, 0xff, 0xff],
        ] {
            assert!(
                matches!(unpack(bytes), Err(BinaryPackError::Truncated { .. })),
                "{}",
                hex(bytes)
            );
        }
        // A map needs two bytes per entry: 3 entries cannot fit in 5 bytes.
        assert!(matches!(
            unpack(&[0x83, 1, 2, 3, 4, 5]),
            Err(BinaryPackError::Truncated { needed: 6, .. })
        ));
    }

    #[test]
    fn nesting_is_limited() {
        let deep = vec![0x91u8; DEFAULT_MAX_DEPTH + 1];
        assert_eq!(
            unpack(&deep),
            Err(BinaryPackError::TooDeep {
                max_depth: DEFAULT_MAX_DEPTH,
                offset: DEFAULT_MAX_DEPTH
            })
        );
        let mut ok = vec![0x91u8; DEFAULT_MAX_DEPTH];
        ok.push(0xc0);
        assert!(unpack(&ok).is_ok());
        assert!(matches!(
            unpack_with_max_depth(&[0x80], 0),
            Err(BinaryPackError::TooDeep { .. })
        ));
        // Very deep garbage neither overflows the stack nor allocates.
        let very_deep = [0xdcu8, 0x00, 0x01].repeat(100_000);
        assert!(matches!(
            unpack(&very_deep),
            Err(BinaryPackError::TooDeep { .. })
        ));
    }

    #[test]
    fn map_lookup_sees_the_last_key_like_js() {
        let v = Value::Map(vec![
            (Value::from("a"), Value::Int(1)),
            (Value::Int(7), Value::Int(2)),
            (Value::from("a"), Value::Int(3)),
        ]);
        assert_eq!(v.get("a"), Some(&Value::Int(3)));
        assert_eq!(v.get("7"), None);
        assert_eq!(Value::Nil.get("a"), None);
    }

    #[test]
    fn json_bridge() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Msg {
            kind: String,
            count: u32,
            ratio: f64,
            tags: Vec<String>,
            parent: Option<i64>,
        }
        let msg = Msg {
            kind: "vote".into(),
            count: 3,
            ratio: 0.5,
            tags: vec!["a".into()],
            parent: None,
        };
        let v = to_value(&msg).expect("serializable");
        let bytes = packed(&v);
        let back: Msg = from_value(&unpack(&bytes).expect("decodes")).expect("deserializes");
        assert_eq!(back, msg);

        // An integral float (as a non-JS sender might write it) still deserializes as an integer.
        let v = Value::Map(vec![
            (Value::from("kind"), Value::from("x")),
            (Value::from("count"), Value::Float(2.0)),
            (Value::from("ratio"), Value::Int(1)),
            (Value::from("tags"), Value::Array(vec![])),
            (Value::from("parent"), Value::Undefined),
        ]);
        let m: Msg = from_value(&v).expect("deserializes");
        assert_eq!(m.count, 2);

        assert!(matches!(
            Value::Bin(vec![1]).to_json(),
            Err(JsonError::Binary { len: 1 })
        ));
        assert!(matches!(
            Value::Float(f64::INFINITY).to_json(),
            Err(JsonError::NonFiniteFloat(_))
        ));
        assert!(matches!(
            Value::Map(vec![(Value::Bool(true), Value::Nil)]).to_json(),
            Err(JsonError::UnsupportedKey("bool"))
        ));
        assert_eq!(
            Value::Map(vec![(Value::Int(1), Value::Nil)]).to_json().ok(),
            Some(serde_json::json!({"1": null}))
        );
    }
}
