//! The three tweetnacl functions the PROTOCOL.md §6 participant calls, backed by the same
//! ed25519-dalek code the app uses, for benchmark B3's light clients: tweetnacl-js takes ~15 ms
//! to verify a frame on the bench machine, so 25 clients sharing one page thread measured
//! tweetnacl instead of the hub. Same shapes as tweetnacl: a 64-byte secret key is
//! seed ‖ public key, signatures are 64 bytes, keys 32.

use ed25519_dalek::{Signature, SigningKey, VerifyingKey};

/// `nacl.sign.keyPair.fromSeed(seed).publicKey`; empty if `seed` is not 32 bytes.
pub fn public_key(seed: &[u8]) -> Vec<u8> {
    match <[u8; 32]>::try_from(seed) {
        Ok(seed) => SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes()
            .to_vec(),
        Err(_) => Vec::new(),
    }
}

/// `nacl.sign.detached(message, secretKey)`; empty if `secret_key` is not 64 bytes.
pub fn sign(message: &[u8], secret_key: &[u8]) -> Vec<u8> {
    match secret_key
        .get(..32)
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
    {
        Some(seed) if secret_key.len() == 64 => {
            use ed25519_dalek::Signer;
            SigningKey::from_bytes(&seed)
                .sign(message)
                .to_bytes()
                .to_vec()
        }
        _ => Vec::new(),
    }
}

/// `nacl.sign.detached.verify(message, signature, publicKey)`, with the strict check the app
/// uses.
pub fn verify(message: &[u8], signature: &[u8], public_key: &[u8]) -> bool {
    let (Ok(key), Ok(signature)) = (
        <[u8; 32]>::try_from(public_key),
        <[u8; 64]>::try_from(signature),
    ) else {
        return false;
    };
    VerifyingKey::from_bytes(&key)
        .and_then(|key| key.verify_strict(message, &Signature::from_bytes(&signature)))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let seed = [7u8; 32];
        let public = public_key(&seed);
        let secret = [seed.as_slice(), &public].concat();
        let sig = sign(b"hello", &secret);
        assert!(verify(b"hello", &sig, &public));
        assert!(!verify(b"hellO", &sig, &public));
        assert!(!verify(b"hello", &sig[..63], &public));
        assert!(sign(b"hello", &seed).is_empty());
    }
}
