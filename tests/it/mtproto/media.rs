//! Attachments through the test server, sent by the real daemon in live
//! mode: a photo and an album arrive with the bytes the operator gave (the
//! server's SHA-256 of the parts it put together), under the deliveries'
//! random_ids (album items under ids derived from them), caption on the
//! first item; the file is uploaded once and reused, and after the server
//! expires its file references the next post uploads again.

use microbot_tests::daemon::Db;
use microbot_tests::live::Live;

use crate::media::sha256;

/// An album item's random_id: the delivery's own for item 0, a SplitMix64
/// step from it for the others — written out here rather than taken from
/// the daemon, so a change there (which would break de-duplication of a
/// resend made by an older daemon) fails this test.
fn item_random_id(random_id: i64, index: u64) -> i64 {
    if index == 0 {
        return random_id;
    }
    let mut z = (random_id as u64).wrapping_add(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(index));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as i64
}

fn png(tag: &str, size: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend(tag.as_bytes());
    b.resize(size, 7);
    b
}

fn mtproto_photo_and_album_carry_the_bytes_and_the_committed_random_ids(db: Db) {
    let live = Live::start(db, None);
    live.logged_in("ops");
    let dir = live.daemon.dir.path();
    let files: Vec<(std::path::PathBuf, Vec<u8>)> =
        [("a.png", 600 * 1024), ("b.png", 1000), ("c.png", 2000)]
            .iter()
            .map(|(name, size)| {
                let bytes = png(name, *size);
                let path = dir.join(name);
                std::fs::write(&path, &bytes).unwrap();
                (path, bytes)
            })
            .collect();
    let arg = |i: usize| files[i].0.to_str().unwrap().to_owned();
    let (a, b, c) = (arg(0), arg(1), arg(2));
    let base = |name: &'static str| {
        vec![
            "template",
            "create",
            "--account",
            "ops",
            "--name",
            name,
            "--every",
            "2s",
            "--misfire",
            "skip",
            "--chat",
            "@ops_room",
            "--text",
            "**status**",
            "--parse-mode",
            "markdown",
            "--silent",
        ]
    };
    let mut one = base("photo");
    one.extend(["--photo", a.as_str()]);
    live.daemon.ctl_json(&one);
    let mut album = base("album");
    album.extend([
        "--photo",
        a.as_str(),
        "--photo",
        b.as_str(),
        "--photo",
        c.as_str(),
    ]);
    live.daemon.ctl_json(&album);

    let sent = |n: usize| {
        live.deliveries()
            .iter()
            .filter(|d| d.state == "sent")
            .count()
            >= n
    };
    live.wait_for("a photo and an album sent", 60, || sent(2));
    let kept = live.server.kept();
    let rows = live.deliveries();
    let mut albums = 0;
    let mut photos = 0;
    for d in rows.iter().filter(|d| d.state == "sent") {
        let first = kept
            .iter()
            .find(|m| m.random_id == d.random_id)
            .unwrap_or_else(|| panic!("server never got random_id of {d:?}: {kept:?}"));
        assert!(first.silent, "{first:?}");
        assert_eq!(first.text, "status", "the caption, on the first item");
        assert_eq!(first.entities, ["Bold(0,6)"]);
        let media = first.media.as_ref().expect("a file");
        assert_eq!(media.kind, "photo");
        assert_eq!(media.sha256, sha256(&files[0].1), "{media:?}");
        match first.grouped_id {
            None => photos += 1,
            Some(group) => {
                albums += 1;
                let items: Vec<_> = kept
                    .iter()
                    .filter(|m| m.grouped_id == Some(group))
                    .collect();
                assert_eq!(items.len(), 3, "{items:?}");
                for (i, (_, bytes)) in files.iter().enumerate() {
                    let want = item_random_id(d.random_id, i as u64);
                    let item = items
                        .iter()
                        .find(|m| m.random_id == want)
                        .unwrap_or_else(|| panic!("item {i} not under its derived id: {items:?}"));
                    assert_eq!(item.media.as_ref().unwrap().sha256, sha256(bytes));
                    if i > 0 {
                        assert_eq!(item.text, "", "only the first item has the caption");
                    }
                }
            }
        }
    }
    assert!(
        photos >= 1 && albums >= 1,
        "photos {photos}, albums {albums}"
    );
    // a.png went up once for both templates and every later post.
    let uploads = |live: &Live| live.server.count_calls("messages.uploadMedia");
    let before = uploads(&live);
    assert_eq!(
        before,
        3,
        "one upload per distinct file: {:?}",
        live.server.calls()
    );

    live.server.expire_file_references();
    let n = rows.iter().filter(|d| d.state == "sent").count();
    live.wait_for("posts after the references expired", 60, || sent(n + 2));
    assert!(
        uploads(&live) > before,
        "an expired reference is uploaded again"
    );
    let failed: Vec<_> = live
        .deliveries()
        .into_iter()
        .filter(|d| d.state == "failed")
        .collect();
    assert!(
        failed.is_empty(),
        "posts failed after the references expired: {failed:?}"
    );
}
microbot_tests::per_backend!(mtproto_photo_and_album_carry_the_bytes_and_the_committed_random_ids);
