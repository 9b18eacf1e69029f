//! The server's side of Telegram's two-step verification (SRP-2048,
//! <https://core.telegram.org/api/srp>): it knows the verifier `v` of one
//! password, offers `g_b`, and checks the client's `M1` — so a wrong
//! password is refused by the same maths Telegram uses, not by a string
//! comparison.

use grammers_tl_types as tl;
use hmac::Hmac;
use num_bigint::BigUint;
use sha2::{Digest, Sha256, Sha512};

/// Telegram's 2048-bit safe prime (the one real servers send), g = 3.
const P_HEX: &str = "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b";
const G: u32 = 3;

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<Sha512>>(&ph1, salt1, 100_000, &mut dk).expect("pbkdf2 output length");
    sh(&dk, salt2)
}

fn pad256(n: &BigUint) -> [u8; 256] {
    let b = n.to_bytes_be();
    let mut out = [0; 256];
    out[256 - b.len()..].copy_from_slice(&b);
    out
}

fn random_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|_| rand::random::<u8>()).collect()
}

/// One account's password as the server stores it (never the password).
pub struct Srp {
    p: BigUint,
    salt1: Vec<u8>,
    salt2: Vec<u8>,
    v: BigUint,
    b: BigUint,
    g_b: [u8; 256],
    pub srp_id: i64,
}

impl Srp {
    pub fn new(password: &str) -> Self {
        let p = BigUint::parse_bytes(P_HEX.as_bytes(), 16).expect("valid prime");
        let (salt1, salt2) = (random_bytes(40), random_bytes(16));
        let x = BigUint::from_bytes_be(&ph2(password.as_bytes(), &salt1, &salt2));
        let g = BigUint::from(G);
        let v = g.modpow(&x, &p);
        let b = BigUint::from_bytes_be(&random_bytes(256)) % &p;
        let k = BigUint::from_bytes_be(&h(&[&pad256(&p), &pad256(&g)]));
        let g_b = pad256(&((k * &v + g.modpow(&b, &p)) % &p));
        Srp {
            p,
            salt1,
            salt2,
            v,
            b,
            g_b,
            srp_id: rand::random::<i64>().abs(),
        }
    }

    /// The algorithm parameters as `account.getPassword` sends them.
    pub fn algo(&self) -> tl::enums::PasswordKdfAlgo {
        tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
            salt1: self.salt1.clone(),
            salt2: self.salt2.clone(),
            g: G as i32,
            p: pad256(&self.p).to_vec(),
        }
        .into()
    }

    pub fn g_b(&self) -> Vec<u8> {
        self.g_b.to_vec()
    }

    /// Whether the client's `(srp_id, A, M1)` proves knowledge of the password.
    pub fn check(&self, srp_id: i64, a: &[u8], m1: &[u8]) -> bool {
        let big_a = BigUint::from_bytes_be(a);
        if srp_id != self.srp_id || a.len() > 256 || (&big_a % &self.p) == BigUint::ZERO {
            return false;
        }
        let a_pad = pad256(&big_a);
        let u = BigUint::from_bytes_be(&h(&[&a_pad, &self.g_b]));
        let s = (big_a * self.v.modpow(&u, &self.p)).modpow(&self.b, &self.p);
        let k_a = h(&[&pad256(&s)]);
        let h_p = h(&[&pad256(&self.p)]);
        let h_g = h(&[&pad256(&BigUint::from(G))]);
        let xor: Vec<u8> = h_p.iter().zip(h_g).map(|(a, b)| a ^ b).collect();
        let expected = h(&[
            &xor,
            &h(&[&self.salt1]),
            &h(&[&self.salt2]),
            &a_pad,
            &self.g_b,
            &k_a,
        ]);
        expected.as_slice() == m1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::two_factor_auth::calculate_2fa;

    fn client(srp: &Srp, password: &str) -> ([u8; 32], [u8; 256]) {
        let tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(a) =
            srp.algo()
        else {
            unreachable!()
        };
        calculate_2fa(
            &a.salt1,
            &a.salt2,
            &a.p,
            &a.g,
            srp.g_b(),
            random_bytes(256),
            password,
        )
    }

    #[test]
    fn the_right_password_passes_and_a_wrong_one_does_not() {
        let srp = Srp::new("hunter2");
        let (m1, a) = client(&srp, "hunter2");
        assert!(srp.check(srp.srp_id, &a, &m1));
        let (m1, a) = client(&srp, "hunter3");
        assert!(!srp.check(srp.srp_id, &a, &m1));
    }
}
