use std::os::unix::fs::PermissionsExt;

use super::*;

fn key(n: u8) -> SessionKey {
    SessionKey::from_bytes([n; 32])
}

#[test]
fn seals_and_opens_with_a_fresh_nonce_each_time() {
    let ring = Keyring::new(Some(key(1)));
    let plain = b"{\"version\":1,\"auth_key\":\"secret\"}";
    let a = ring.seal(7, plain).unwrap().unwrap();
    let b = ring.seal(7, plain).unwrap().unwrap();
    assert_ne!(a.bytes, b.bytes, "a random nonce per write");
    assert_eq!(a.key_id, key(1).id());
    assert_eq!(a.bytes[0], FORMAT_V1);
    assert_eq!(&a.bytes[1..9], key(1).id().as_bytes());
    assert!(!a.bytes.windows(6).any(|w| w == b"secret"));
    assert_eq!(ring.open(7, &a.bytes).unwrap(), plain);
    assert_eq!(blob_key_id(&a.bytes), Some(key(1).id()));
}

#[test]
fn a_blob_moved_to_another_account_does_not_open() {
    let ring = Keyring::new(Some(key(1)));
    let sealed = ring.seal(7, b"session of seven").unwrap().unwrap();
    let err = ring.open(8, &sealed.bytes).unwrap_err();
    assert_eq!(err, SealError::Rejected(key(1).id()));
    assert!(
        err.to_string().contains("belongs to another account"),
        "{err}"
    );
    let mut flipped = sealed.bytes.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(
        ring.open(7, &flipped).unwrap_err(),
        SealError::Rejected(key(1).id())
    );
}

#[test]
fn another_key_is_reported_by_its_id_and_older_keys_still_open() {
    let old = Keyring::new(Some(key(1)));
    let sealed = old.seal(3, b"x").unwrap().unwrap();
    let new = Keyring::new(Some(key(2)));
    let err = new.open(3, &sealed.bytes).unwrap_err();
    assert_eq!(err, SealError::KeyUnavailable(key(1).id()));
    assert!(err.to_string().contains(&key(1).id().to_hex()));
    assert!(err.to_string().contains("session_key"));
    let both = Keyring::new(Some(key(2))).with_older(key(1));
    assert_eq!(both.open(3, &sealed.bytes).unwrap(), b"x");
    assert_eq!(both.ids(), vec![key(2).id(), key(1).id()]);
    assert_eq!(
        both.seal(3, b"x").unwrap().unwrap().key_id,
        key(2).id(),
        "new blobs go under the current key"
    );
    assert_eq!(new.open(3, b"{}").unwrap_err(), SealError::Malformed);
    assert!(Keyring::new(None).seal(3, b"x").unwrap().is_none());
}

#[test]
fn key_ids_are_stable_fingerprints_and_debug_hides_the_key() {
    assert_eq!(key(1).id(), key(1).id());
    assert_ne!(key(1).id(), key(2).id());
    let id = key(1).id();
    assert_eq!(KeyId::parse(&id.to_hex()), Some(id));
    assert_eq!(id.to_hex().len(), 16);
    let shown = format!("{:?} {:?}", key(0x41), Keyring::new(Some(key(0x41))));
    assert!(
        !shown.contains("65, 65") && !shown.contains("4141"),
        "{shown}"
    );
}

#[test]
fn key_files_raw_or_hex_private_only() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw");
    std::fs::write(&raw, [9u8; 32]).unwrap();
    std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        SessionKey::from_file(&raw, true).unwrap().id(),
        SessionKey::from_bytes([9; 32]).id()
    );
    let hex = dir.path().join("hex");
    std::fs::write(&hex, format!("{}\n", "09".repeat(32))).unwrap();
    std::fs::set_permissions(&hex, std::fs::Permissions::from_mode(0o400)).unwrap();
    assert_eq!(
        SessionKey::from_file(&hex, true).unwrap().id(),
        SessionKey::from_bytes([9; 32]).id()
    );
    std::fs::set_permissions(&raw, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = SessionKey::from_file(&raw, true).unwrap_err();
    assert!(
        err.contains("readable by group or others (mode 0640)"),
        "{err}"
    );
    assert!(SessionKey::from_file(&raw, false).is_ok());
    let short = dir.path().join("short");
    std::fs::write(&short, [1u8; 16]).unwrap();
    std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = SessionKey::from_file(&short, true).unwrap_err();
    assert!(err.contains("exactly 32 random bytes"), "{err}");
    assert!(SessionKey::is_unset(b"\n"));
    assert!(!SessionKey::is_unset(&[7; 32]));
}
