//! Who is calling: [`Caller`] from the socket's credentials
//! ([`super::peer`]), sorted into a
//! [`Role`] by [`AccessPolicy`] (root, the daemon's own user and
//! `admin_group` are admins; `operator_group` members are operators; anyone
//! else is refused).

use nix::unistd::{Group, Uid};
use tonic::Status;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Read, and manage templates and schedulers of accounts.
    Operator,
    /// Everything.
    Admin,
}

/// The peer of one control call, attached to the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub pid: Option<i32>,
    pub role: Role,
    /// A remote caller's client certificate CN (mutual TLS); `None` on the
    /// Unix socket.
    pub subject: Option<std::sync::Arc<str>>,
}

impl Caller {
    /// Refuses unless the caller is an admin.
    pub fn require_admin(&self, what: &str) -> Result<(), Status> {
        if self.role == Role::Admin {
            Ok(())
        } else if let Some(cn) = &self.subject {
            Err(Status::permission_denied(format!(
                "{what} needs admin rights; certificate CN {cn:?} is an operator (control.operator_names)"
            )))
        } else {
            Err(Status::permission_denied(format!(
                "{what} needs admin rights (root, the daemon's user or the admin group); uid {} is an operator",
                self.uid
            )))
        }
    }
}

/// Resolved group ids and the daemon's own uid, fixed at start-up.
#[derive(Debug, Clone)]
pub struct AccessPolicy {
    daemon_uid: u32,
    operator_gid: Option<u32>,
    admin_gid: Option<u32>,
}

/// Looks a group up by name; `None` when it does not exist.
pub fn group_id(name: &str) -> Option<u32> {
    Group::from_name(name)
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw())
}

impl AccessPolicy {
    pub fn new(operator_group: &str, admin_group: &str) -> Self {
        AccessPolicy {
            daemon_uid: Uid::effective().as_raw(),
            operator_gid: group_id(operator_group),
            admin_gid: group_id(admin_group),
        }
    }

    /// The role of a peer with `uid` and groups `gids`, or `None` to refuse.
    pub fn role(&self, uid: u32, gids: &[u32]) -> Option<Role> {
        let member = |g: Option<u32>| g.is_some_and(|g| gids.contains(&g));
        if uid == 0 || uid == self.daemon_uid || member(self.admin_gid) {
            Some(Role::Admin)
        } else if member(self.operator_gid) {
            Some(Role::Operator)
        } else {
            None
        }
    }

    pub fn operator_gid(&self) -> Option<u32> {
        self.operator_gid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccessPolicy {
        AccessPolicy {
            daemon_uid: 500,
            operator_gid: Some(100),
            admin_gid: Some(200),
        }
    }

    #[test]
    fn roles() {
        let p = policy();
        assert_eq!(p.role(0, &[0]), Some(Role::Admin));
        assert_eq!(p.role(500, &[500]), Some(Role::Admin));
        assert_eq!(p.role(1000, &[1000, 200]), Some(Role::Admin));
        assert_eq!(p.role(1000, &[1000, 100]), Some(Role::Operator));
        assert_eq!(p.role(1000, &[1000]), None);
        let none = AccessPolicy {
            operator_gid: None,
            admin_gid: None,
            ..p
        };
        assert_eq!(none.role(1000, &[100, 200]), None);
    }

    #[test]
    fn operator_cannot_do_admin_things() {
        let c = Caller {
            uid: 1000,
            pid: None,
            role: Role::Operator,
            subject: None,
        };
        let err = c.require_admin("backup restore").unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied);
        assert!(c.require_admin("x").is_err());
        assert!(
            Caller {
                role: Role::Admin,
                ..c.clone()
            }
            .require_admin("x")
            .is_ok()
        );
    }
}
