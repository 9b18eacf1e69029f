//! `[cluster]` and `daemon.node_id`: the settings of several daemons on one
//! PostgreSQL ([`ClusterConfig`], validated so `retry < renew < lease`), and
//! the node's name in that cluster ([`resolve_node_id`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, HumanDuration, format_duration};

/// Longest accepted `daemon.node_id` (it is a column, a log field and a
/// table cell).
pub const MAX_NODE_ID: usize = 64;

/// `[cluster]`: the account lease protocol (docs/ARCHITECTURE.md "Several
/// nodes"). Unused on SQLite, which is single-node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterConfig {
    /// How long a lease lasts in the database after a renew (database clock).
    pub lease: Duration,
    /// How long after sending a renew the node still trusts it: it stops
    /// sending for the account once this passes without a newer renew.
    pub renew: Duration,
    /// How often leases are renewed and free ones sought.
    pub retry: Duration,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RawCluster {
    lease: HumanDuration,
    renew: HumanDuration,
    retry: HumanDuration,
}

impl Default for RawCluster {
    fn default() -> Self {
        RawCluster {
            lease: HumanDuration(Duration::from_secs(15)),
            renew: HumanDuration(Duration::from_secs(10)),
            retry: HumanDuration(Duration::from_secs(2)),
        }
    }
}

impl RawCluster {
    /// Checks `0 < retry < renew < lease`, naming the key that breaks it.
    pub(crate) fn resolve(self) -> Result<ClusterConfig, ConfigError> {
        let (lease, renew, retry) = (self.lease.0, self.renew.0, self.retry.0);
        if retry.is_zero() {
            return Err(ConfigError::invalid("cluster.retry", "must be above zero"));
        }
        if retry >= renew {
            return Err(ConfigError::invalid(
                "cluster.retry",
                format!(
                    "{} must be shorter than cluster.renew ({})",
                    format_duration(retry),
                    format_duration(renew)
                ),
            ));
        }
        if renew >= lease {
            return Err(ConfigError::invalid(
                "cluster.renew",
                format!(
                    "{} must be shorter than cluster.lease ({}): a node must stop sending \
                     before its lease can expire",
                    format_duration(renew),
                    format_duration(lease)
                ),
            ));
        }
        Ok(ClusterConfig {
            lease,
            renew,
            retry,
        })
    }
}

/// The configured node id, checked, or `<hostname>-<random>` (a new suffix
/// every start, so a restarted node is a new node to the others).
pub(crate) fn resolve_node_id(configured: Option<String>) -> Result<String, ConfigError> {
    let Some(id) = configured else {
        return Ok(format!("{}-{:06x}", hostname(), rand::random::<u32>() >> 8));
    };
    let reason = if id.trim().is_empty() {
        Some("must not be empty".to_string())
    } else if id.chars().count() > MAX_NODE_ID {
        Some(format!("must be at most {MAX_NODE_ID} characters"))
    } else if id.chars().any(char::is_control) {
        Some("must be printable (no control characters)".to_string())
    } else {
        None
    };
    match reason {
        Some(r) => Err(ConfigError::invalid("daemon.node_id", r)),
        None => Ok(id),
    }
}

/// The kernel's host name, or "microbotd" where it cannot be read.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.chars().any(char::is_control))
        .map(|h| h.chars().take(MAX_NODE_ID - 7).collect())
        .unwrap_or_else(|| "microbotd".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(lease: u64, renew: u64, retry: u64) -> RawCluster {
        let d = |s| HumanDuration(Duration::from_secs(s));
        RawCluster {
            lease: d(lease),
            renew: d(renew),
            retry: d(retry),
        }
    }

    fn key_of(e: ConfigError) -> String {
        match e {
            ConfigError::Invalid { key, .. } => key,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn durations_must_nest() {
        let c = RawCluster::default().resolve().unwrap();
        assert_eq!(
            (c.lease, c.renew, c.retry),
            (
                Duration::from_secs(15),
                Duration::from_secs(10),
                Duration::from_secs(2)
            )
        );
        assert_eq!(
            key_of(raw(15, 10, 10).resolve().unwrap_err()),
            "cluster.retry"
        );
        assert_eq!(
            key_of(raw(15, 15, 2).resolve().unwrap_err()),
            "cluster.renew"
        );
        assert_eq!(
            key_of(raw(15, 20, 2).resolve().unwrap_err()),
            "cluster.renew"
        );
        assert_eq!(
            key_of(raw(15, 10, 0).resolve().unwrap_err()),
            "cluster.retry"
        );
    }

    #[test]
    fn node_ids() {
        let a = resolve_node_id(None).unwrap();
        let b = resolve_node_id(None).unwrap();
        assert_ne!(a, b, "a random suffix per start");
        assert!(a.len() <= MAX_NODE_ID && a.contains('-'), "{a}");
        assert_eq!(
            resolve_node_id(Some("db-1 east".into())).unwrap(),
            "db-1 east"
        );
        for bad in ["", "  ", "a\nb", &"x".repeat(65)] {
            assert_eq!(
                key_of(resolve_node_id(Some(bad.to_string())).unwrap_err()),
                "daemon.node_id"
            );
        }
        assert!(resolve_node_id(Some("é".repeat(64))).is_ok());
    }
}
