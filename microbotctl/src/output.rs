//! Output: a table for people, JSON (`-o json`) for scripts. JSON field
//! names are the table's column names in snake_case.

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};
use serde_json::{Map, Value};

/// `-o table|json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// Prints rows of (column, value) pairs as a table or a JSON array.
pub fn print_rows(format: Format, columns: &[&str], rows: &[Vec<Value>]) {
    match format {
        Format::Json => {
            let arr: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut m = Map::new();
                    for (c, v) in columns.iter().zip(r) {
                        m.insert(snake(c), v.clone());
                    }
                    Value::Object(m)
                })
                .collect();
            print_json(&Value::Array(arr));
        }
        Format::Table => {
            let mut t = Table::new();
            t.load_style(NOTHING)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(columns.iter().map(|c| c.to_uppercase()));
            for r in rows {
                t.add_row(r.iter().map(cell));
            }
            println!("{t}");
        }
    }
}

/// Prints key/value facts: a two-column table, or one JSON object.
pub fn print_object(format: Format, fields: &[(&str, Value)]) {
    match format {
        Format::Json => {
            let mut m = Map::new();
            for (k, v) in fields {
                m.insert(snake(k), v.clone());
            }
            print_json(&Value::Object(m));
        }
        Format::Table => {
            let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in fields {
                println!("{k:<width$}  {}", cell(v));
            }
        }
    }
}

pub fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// A JSON value as a table cell: strings bare, null as "-".
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// `Next send` → `next_send`.
pub fn snake(column: &str) -> String {
    column
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}
