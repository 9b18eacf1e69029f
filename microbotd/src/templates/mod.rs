//! Templates as the operator describes them, before storage: [`spec`]
//! validates one template's fields (the single place every rule lives, used
//! by create, edit and apply), [`file`] reads and writes the declarative TOML
//! file of `template apply` / `template export`, and [`plan`] diffs a file
//! against what is stored; [`options`] holds the send options (silent,
//! no preview, pin, replace the previous message) and [`placeholders`]
//! fills `{date}`, `{time}`, `{weekday}`, `{slot}` in at send time.

pub mod attachments;
pub mod file;
pub mod options;
pub mod placeholders;
pub mod plan;
pub mod spec;

pub use options::SendOptions;
pub use spec::{FieldError, ScheduleSpec, TemplateInput, TemplateSpec};
