//! Diffing a template file against the stored templates: what `template
//! apply` will create, update and (with `--prune`) delete.

use std::collections::{BTreeSet, HashMap};

use super::spec::TemplateSpec;

/// One planned change. `id` is the stored template for updates/deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Create(TemplateSpec),
    /// Boxed: two whole specs would make every change that large.
    Update {
        id: i64,
        current: Box<TemplateSpec>,
        desired: Box<TemplateSpec>,
        details: Vec<String>,
    },
    Delete {
        id: i64,
        current: TemplateSpec,
    },
}

/// The whole plan: changes in file order (deletes last) and how many
/// templates already match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unchanged: u32,
}

/// Compares `desired` (the file) with `stored` (id, spec). With `prune`,
/// stored templates of the accounts named in the file that the file lacks
/// are deleted; other accounts are never touched.
pub fn plan(desired: &[TemplateSpec], stored: &[(i64, TemplateSpec)], prune: bool) -> Plan {
    let by_key: HashMap<(&str, &str), &(i64, TemplateSpec)> = stored
        .iter()
        .map(|s| ((s.1.account.as_str(), s.1.name.as_str()), s))
        .collect();
    let mut out = Plan::default();
    for d in desired {
        match by_key.get(&(d.account.as_str(), d.name.as_str())) {
            None => out.changes.push(Change::Create(d.clone())),
            Some((id, cur)) => {
                let details = differences(cur, d);
                if details.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.changes.push(Change::Update {
                        id: *id,
                        current: Box::new(cur.clone()),
                        desired: Box::new(d.clone()),
                        details,
                    });
                }
            }
        }
    }
    if prune {
        let accounts: BTreeSet<&str> = desired.iter().map(|d| d.account.as_str()).collect();
        let wanted: BTreeSet<(&str, &str)> = desired
            .iter()
            .map(|d| (d.account.as_str(), d.name.as_str()))
            .collect();
        for (id, cur) in stored {
            if accounts.contains(cur.account.as_str())
                && !wanted.contains(&(cur.account.as_str(), cur.name.as_str()))
            {
                out.changes.push(Change::Delete {
                    id: *id,
                    current: cur.clone(),
                });
            }
        }
    }
    out
}

/// Human descriptions of what differs, e.g. `cron "0 9 * * *" → "0 10 * * *"`.
pub fn differences(cur: &TemplateSpec, new: &TemplateSpec) -> Vec<String> {
    let mut d = Vec::new();
    if cur.schedule != new.schedule {
        if cur.schedule.kind == new.schedule.kind {
            d.push(format!(
                "{} {:?} → {:?}",
                cur.schedule.kind, cur.schedule.expr, new.schedule.expr
            ));
        } else {
            d.push(format!(
                "schedule {:?} → {:?}",
                cur.schedule.display(),
                new.schedule.display()
            ));
        }
    }
    if cur.tz != new.tz {
        d.push(format!(
            "timezone {:?} → {:?}",
            cur.tz.name(),
            new.tz.name()
        ));
    }
    if cur.chats != new.chats {
        d.push(format!("chats {:?} → {:?}", cur.chats, new.chats));
    }
    if cur.text != new.text {
        d.push("text changed".to_owned());
    }
    if cur.parse_mode != new.parse_mode {
        d.push(format!(
            "parse_mode {:?} → {:?}",
            cur.parse_mode, new.parse_mode
        ));
    }
    if cur.misfire != new.misfire {
        d.push(format!(
            "misfire {:?} → {:?}",
            cur.misfire.as_str(),
            new.misfire.as_str()
        ));
    }
    if cur.active != new.active {
        d.push(format!("active {} → {}", cur.active, new.active));
    }
    if cur.options != new.options {
        d.push(format!("options {} → {}", cur.options, new.options));
    }
    if cur.attachments != new.attachments {
        let names = |s: &TemplateSpec| {
            s.attachments
                .iter()
                .map(|a| format!("{} {}", a.kind.as_str(), a.file_name))
                .collect::<Vec<_>>()
        };
        d.push(format!("attachments {:?} → {:?}", names(cur), names(new)));
    }
    d
}

#[cfg(test)]
mod tests {
    use crate::store::states::{Misfire, ScheduleKind};
    use chrono_tz::Tz;

    use super::*;
    use crate::templates::spec::{ScheduleSpec, TemplateSpec};

    fn spec(account: &str, name: &str, cron: &str) -> TemplateSpec {
        TemplateSpec {
            account: account.into(),
            name: name.into(),
            chats: vec!["@ops_channel".into()],
            schedule: ScheduleSpec {
                kind: ScheduleKind::Cron,
                expr: cron.into(),
            },
            tz: Tz::UTC,
            text: "hi".into(),
            parse_mode: "plain",
            misfire: Misfire::Once,
            active: true,
            options: Default::default(),
            attachments: Vec::new(),
        }
    }

    #[test]
    fn creates_updates_unchanged_and_prunes_only_named_accounts() {
        let stored = vec![
            (1, spec("a", "same", "0 9 * * *")),
            (2, spec("a", "moved", "0 9 * * *")),
            (3, spec("a", "gone", "0 9 * * *")),
            (4, spec("b", "other", "0 9 * * *")),
        ];
        let desired = vec![
            spec("a", "same", "0 9 * * *"),
            spec("a", "moved", "0 10 * * *"),
            spec("a", "new", "0 9 * * *"),
        ];
        let p = plan(&desired, &stored, false);
        assert_eq!(p.unchanged, 1);
        assert_eq!(p.changes.len(), 2);
        assert!(
            matches!(&p.changes[0], Change::Update { id: 2, details, .. }
            if details == &vec!["cron \"0 9 * * *\" → \"0 10 * * *\"".to_owned()])
        );
        assert!(matches!(&p.changes[1], Change::Create(s) if s.name == "new"));
        let p = plan(&desired, &stored, true);
        let deleted: Vec<i64> = p
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Delete { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, [3]);
        assert!(plan(&[], &stored, true).changes.is_empty());
    }
}
