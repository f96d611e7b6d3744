//! What the commands print: JSON (the default), an aligned table, or
//! tab-separated values; and how one value becomes a table cell.

use anyhow::Result;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Json,
    Table,
    Tsv,
    None,
}

/// A JSON value as a table cell: strings without quotes, `null` empty.
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints rows as an aligned table or as tab-separated values.
pub(super) fn print_rows(output: Output, headers: &[&str], rows: &[Vec<String>]) {
    match output {
        Output::Tsv => {
            for r in rows {
                println!("{}", r.join("\t"));
            }
        }
        _ => {
            let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
            for r in rows {
                for (i, c) in r.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let line = |cells: Vec<String>| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            println!("{}", line(headers.iter().map(|h| h.to_string()).collect()));
            println!("{}", line(widths.iter().map(|w| "-".repeat(*w)).collect()));
            for r in rows {
                println!("{}", line(r.clone()));
            }
        }
    }
}

/// Prints a result: JSON, or a table of the given columns (JSON pointers).
pub(super) fn emit(output: Output, value: &Value, columns: &[(&str, &str)]) -> Result<()> {
    match output {
        Output::None => Ok(()),
        Output::Json => {
            println!("{}", serde_json::to_string_pretty(value)?);
            Ok(())
        }
        Output::Table | Output::Tsv => {
            let items: Vec<&Value> = match value {
                Value::Array(a) => a.iter().collect(),
                Value::Null => vec![],
                v => vec![v],
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|it| {
                    columns
                        .iter()
                        .map(|(_, p)| cell(it.pointer(p).unwrap_or(&Value::Null)))
                        .collect()
                })
                .collect();
            let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
            print_rows(output, &headers, &rows);
            Ok(())
        }
    }
}

/// A time as RFC 3339 (empty if it cannot be formatted).
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A number of seconds in the past, roughly: `90s ago`, `5m ago`, `3d ago`.
pub(super) fn ago(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s if s < 172_800 => format!("{}h ago", s / 3600),
        s => format!("{}d ago", s / 86_400),
    }
}
