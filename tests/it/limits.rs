//! Limits through the real binaries: chats per template
//! (`templates.max_chats`) and request sizes are refused with clear errors,
//! and a template with the most chats allowed is written in one go on
//! every backend.

use microbot_tests::daemon::{Db, TestDaemon};

use crate::templates::daemon;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `--chat` arguments for `n` distinct numeric chats.
fn chats(n: usize) -> Vec<String> {
    (1..=n)
        .flat_map(|i| ["--chat".to_string(), format!("-{i}")])
        .collect()
}

fn create_with_chats(d: &TestDaemon, name: &str, n: usize) -> std::process::Output {
    let mut args: Vec<String> = [
        "template",
        "create",
        "--account",
        "sales-tr",
        "--name",
        name,
        "--every",
        "1h",
        "--text",
        "hi",
    ]
    .map(String::from)
    .to_vec();
    args.extend(chats(n));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.ctl(&args)
}

fn chats_per_template_are_capped_at_the_default(db: Db) {
    let d = daemon(db);
    let out = create_with_chats(&d, "wide", 1000);
    assert!(out.status.success(), "{db:?}: {}", stderr(&out));
    let shown = d.ctl_json(&["template", "list"]);
    assert_eq!(shown[0]["chats"].as_array().unwrap().len(), 1000, "{db:?}");
    assert_eq!(shown[0]["chats"][999], "-1000", "{db:?}: order kept");
    let out = create_with_chats(&d, "wider", 1001);
    assert_eq!(out.status.code(), Some(1), "{db:?}");
    assert!(
        stderr(&out).contains(
            "invalid argument: chat: 1001 chats; a template may send to at most 1000 \
             (templates.max_chats)"
        ),
        "{db:?}: {}",
        stderr(&out)
    );
    d.ctl_ok(&["health"]);
}
microbot_tests::per_backend!(chats_per_template_are_capped_at_the_default);

#[test]
fn max_chats_is_configurable_and_holds_for_edit_and_apply() {
    let d = TestDaemon::builder(Db::Sqlite)
        .config("[templates]\nmax_chats = 3\n")
        .start();
    d.ctl_ok(&["account", "add", "sales-tr", "--phone", "+905321234567"]);
    assert!(create_with_chats(&d, "three", 3).status.success());
    let err = stderr(&create_with_chats(&d, "four", 4));
    assert!(
        err.contains("chat: 4 chats; a template may send to at most 3"),
        "{err}"
    );
    let id = d.ctl_json(&["template", "list"])[0]["id"].to_string();
    let mut args: Vec<String> = vec!["template".into(), "edit".into(), id];
    args.extend(chats(4));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let err = stderr(&d.ctl(&args));
    assert!(err.contains("chat: 4 chats"), "{err}");
    let file = d.dir.path().join("t.toml");
    std::fs::write(
        &file,
        "[[template]]\naccount = \"sales-tr\"\nname = \"four\"\n\
         chats = [\"-1\", \"-2\", \"-3\", \"-4\"]\nevery = \"1h\"\ntext = \"hi\"\n",
    )
    .unwrap();
    let err = stderr(&d.ctl(&["template", "apply", "-f", file.to_str().unwrap()]));
    assert!(
        err.contains("template[1] (sales-tr/four): chats: 4 chats; a template may send"),
        "{err}"
    );
}

#[test]
fn oversized_requests_are_refused_before_they_are_read() {
    let d = TestDaemon::start(Db::Sqlite);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        let client = microbot_proto::client::Client::connect(&d.socket)
            .await
            .unwrap();
        client
            .accounts()
            .add_account(microbot_proto::v1::AddAccountRequest {
                name: "x".repeat(2 << 20),
                ..Default::default()
            })
            .await
            .unwrap_err()
    });
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("the limit is: 1048576 bytes"),
        "{status:?}"
    );
    d.ctl_ok(&["health"]);
}

#[test]
fn deliveries_list_pages_newest_first_and_since_is_bounded_alike() {
    let d = daemon(Db::Sqlite);
    // Deliveries list joins the account and the chat.
    crate::maintenance::sql(
        &d,
        "INSERT INTO targets (id, account_id, spec) VALUES (1, 1, '-42')",
    );
    let now = crate::doctor::now_ms();
    let values: Vec<String> = (1..=120)
        .map(|i| format!("(1, 1, 1, {}, 'sent', {i}, {now}, {now})", now - i * 1000))
        .collect();
    crate::maintenance::sql(
        &d,
        &format!(
            "INSERT INTO deliveries (account_id, template_id, target_id, slot, state, random_id, \
             created_at, updated_at) VALUES {}",
            values.join(", ")
        ),
    );
    let all = d.ctl_json(&["deliveries", "list"]);
    assert_eq!(all.as_array().unwrap().len(), 100, "the default limit");
    let out = d.ctl(&["deliveries", "list"]);
    assert!(
        stderr(&out).contains("(the newest 100 shown; --limit N for more, --limit 0 for all)"),
        "{}",
        stderr(&out)
    );
    let three = d.ctl_json(&["deliveries", "list", "--limit", "3"]);
    let slots: Vec<&str> = three
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["slot"].as_str().unwrap())
        .collect();
    assert_eq!(slots.len(), 3);
    assert!(
        slots[0] > slots[1] && slots[1] > slots[2],
        "newest first: {slots:?}"
    );
    assert_eq!(
        d.ctl_json(&["deliveries", "list", "--limit", "0"])
            .as_array()
            .unwrap()
            .len(),
        120
    );
    // The same --since is refused alike by every command that takes one.
    for args in [
        &["deliveries", "list", "--since", "999999999999d"][..],
        &["audit", "--since", "999999999999d"][..],
        &["deliveries", "list", "--since", "3651d"][..],
        &["audit", "--since", "3651d"][..],
    ] {
        let out = d.ctl(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(
            stderr(&out).contains("must be at most 3650d (ten years)"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    d.ctl_ok(&["deliveries", "list", "--since", "3650d"]);
    d.ctl_ok(&["audit", "--since", "3650d"]);
    // A negative limit blames the limit.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let refused = |req: microbot_proto::v1::ListDeliveriesRequest| {
        rt.block_on(async {
            let client = microbot_proto::client::Client::connect(&d.socket)
                .await
                .unwrap();
            client.deliveries().list_deliveries(req).await.unwrap_err()
        })
    };
    let status = refused(microbot_proto::v1::ListDeliveriesRequest {
        limit: -1,
        ..Default::default()
    });
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "limit: must not be negative");
    // The daemon holds the same bound as the CLI (for other clients).
    let status = refused(microbot_proto::v1::ListDeliveriesRequest {
        since_seconds: microbot_proto::MAX_SINCE_SECONDS + 1,
        ..Default::default()
    });
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(status.message(), "since: must be at most 3650d (ten years)");
}
