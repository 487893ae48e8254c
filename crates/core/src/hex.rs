//! Lowercase hexadecimal text of bytes, and back: the one hex codec of the program (identity
//! seeds in files and storage, signatures on the wire).
//!
//! [`encode`] always writes lowercase. [`decode`] reads either case (a seed a person may have
//! retyped); [`decode_lower`] reads only the lowercase form [`encode`] writes, for values that
//! must have one spelling (signatures).

/// `bytes` as lowercase hex, two digits per byte.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Exactly `2 × N` hex digits (either case) as `N` bytes; `None` otherwise.
pub fn decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode_with(text, true)
}

/// Exactly `2 × N` lowercase hex digits as `N` bytes; `None` otherwise (uppercase too).
pub fn decode_lower<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode_with(text, false)
}

fn decode_with<const N: usize>(text: &str, upper_too: bool) -> Option<[u8; N]> {
    let digits = text.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (slot, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *slot = (value(pair[0], upper_too)? << 4) | value(pair[1], upper_too)?;
    }
    Some(out)
}

fn value(digit: u8, upper_too: bool) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' if upper_too => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        let bytes: [u8; 256] = std::array::from_fn(|i| i as u8);
        let text = encode(&bytes);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(&text[text.len() - 4..], "feff");
        assert_eq!(decode::<256>(&text), Some(bytes));
        assert_eq!(decode_lower::<256>(&text), Some(bytes));
    }

    #[test]
    fn case_length_and_stray_characters() {
        assert_eq!(decode::<2>("ABcd"), Some([0xab, 0xcd]));
        assert_eq!(decode_lower::<2>("ABcd"), None);
        assert_eq!(decode::<2>("abc"), None);
        assert_eq!(decode::<2>("abcdef"), None);
        assert_eq!(decode::<2>("+abc"), None);
        assert_eq!(decode::<2>("ab g"), None);
        assert_eq!(decode::<1>("é"), None);
    }
}
