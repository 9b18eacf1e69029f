//! [`Rows`]: many rows bound as ONE relation `v(col, …)`, so a burst is one
//! statement instead of one statement per row (docs/ARCHITECTURE.md,
//! "On time under load").
//!
//! The relation is one that a statement names as `v`:
//! * SQLite: a temporary table `v` with its first column indexed, filled by
//!   `INSERT … VALUES` chunked under SQLite's bind limit, dropped after the
//!   statement (a VALUES CTE let SQLite's planner scan the target table once
//!   per row: a 500-template claim took 250 ms instead of 2 ms);
//! * PostgreSQL: `WITH v(a, b) AS (SELECT * FROM UNNEST($2::bigint[],
//!   $3::text[]))`, one array per column, one statement whatever the size.
//!
//! Scalar parameters the statement needs are `$1`, `$2`, …; on PostgreSQL
//! the arrays are numbered after them. Column names and types are constants of the caller,
//! never operator input, which is why the SQL text may be built.

use super::StoreError;
use super::tx::Tx;

/// SQLite's default bind limit is 32,766; stay well below it.
const SQLITE_MAX_BINDS: usize = 30_000;

/// One column's values.
#[derive(Debug, Clone)]
pub(crate) enum Col {
    I64(Vec<i64>),
    OptI64(Vec<Option<i64>>),
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
}

impl Col {
    fn len(&self) -> usize {
        match self {
            Col::I64(v) => v.len(),
            Col::OptI64(v) => v.len(),
            Col::Text(v) => v.len(),
            Col::OptText(v) => v.len(),
        }
    }

    fn pg_type(&self) -> &'static str {
        match self {
            Col::I64(_) | Col::OptI64(_) => "bigint[]",
            Col::Text(_) | Col::OptText(_) => "text[]",
        }
    }
}

/// A scalar parameter bound before the rows (`$1`, `$2`, …).
#[derive(Debug, Clone)]
pub(crate) enum Scalar {
    I64(i64),
    OptText(Option<String>),
}

/// Named columns of equal length.
#[derive(Debug, Clone)]
pub(crate) struct Rows {
    names: &'static [&'static str],
    cols: Vec<Col>,
}

impl Rows {
    pub(crate) fn new(names: &'static [&'static str], cols: Vec<Col>) -> Rows {
        assert_eq!(names.len(), cols.len(), "one name per column");
        let n = cols.first().map_or(0, Col::len);
        assert!(cols.iter().all(|c| c.len() == n), "columns of equal length");
        Rows { names, cols }
    }

    pub(crate) fn len(&self) -> usize {
        self.cols.first().map_or(0, Col::len)
    }

    /// `VALUES (?, ?), (?, ?), …` for `n` SQLite rows.
    ///
    /// Anonymous `?` on purpose: SQLite's parser resolves every *named*
    /// parameter (`$7`, `:x`) by a linear search of the ones it has seen, so
    /// a statement of 15,000 `$N` parameters took over a second to prepare
    /// (quadratic); `?` is numbered by counting.
    fn sqlite_values(&self, n: usize) -> String {
        let row = format!("({})", vec!["?"; self.cols.len()].join(", "));
        format!("VALUES {}", vec![row.as_str(); n].join(", "))
    }

    /// `WITH v(…) AS (SELECT * FROM UNNEST(…))`, numbering from `first`.
    fn pg_cte(&self, first: usize) -> String {
        let arrays: Vec<String> = self
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", first + i, c.pg_type()))
            .collect();
        format!(
            "WITH v({}) AS (SELECT * FROM UNNEST({}))",
            self.names.join(", "),
            arrays.join(", ")
        )
    }

    fn sqlite_chunk(&self, scalars: usize) -> usize {
        ((SQLITE_MAX_BINDS - scalars) / self.cols.len().max(1)).max(1)
    }
}

macro_rules! bind_scalars {
    ($q:expr, $scalars:expr) => {{
        let mut q = $q;
        for s in $scalars {
            q = match s {
                Scalar::I64(v) => q.bind(*v),
                Scalar::OptText(v) => q.bind(v.clone()),
            };
        }
        q
    }};
}

impl Tx {
    /// Runs `WITH v(…) AS (<rows>) <body>` in this transaction and returns
    /// what the statement RETURNs (every statement here has a RETURNING
    /// clause: it is also how callers count what changed).
    ///
    /// `body` is written once for both backends; it names the rows `v` and
    /// the scalars `$1…$n`.
    pub(crate) async fn bulk<T>(
        &mut self,
        rows: &Rows,
        scalars: &[Scalar],
        body: &str,
    ) -> Result<Vec<T>, StoreError>
    where
        T: Send
            + Unpin
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        let mut out = Vec::new();
        if rows.len() == 0 {
            return Ok(out);
        }
        let first = scalars.len() + 1;
        match self {
            Tx::Sqlite(t) => {
                // A temporary table with its first column indexed, filled
                // in chunks under the bind limit: SQLite's planner may scan
                // the target table once per row of a VALUES relation, but
                // not when `v` has an index to look rows up in.
                let names = rows.names.join(", ");
                let ddl = [
                    "DROP TABLE IF EXISTS temp.v".to_string(),
                    format!("CREATE TEMP TABLE v ({names})"),
                    format!("CREATE INDEX temp.v_key ON v ({})", rows.names[0]),
                ];
                for stmt in ddl {
                    sqlx::query(sqlx::AssertSqlSafe(stmt))
                        .execute(&mut **t)
                        .await?;
                }
                let chunk = rows.sqlite_chunk(0);
                let mut start = 0;
                while start < rows.len() {
                    let end = (start + chunk).min(rows.len());
                    let sql = format!(
                        "INSERT INTO temp.v ({names}) {}",
                        rows.sqlite_values(end - start)
                    );
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                    for r in start..end {
                        for col in &rows.cols {
                            q = match col {
                                Col::I64(v) => q.bind(v[r]),
                                Col::OptI64(v) => q.bind(v[r]),
                                Col::Text(v) => q.bind(v[r].clone()),
                                Col::OptText(v) => q.bind(v[r].clone()),
                            };
                        }
                    }
                    q.execute(&mut **t).await?;
                    start = end;
                }
                let q = bind_scalars!(
                    sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(body.to_string())),
                    scalars
                );
                out.extend(q.fetch_all(&mut **t).await?);
                sqlx::query("DROP TABLE temp.v").execute(&mut **t).await?;
            }
            Tx::Postgres(t) => {
                let sql = format!("{} {body}", rows.pg_cte(first));
                let mut q =
                    bind_scalars!(sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql)), scalars);
                for col in &rows.cols {
                    q = match col {
                        Col::I64(v) => q.bind(v.clone()),
                        Col::OptI64(v) => q.bind(v.clone()),
                        Col::Text(v) => q.bind(v.clone()),
                        Col::OptText(v) => q.bind(v.clone()),
                    };
                }
                out.extend(q.fetch_all(&mut **t).await?);
            }
        }
        Ok(out)
    }
}
