//! What input may not do, through the real binaries: a file's content never
//! reaches errors or the audit trail, and text with control characters is
//! refused plainly on both backends.

use microbot_tests::daemon::Db;

use crate::templates::{count, daemon};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_wrong_file_is_named_by_position_never_by_content() {
    let d = daemon(Db::Sqlite);
    let secret = d.dir.path().join("shadow");
    std::fs::write(
        &secret,
        "daemon:*:19000:0:99999:7:::\nroot:$6$s3cr3tSalt$s3cr3tHash:19000:0:99999:7:::\n",
    )
    .unwrap();
    let out = d.ctl(&["template", "apply", "-f", secret.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("file: line 1, column "), "{err}");
    assert!(!err.contains("19000") && !err.contains("s3cr3t"), "{err}");
    // A value of the wrong type is not quoted either.
    let typed = d.dir.path().join("typed.toml");
    std::fs::write(&typed, "[[template]]\nactive = \"s3cr3t\"\n").unwrap();
    let err = stderr(&d.ctl(&["template", "apply", "-f", typed.to_str().unwrap()]));
    assert!(err.contains("line 2, column 10: invalid type"), "{err}");
    assert!(!err.contains("s3cr3t"), "{err}");
    let audit = d.ctl_ok(&["-o", "json", "audit"]);
    assert!(audit.contains("template.apply"), "{audit}");
    assert!(
        !audit.contains("s3cr3t") && !audit.contains("19000"),
        "{audit}"
    );
    assert!(!d.log().contains("s3cr3t"));
}

fn text_with_control_characters_is_refused_on_every_backend(db: Db) {
    let d = daemon(db);
    let nul = d.dir.path().join("nul.txt");
    std::fs::write(&nul, "before\0after").unwrap();
    let out = d.ctl(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "n",
        "--chat",
        "@channel",
        "--every",
        "1h",
        "--text-file",
        nul.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{db:?}: {}", stderr(&out));
    assert!(
        stderr(&out).contains("invalid argument: text: control character U+0000 at character 7"),
        "{db:?}: {}",
        stderr(&out)
    );
    // The same through a file (TOML escapes can spell any character).
    let file = d.dir.path().join("t.toml");
    std::fs::write(
        &file,
        "[[template]]\naccount = \"sales-tr\"\nname = \"n\"\nchats = [\"@channel\"]\n\
         every = \"1h\"\ntext = \"a\\u0000b\"\n",
    )
    .unwrap();
    let out = d.ctl(&["template", "apply", "-f", file.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("text: control character U+0000 at character 2"),
        "{db:?}: {}",
        stderr(&out)
    );
    // Editing does not let it in either.
    d.ctl_ok(&[
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        "ok",
        "--chat",
        "@channel",
        "--every",
        "1h",
        "--text",
        "fine",
    ]);
    let id = d.ctl_json(&["template", "list"])[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let out = d.ctl(&[
        "template",
        "edit",
        &id,
        "--text-file",
        nul.to_str().unwrap(),
    ]);
    assert!(
        stderr(&out).contains("control character U+0000"),
        "{db:?}: {}",
        stderr(&out)
    );
    assert_eq!(count(&d), 1);
    assert!(!d.log().contains("internal error"), "{db:?}: {}", d.log());
}
microbot_tests::per_backend!(text_with_control_characters_is_refused_on_every_backend);
