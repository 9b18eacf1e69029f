//! MTProto 2.0 message encryption, the server's half: grammers-crypto only
//! ships the client's (`x = 0` to encrypt, `x = 8` to decrypt), so the
//! key derivation is repeated here with the sides swapped, on top of its
//! AES-IGE.

use grammers_crypto::aes::{ige_decrypt, ige_encrypt};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// An authorization key as the server holds it.
#[derive(Clone)]
pub struct ServerKey {
    data: [u8; 256],
    id: [u8; 8],
}

/// Why an incoming packet could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// Too short or not a multiple of 16 after the header.
    Length,
    /// `auth_key_id` 0: a plain (key exchange) message, which we do not serve.
    Plain,
    /// Encrypted under a key this server does not know.
    UnknownKey,
    /// The `msg_key` does not match the plaintext: tampered or wrong key.
    MsgKey,
}

impl ServerKey {
    pub fn new(data: [u8; 256]) -> Self {
        let sha = Sha1::digest(data);
        let mut id = [0; 8];
        id.copy_from_slice(&sha[12..20]);
        ServerKey { data, id }
    }

    pub fn bytes(&self) -> [u8; 256] {
        self.data
    }

    /// `(aes_key, aes_iv)` for `msg_key`; `x` is 0 client→server, 8 server→client.
    fn key_iv(&self, msg_key: &[u8; 16], x: usize) -> ([u8; 32], [u8; 32]) {
        let a = Sha256::new()
            .chain_update(msg_key)
            .chain_update(&self.data[x..x + 36])
            .finalize();
        let b = Sha256::new()
            .chain_update(&self.data[40 + x..40 + x + 36])
            .chain_update(msg_key)
            .finalize();
        let mut key = [0; 32];
        key[..8].copy_from_slice(&a[..8]);
        key[8..24].copy_from_slice(&b[8..24]);
        key[24..].copy_from_slice(&a[24..]);
        let mut iv = [0; 32];
        iv[..8].copy_from_slice(&b[..8]);
        iv[8..24].copy_from_slice(&a[8..24]);
        iv[24..].copy_from_slice(&b[24..]);
        (key, iv)
    }

    fn msg_key(&self, plaintext: &[u8], x: usize) -> [u8; 16] {
        let large = Sha256::new()
            .chain_update(&self.data[88 + x..88 + x + 32])
            .chain_update(plaintext)
            .finalize();
        let mut k = [0; 16];
        k.copy_from_slice(&large[8..24]);
        k
    }

    /// Decrypts a client packet (`auth_key_id | msg_key | ciphertext`).
    pub fn decrypt(&self, packet: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if packet.len() >= 8 && packet[..8] == [0; 8] {
            return Err(CryptoError::Plain);
        }
        if packet.len() < 24 + 16 || !(packet.len() - 24).is_multiple_of(16) {
            return Err(CryptoError::Length);
        }
        if packet[..8] != self.id {
            return Err(CryptoError::UnknownKey);
        }
        let mut msg_key = [0; 16];
        msg_key.copy_from_slice(&packet[8..24]);
        let (key, iv) = self.key_iv(&msg_key, 0);
        let mut plain = packet[24..].to_vec();
        ige_decrypt(&mut plain, &key, &iv);
        if self.msg_key(&plain, 0) != msg_key {
            return Err(CryptoError::MsgKey);
        }
        Ok(plain)
    }

    /// Encrypts a server message (`salt | session_id | message`), adding
    /// 12..=1024 bytes of random padding as MTProto 2.0 requires.
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut plain = plaintext.to_vec();
        let pad = 16 + (16 - plain.len() % 16);
        plain.extend((0..pad).map(|_| rand::random::<u8>()));
        let msg_key = self.msg_key(&plain, 8);
        let (key, iv) = self.key_iv(&msg_key, 8);
        ige_encrypt(&mut plain, &key, &iv);
        let mut out = Vec::with_capacity(24 + plain.len());
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&msg_key);
        out.extend_from_slice(&plain);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::{AuthKey, DequeBuffer, decrypt_data_v2, encrypt_data_v2};

    fn key() -> [u8; 256] {
        std::array::from_fn(|i| (i * 7 + 3) as u8)
    }

    #[test]
    fn reads_what_the_grammers_client_encrypts() {
        let mut buf = DequeBuffer::with_capacity(64, 64);
        buf.extend(*b"0123456789abcdef0123456789abcdef");
        encrypt_data_v2(&mut buf, &AuthKey::from_bytes(key()));
        let plain = ServerKey::new(key()).decrypt(&buf[..]).unwrap();
        assert_eq!(&plain[..32], b"0123456789abcdef0123456789abcdef");
    }

    #[test]
    fn the_grammers_client_reads_what_we_encrypt() {
        let mut packet = ServerKey::new(key()).encrypt(b"server says hello, sixteen bytes!");
        let plain = decrypt_data_v2(&mut packet, &AuthKey::from_bytes(key())).unwrap();
        assert_eq!(&plain[..33], b"server says hello, sixteen bytes!");
    }

    #[test]
    fn a_foreign_key_or_a_flipped_bit_is_refused() {
        let mut other = key();
        other[0] ^= 1;
        let packet = ServerKey::new(other).encrypt(&[0; 32]);
        // Our encrypt() uses x = 8; decrypting as server (x = 0) must fail too.
        assert_eq!(
            ServerKey::new(key()).decrypt(&packet),
            Err(CryptoError::UnknownKey)
        );
        let mut buf = DequeBuffer::with_capacity(64, 64);
        buf.extend([0u8; 32]);
        encrypt_data_v2(&mut buf, &AuthKey::from_bytes(key()));
        let mut bytes = buf[..].to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            ServerKey::new(key()).decrypt(&bytes),
            Err(CryptoError::MsgKey)
        );
    }
}
