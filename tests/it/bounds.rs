//! Bounded memory through the real binaries: a gzip bomb sent to
//! `backup verify` is refused while the daemon's peak RSS stays small, and
//! the CLI refuses inputs that are not regular files before reading them.

use std::io::Write;

use flate2::{Compress, Compression, FlushCompress};
use microbot_tests::daemon::{Db, TestDaemon};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A gzip file of about `mib` MiB that inflates to about 1000 times that
/// in zeros, built without compressing gigabytes here: after a full
/// flush the compressor starts afresh, so every further MiB of zeros
/// compresses to the same bytes, which are repeated. The trailer's CRC is
/// never reached by a reader that stops at its cap.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut z = Compress::new(Compression::best(), false);
    let block = |z: &mut Compress| {
        let mut out = Vec::with_capacity(1 << 16);
        z.compress_vec(&zeros, &mut out, FlushCompress::Full)
            .unwrap();
        out
    };
    let first = block(&mut z);
    let unit = block(&mut z);
    assert_eq!(
        block(&mut z),
        unit,
        "deflate blocks repeat after a full flush"
    );
    let mut gz = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    gz.extend_from_slice(&first);
    while gz.len() < mib << 20 {
        gz.extend_from_slice(&unit);
    }
    let mut last = Vec::with_capacity(64);
    z.compress_vec(&[], &mut last, FlushCompress::Finish)
        .unwrap();
    gz.extend_from_slice(&last);
    gz.extend_from_slice(&[0; 8]);
    gz
}

/// Peak resident memory of a process in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_gzip_bomb_is_refused_with_bounded_memory() {
    let d = TestDaemon::start(Db::Sqlite);
    let bomb = d.dir.path().join("bomb.tar.gz");
    std::fs::File::create(&bomb)
        .unwrap()
        .write_all(&gzip_bomb(10))
        .unwrap();
    let out = d.ctl(&["backup", "verify", bomb.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("verify failed: the archive unpacks to more than 1GiB"),
        "{}",
        stderr(&out)
    );
    let peak = peak_rss_kib(d.pid().unwrap());
    assert!(peak < 300 * 1024, "daemon peak RSS {peak} KiB");
    // The same from stdin.
    let out = d
        .ctl_command()
        .args(["backup", "verify", "-"])
        .stdin(std::fs::File::open(&bomb).unwrap())
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("unpacks to more than 1GiB"),
        "{}",
        stderr(&out)
    );
    assert!(peak_rss_kib(d.pid().unwrap()) < 300 * 1024);
    // The daemon still answers.
    d.ctl_ok(&["health"]);
}

#[test]
fn the_cli_refuses_inputs_that_are_not_regular_files() {
    let d = TestDaemon::start(Db::Sqlite);
    let cases: [&[&str]; 4] = [
        &["backup", "verify", "/dev/zero"],
        &["backup", "restore", "/dev/zero"],
        &["template", "apply", "-f", "/dev/zero"],
        &[
            "template",
            "create",
            "--account",
            "a",
            "--name",
            "n",
            "--chat",
            "@chan",
            "--every",
            "1h",
            "--text-file",
            "/dev/zero",
        ],
    ];
    for args in cases {
        let out = d.ctl(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("/dev/zero: not a regular file, refused"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let big = d.dir.path().join("big.txt");
    std::fs::write(&big, vec![b'a'; 100 << 10]).unwrap();
    let out = d.ctl(&[
        "template",
        "create",
        "--account",
        "a",
        "--name",
        "n",
        "--chat",
        "@chan",
        "--every",
        "1h",
        "--text-file",
        big.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("big.txt: larger than 64 KiB, refused"),
        "{}",
        stderr(&out)
    );
    // stdin is read no further than the cap.
    let out = d
        .ctl_command()
        .args(["template", "apply", "-f", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("-: larger than 16 MiB, refused"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_upload_above_the_cap_is_refused_as_it_streams_in() {
    let d = TestDaemon::builder(Db::Sqlite)
        .config("[backup]\nmax_unpacked_bytes = \"1MiB\"\n")
        .start();
    let big = d.dir.path().join("big.tar.gz");
    let mut data = vec![0x1f, 0x8b];
    data.extend((0..3u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&big, data).unwrap();
    let path = big.to_str().unwrap();
    for args in [
        &["backup", "verify", path][..],
        &["backup", "restore", "--force", path][..],
    ] {
        let verb = args[1];
        let out = d.ctl(args);
        assert_eq!(out.status.code(), Some(1), "{verb}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("the upload is larger than 1MiB (backup.max_unpacked_bytes)"),
            "{verb}: {}",
            stderr(&out)
        );
    }
    d.ctl_ok(&["health"]);
}
