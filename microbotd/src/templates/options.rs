//! [`SendOptions`]: how a template's messages are sent — silently, without
//! a link preview, pinned, replacing the one sent before — and their one
//! stored form, the `templates.send_options` column: the set names,
//! comma-separated in a fixed order (`silent,pin`), empty for none. A fixed
//! order keeps comparisons (apply's diff) exact.

use std::fmt;

/// The names, in their stored order.
const NAMES: [&str; 5] = [
    "silent",
    "no-preview",
    "pin",
    "pin-notify",
    "replace-previous",
];

/// A template's send options. `pin_notify` only ever comes with `pin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SendOptions {
    /// Telegram delivers the message without a notification sound.
    pub silent: bool,
    /// No link preview under the text.
    pub no_preview: bool,
    /// Pin the sent message in the chat.
    pub pin: bool,
    /// Pinning notifies the chat's members (otherwise it is silent).
    pub pin_notify: bool,
    /// Delete the message this template last sent to the chat, once the
    /// new one is sent.
    pub replace_previous: bool,
}

impl SendOptions {
    fn flags(&self) -> [bool; 5] {
        [
            self.silent,
            self.no_preview,
            self.pin,
            self.pin_notify,
            self.replace_previous,
        ]
    }

    /// The stored form: set names in the fixed order, comma-separated.
    pub fn to_db(&self) -> String {
        NAMES
            .iter()
            .zip(self.flags())
            .filter(|(_, on)| *on)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads the stored form (any order; empty is none). Refuses unknown
    /// names, repeats and `pin-notify` without `pin`.
    pub fn from_db(s: &str) -> Result<SendOptions, String> {
        let mut o = SendOptions::default();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let slot = match name {
                "silent" => &mut o.silent,
                "no-preview" => &mut o.no_preview,
                "pin" => &mut o.pin,
                "pin-notify" => &mut o.pin_notify,
                "replace-previous" => &mut o.replace_previous,
                other => {
                    return Err(format!("{other:?} is not one of {}", NAMES.join(", ")));
                }
            };
            if *slot {
                return Err(format!("{name:?} is listed twice"));
            }
            *slot = true;
        }
        o.check()?;
        Ok(o)
    }

    /// The send path's reading of a stored value: one the rules refuse
    /// (only a hand-edited database holds one) sends plainly, with a
    /// warning, rather than not at all.
    pub fn stored_or_none(s: Option<&str>) -> SendOptions {
        let s = s.unwrap_or_default();
        SendOptions::from_db(s).unwrap_or_else(|e| {
            tracing::warn!(send_options = s, error = %e, "invalid stored send options; sending without them");
            SendOptions::default()
        })
    }

    /// `pin-notify` says how to pin: alone it means nothing.
    pub fn check(&self) -> Result<(), String> {
        if self.pin_notify && !self.pin {
            return Err("pin-notify needs pin (it says whether pinning notifies)".into());
        }
        Ok(())
    }

    /// Whether anything happens after the send call (pin, delete).
    pub fn has_follow_up(&self) -> bool {
        self.pin || self.replace_previous
    }
}

impl fmt::Display for SendOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.to_db();
        f.write_str(if s.is_empty() { "-" } else { &s })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_canonical_and_round_trips() {
        let all = SendOptions {
            silent: true,
            no_preview: true,
            pin: true,
            pin_notify: true,
            replace_previous: true,
        };
        assert_eq!(
            all.to_db(),
            "silent,no-preview,pin,pin-notify,replace-previous"
        );
        assert_eq!(SendOptions::from_db(&all.to_db()), Ok(all));
        assert_eq!(SendOptions::default().to_db(), "");
        assert_eq!(SendOptions::from_db(""), Ok(SendOptions::default()));
        let o = SendOptions::from_db("replace-previous, silent").unwrap();
        assert_eq!(o.to_db(), "silent,replace-previous");
    }

    #[test]
    fn bad_stored_forms_are_refused() {
        assert!(
            SendOptions::from_db("loud")
                .unwrap_err()
                .contains("\"loud\"")
        );
        assert!(
            SendOptions::from_db("pin,pin")
                .unwrap_err()
                .contains("twice")
        );
        assert!(
            SendOptions::from_db("pin-notify")
                .unwrap_err()
                .contains("needs pin")
        );
    }
}
