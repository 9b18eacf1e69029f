//! Sizes in the config file (`"512MiB"`, `"1GiB"`, or a plain number of
//! bytes), written back in the largest unit that divides them.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// A size in bytes written as `"512MiB"` in config files.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

/// Parses `123`, `64KiB`, `20MiB`, `1GiB` (binary units only: a config
/// that says "MB" should not silently mean something else).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as \"512MiB\" or \"1GiB\""))?;
    let mult = match unit.trim() {
        "" => 1,
        u => UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("{s:?}: unknown unit {u:?} (use B, KiB, MiB or GiB)"))?,
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

/// `1073741824` → `1GiB`.
pub fn format_bytes(n: u64) -> String {
    let (name, mult) = UNITS
        .iter()
        .find(|(_, m)| n >= *m && n.is_multiple_of(*m))
        .copied()
        .unwrap_or(("B", 1));
    format!("{}{name}", n / mult)
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as \"512MiB\" or \"1GiB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("must not be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse_bytes(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_bytes(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bytes("20MiB"), Ok(20 << 20));
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert!(parse_bytes("1GB").is_err());
        assert!(parse_bytes("MiB").is_err());
        assert!(parse_bytes("99999999999GiB").is_err());
        assert_eq!(format_bytes(1 << 30), "1GiB");
        assert_eq!(format_bytes(1536 << 10), "1536KiB");
        assert_eq!(format_bytes(1000), "1000B");
        let b: ByteSize = toml::Value::String("2MiB".into()).try_into().unwrap();
        assert_eq!(b.0, 2 << 20);
        let b: ByteSize = toml::Value::Integer(512).try_into().unwrap();
        assert_eq!(b.0, 512);
    }
}
