//! The lease tables of several daemons on one PostgreSQL (`cluster_nodes`,
//! `account_leases`; docs/ARCHITECTURE.md "Several nodes"): heartbeats,
//! renewing, taking and releasing account leases, the operator's view, and
//! [`lease_fence`], the predicate every account write is made conditional on.
//!
//! Every expiry and "last seen" is computed with the database's clock
//! ([`PG_NOW_MS`]), never a node's. SQLite is single-node: these calls answer
//! [`StoreError::Setup`] there, and [`lease_fence`] is always true.

use super::{Backend, Pool, Store, StoreError};

/// The database's own "now" in Unix milliseconds. `clock_timestamp()`, not
/// `now()`: inside a long transaction `now()` is its start, and a lease
/// judged by that could look alive after it expired.
pub const PG_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// The SQL predicate that holds only while node `node` owns account
/// `account` under fencing token `epoch` and the lease has not expired by
/// the database's clock. Each argument is an SQL expression of the caller's
/// statement (a placeholder such as `$3`, or a column such as
/// `d.account_id`). AND it into every write made for an account; a write
/// that then changes nothing came from a stale owner, which must drop the
/// account (`Leases::lost`).
///
/// A NULL `node` is a daemon without leases (`Leases::fence_node` is
/// `None`): SQLite always, and PostgreSQL only where a test runs the
/// scheduler without a lease manager — `cluster::start` gives every
/// PostgreSQL daemon one. On SQLite (single-node, epoch always 0) the fence
/// is true for epoch 0.
pub fn lease_fence(backend: Backend, account: &str, node: &str, epoch: &str) -> String {
    match backend {
        Backend::Postgres => format!(
            "(CAST({node} AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM account_leases fence_l \
             WHERE fence_l.account_id = {account} AND fence_l.owner = {node} \
             AND fence_l.epoch = {epoch} AND fence_l.expires_at > {PG_NOW_MS}))"
        ),
        Backend::Sqlite => format!("({epoch} = 0 AND {account} IS NOT NULL)"),
    }
}

/// What one node counts before deciding its fair share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Census {
    pub accounts: i64,
    /// Nodes seen within the lease time, this one included.
    pub live_nodes: i64,
    /// Milliseconds (database clock) until the next moment another node
    /// stops counting as live or a lease this node does not own expires:
    /// the earliest instant a round could take something new. `None` when
    /// nothing is pending.
    pub next_change_ms: Option<i64>,
}

/// One row of `cluster_nodes`, for `cluster status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    pub node_id: String,
    pub started_at: i64,
    pub last_seen: i64,
    /// Seen within the lease time.
    pub live: bool,
    /// Unexpired leases it owns.
    pub accounts_held: i64,
}

/// One account's lease, for `cluster status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRow {
    pub account: String,
    pub owner: Option<String>,
    pub epoch: i64,
    pub expires_at: i64,
    pub expired: bool,
}

/// The PostgreSQL channel a node notifies when it gives leases back, so
/// the others take them at once instead of at their next round.
pub const RELEASED_CHANNEL: &str = "microbot_leases_released";

/// (account id, epoch) pairs, as the lease statements return them.
pub type Leased = Vec<(i64, i64)>;

/// How long a node stays in `cluster_nodes` after it was last seen.
const FORGET_NODES_MS: i64 = 24 * 3600 * 1000;

impl Store {
    fn pg(&self) -> Result<&sqlx::PgPool, StoreError> {
        match self.pool() {
            Pool::Postgres(p) => Ok(p),
            Pool::Sqlite(_) => Err(StoreError::Setup(
                "leases exist only on PostgreSQL (SQLite is single-node)".into(),
            )),
        }
    }

    /// The database's clock, in Unix milliseconds.
    pub async fn db_now_ms(&self) -> Result<i64, StoreError> {
        let sql = format!("SELECT {PG_NOW_MS}");
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.pg()?)
            .await?)
    }

    /// Marks `node` alive now; forgets nodes not seen for a day.
    pub async fn cluster_heartbeat(&self, node: &str) -> Result<(), StoreError> {
        let p = self.pg()?;
        let sql = format!(
            "INSERT INTO cluster_nodes (node_id, started_at, last_seen)
             VALUES ($1, {PG_NOW_MS}, {PG_NOW_MS})
             ON CONFLICT (node_id) DO UPDATE SET last_seen = EXCLUDED.last_seen"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(node)
            .execute(p)
            .await?;
        let sql = format!("DELETE FROM cluster_nodes WHERE last_seen < {PG_NOW_MS} - $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(FORGET_NODES_MS)
            .execute(p)
            .await?;
        Ok(())
    }

    /// Gives every account a lease row (new accounts start free), then
    /// counts accounts and live nodes as seen by `node`.
    pub async fn cluster_census(&self, node: &str, lease_ms: i64) -> Result<Census, StoreError> {
        let p = self.pg()?;
        sqlx::query(
            "INSERT INTO account_leases (account_id, owner, epoch, expires_at)
             SELECT a.id, NULL, 0, 0 FROM accounts a
             WHERE NOT EXISTS (SELECT 1 FROM account_leases l WHERE l.account_id = a.id)
             ON CONFLICT (account_id) DO NOTHING",
        )
        .execute(p)
        .await?;
        let sql = format!(
            "WITH t(now) AS (SELECT {PG_NOW_MS})
             SELECT (SELECT COUNT(*) FROM accounts),
                    (SELECT COUNT(*) FROM cluster_nodes, t WHERE last_seen > t.now - $1),
                    (SELECT MIN(at) - MIN(t.now) FROM t, (
                         SELECT last_seen + $1 AS at FROM cluster_nodes WHERE node_id <> $2
                         UNION ALL
                         SELECT expires_at FROM account_leases
                         WHERE owner IS DISTINCT FROM $2) c
                     WHERE c.at > t.now)"
        );
        let (accounts, live_nodes, next_change_ms): (i64, i64, Option<i64>) =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(lease_ms)
                .bind(node)
                .fetch_one(p)
                .await?;
        Ok(Census {
            accounts,
            live_nodes,
            next_change_ms,
        })
    }

    /// Extends the leases `node` holds, in one statement, each only while
    /// its owner and epoch are unchanged and it has not expired. Returns
    /// those renewed; the others are lost.
    pub async fn lease_renew(
        &self,
        node: &str,
        held: &[(i64, i64)],
        lease_ms: i64,
    ) -> Result<Leased, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, epochs): (Vec<i64>, Vec<i64>) = held.iter().copied().unzip();
        let sql = format!(
            "UPDATE account_leases l SET expires_at = {PG_NOW_MS} + $2
             FROM unnest($3::BIGINT[], $4::BIGINT[]) AS h(account_id, epoch)
             WHERE l.account_id = h.account_id AND l.epoch = h.epoch
               AND l.owner = $1 AND l.expires_at > {PG_NOW_MS}
             RETURNING l.account_id, l.epoch"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(node)
            .bind(lease_ms)
            .bind(ids)
            .bind(epochs)
            .fetch_all(self.pg()?)
            .await?)
    }

    /// Takes up to `max` leases that are free or expired, bumping each one's
    /// epoch; never one of an account whose session this node cannot open. `SKIP LOCKED` lets nodes taking at the same time pass each
    /// other, and the row lock makes sure two never take the same lease.
    pub async fn lease_take(
        &self,
        node: &str,
        max: i64,
        lease_ms: i64,
    ) -> Result<Leased, StoreError> {
        if max <= 0 {
            return Ok(Vec::new());
        }
        // An account whose session is sealed under a key this node does
        // not have stays for a node that has it (it could not send).
        let openable = self.session_openable_sql("a.session_key_id");
        let sql = format!(
            "WITH free AS (
                 SELECT account_id FROM account_leases
                 WHERE expires_at <= {PG_NOW_MS}
                   AND NOT EXISTS (SELECT 1 FROM accounts a
                                   WHERE a.id = account_leases.account_id
                                     AND a.session IS NOT NULL AND NOT {openable})
                 ORDER BY account_id LIMIT $3
                 FOR UPDATE SKIP LOCKED)
             UPDATE account_leases l
             SET owner = $1, epoch = l.epoch + 1, expires_at = {PG_NOW_MS} + $2
             FROM free WHERE l.account_id = free.account_id
             RETURNING l.account_id, l.epoch"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(node)
            .bind(lease_ms)
            .bind(max)
            .fetch_all(self.pg()?)
            .await?)
    }

    /// A listener on [`RELEASED_CHANNEL`] (one pooled connection).
    pub async fn lease_release_listener(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let mut l = sqlx::postgres::PgListener::connect_with(self.pg()?).await?;
        l.listen(RELEASED_CHANNEL).await?;
        Ok(l)
    }

    /// Gives leases back so any node may take them at once: those of
    /// `accounts`, or with `None` every lease of `node` (and `node` leaves
    /// the census, so the others' fair share grows at once). The other
    /// nodes are told on [`RELEASED_CHANNEL`].
    pub async fn lease_release(
        &self,
        node: &str,
        accounts: Option<&[i64]>,
    ) -> Result<u64, StoreError> {
        let p = self.pg()?;
        let done = match accounts {
            Some(ids) => {
                sqlx::query(
                    "UPDATE account_leases SET owner = NULL, expires_at = 0
                     WHERE owner = $1 AND account_id = ANY($2::BIGINT[])",
                )
                .bind(node)
                .bind(ids)
                .execute(p)
                .await?
            }
            None => {
                let done = sqlx::query(
                    "UPDATE account_leases SET owner = NULL, expires_at = 0 WHERE owner = $1",
                )
                .bind(node)
                .execute(p)
                .await?;
                sqlx::query("DELETE FROM cluster_nodes WHERE node_id = $1")
                    .bind(node)
                    .execute(p)
                    .await?;
                done
            }
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(RELEASED_CHANNEL)
            .bind(node)
            .execute(p)
            .await?;
        Ok(done.rows_affected())
    }

    /// The operator's release of one account (`cluster release`): clears its
    /// owner. The expiry stays, so the old owner — which learns of it at its
    /// next renew — has gone silent before another node can take it.
    /// Returns the previous owner and epoch.
    pub async fn lease_clear_owner(
        &self,
        account: &str,
    ) -> Result<(Option<String>, i64), StoreError> {
        let p = self.pg()?;
        let row: Option<(Option<String>, i64)> = sqlx::query_as(
            "WITH old AS (
                 SELECT l.account_id, l.owner, l.epoch FROM account_leases l
                 JOIN accounts a ON a.id = l.account_id WHERE a.name = $1 FOR UPDATE)
             UPDATE account_leases l SET owner = NULL
             FROM old WHERE l.account_id = old.account_id
             RETURNING old.owner, old.epoch",
        )
        .bind(account)
        .fetch_optional(p)
        .await?;
        if let Some(r) = row {
            return Ok(r);
        }
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts WHERE name = $1)")
                .bind(account)
                .fetch_one(p)
                .await?;
        if exists {
            // No lease row yet: nobody has ever held it.
            Ok((None, 0))
        } else {
            Err(StoreError::NotFound(format!("account {account:?}")))
        }
    }

    /// Every node of the census, newest first seen last.
    pub async fn cluster_nodes(&self, lease_ms: i64) -> Result<Vec<NodeRow>, StoreError> {
        let sql = format!(
            "SELECT n.node_id, n.started_at, n.last_seen, n.last_seen > {PG_NOW_MS} - $1,
                    (SELECT COUNT(*) FROM account_leases l
                     WHERE l.owner = n.node_id AND l.expires_at > {PG_NOW_MS})
             FROM cluster_nodes n ORDER BY n.node_id"
        );
        let rows: Vec<(String, i64, i64, bool, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(lease_ms)
            .fetch_all(self.pg()?)
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(node_id, started_at, last_seen, live, accounts_held)| NodeRow {
                    node_id,
                    started_at,
                    last_seen,
                    live,
                    accounts_held,
                },
            )
            .collect())
    }

    /// Every account with its lease (an account without a row is unowned).
    pub async fn account_leases(&self) -> Result<Vec<LeaseRow>, StoreError> {
        let sql = format!(
            "SELECT a.name, l.owner, COALESCE(l.epoch, 0), COALESCE(l.expires_at, 0),
                    COALESCE(l.expires_at, 0) <= {PG_NOW_MS}
             FROM accounts a LEFT JOIN account_leases l ON l.account_id = a.id
             ORDER BY a.name"
        );
        let rows: Vec<(String, Option<String>, i64, i64, bool)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.pg()?)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(account, owner, epoch, expires_at, expired)| LeaseRow {
                account,
                owner,
                epoch,
                expires_at,
                expired,
            })
            .collect())
    }

    /// Accounts no node holds now: no owner, or an expired lease.
    pub async fn unheld_accounts(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .account_leases()
            .await?
            .into_iter()
            .filter(|l| l.owner.is_none() || l.expired)
            .map(|l| l.account)
            .collect())
    }
}
