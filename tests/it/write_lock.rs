//! [`WriteLock`]: a second client holding the deliveries table's write lock
//! while a test does something to the daemon — its sends go on (their rows
//! were claimed ahead) but no outcome can be written until the lock goes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use microbot_tests::daemon::TestDaemon;

/// Held until dropped (or [`WriteLock::release`]d).
pub struct WriteLock {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl WriteLock {
    /// Takes the lock through the backend's own CLI and returns once it is
    /// held: SQLite's database write lock (`BEGIN IMMEDIATE`; readers go on
    /// in WAL mode), PostgreSQL's `EXCLUSIVE` lock on `deliveries` (reads go
    /// on, writes wait).
    pub fn hold(d: &TestDaemon) -> WriteLock {
        let (mut cmd, take) = match d.db_url.strip_prefix("sqlite://") {
            Some(path) => {
                let mut c = Command::new("sqlite3");
                c.args(["-cmd", ".timeout 30000", path]);
                (c, "BEGIN IMMEDIATE;\nSELECT 'locked';\n")
            }
            None => {
                let mut c = Command::new("psql");
                c.args([d.db_url.as_str(), "-v", "ON_ERROR_STOP=1", "-Atq"]);
                (
                    c,
                    "BEGIN;\nLOCK TABLE deliveries IN EXCLUSIVE MODE;\nSELECT 'locked';\n",
                )
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("sqlite3 / psql installed");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(take.as_bytes()).unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked", "the write lock was not taken");
        WriteLock {
            child,
            stdin: Some(stdin),
        }
    }

    /// Rolls back and waits for the client to exit.
    pub fn release(mut self) {
        self.end();
    }

    fn end(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"ROLLBACK;\n");
            drop(stdin);
            let _ = self.child.wait();
        }
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        self.end();
    }
}
