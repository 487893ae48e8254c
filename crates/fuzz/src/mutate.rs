//! A small seeded PRNG and the byte mutations the fuzzer applies to corpus inputs.

/// xorshift64*: fast, seeded, good enough to pick mutations.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Byte values that sit on the edges of BinaryPack's and JSON's grammar.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xca, 0xcb, 0xcc,
    0xcf, 0xd0, 0xd3, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, b'"', b'{', b'}', b'[',
    b']', b':', b',', b'\\', b'0', b'9', b'-', b'e', b'n', b't',
];

/// Text fragments that stress JSON readers.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "null",
    "true",
    "1e999",
    "-0",
    "18446744073709551616",
    "4294967296",
    "0",
    "-1",
    "\"v\":1,",
    "\"v\":2,",
    "\"type\":\"poll:vote\",",
    "\\u0000",
    "\\ud800",
    "[[[[[[[[[[[[[[[[",
    "]]]]]]]]]]]]]]]]",
    "\"pollId\":",
    "\"commandId\":null,",
    "\"optionIds\":[0],",
];

/// A mutant of a random corpus input: one to four mutations, sometimes spliced with another.
pub fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], text: bool) -> Vec<u8> {
    let mut input = corpus[rng.below(corpus.len())].clone();
    for _ in 0..=rng.below(4) {
        let len = input.len();
        match rng.below(if text { 11 } else { 10 }) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes = rng.bytes(n);
                input.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                input.drain(i..i + n);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let copy = input[i..i + n].to_vec();
                let at = rng.below(len + 1);
                input.splice(at..at, copy);
            }
            5 if len > 0 => input.truncate(rng.below(len)),
            6 => {
                // A 4-byte big-endian length that claims far more than is there.
                let i = rng.below(len + 1);
                let claim = [0xff, 0xff, 0xff, 0xff - rng.below(4) as u8];
                input.splice(i..i, claim);
            }
            7 if len >= 4 => {
                let i = rng.below(len - 3);
                input[i..i + 4].copy_from_slice(&(rng.next() as u32).to_be_bytes());
            }
            8 => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            9 if len > 0 => {
                let i = rng.below(len);
                let j = rng.below(len);
                input.swap(i, j);
            }
            10 => {
                let i = rng.below(len + 1);
                let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
                input.splice(i..i, token.iter().copied());
            }
            _ => {}
        }
    }
    input
}
