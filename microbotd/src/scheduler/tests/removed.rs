//! A removed account's send worker stops (it used to idle forever, one
//! task and queue per account ever removed).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::scheduler::worker::{Worker, WorkerExit, WorkerMsg};
use crate::scheduler::writer::Outcomes;
use crate::telegram::fake::FakeMessenger;

async fn the_worker_of_a_removed_account_stops(store: crate::store::Store) {
    let (a, _, _) = outbox(&store, "alpha", &["@room"]).await;
    let run = Running::start(&store, Arc::new(FakeMessenger::new()), 600, Utc::now());
    let (tx, rx) = mpsc::unbounded_channel();
    let (outcomes, _written) = Outcomes::channel();
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(Worker::new(run.ctx.clone(), a, rx, outcomes, cancel.clone()).run());
    // Running: it waits for work and does not stop on its own.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !worker.is_finished(),
        "a worker of a live account keeps running"
    );
    let removed = store.account_remove(a, true, 0).await.unwrap();
    assert!(matches!(
        removed,
        crate::store::account_state::RemoveOutcome::Removed { .. }
    ));
    // What the dispatcher sends on Change::Account.
    tx.send(WorkerMsg::Reload).unwrap();
    let exit = tokio::time::timeout(Duration::from_secs(60), worker).await;
    cancel.cancel();
    run.stop().await;
    assert_eq!(
        exit.expect("the worker stops").unwrap(),
        WorkerExit::Gone(a)
    );
}
crate::store::testing::per_backend!(the_worker_of_a_removed_account_stops);
