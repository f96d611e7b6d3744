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

/// A JSON value as a table cell: strings without quotes, `null` empty,
/// a list as its items separated by commas (`-` when empty).
pub(super) fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Whether a field holds a point in time, by the APIs' naming: ARM's and
/// keyrotor's `…Time`, `…Date`, `…On` (`createdTime`, `deletionDate`,
/// `createdOn`), and Key Vault's attributes `created`, `updated`, `exp`,
/// `nbf` (Unix seconds there).
fn is_time_field(name: &str) -> bool {
    matches!(name, "created" | "updated" | "exp" | "nbf")
        || ["Time", "Date", "On"]
            .iter()
            .any(|suffix| name.len() > suffix.len() && name.ends_with(suffix))
}

/// A time field as a table cell: RFC 3339 in seconds, from RFC 3339 text
/// or Unix seconds; `never` when absent.
pub(super) fn time_cell(v: &Value) -> String {
    let parsed = match v {
        Value::Null => return "never".into(),
        Value::String(s) => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        }
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok()),
        _ => None,
    };
    parsed.map_or_else(|| cell(v), rfc3339)
}

/// The cell of the field at `pointer` (a JSON pointer) of `item`: a time
/// field as [`time_cell`], anything else as [`cell`].
fn field_cell(item: &Value, pointer: &str) -> String {
    let v = item.pointer(pointer).unwrap_or(&Value::Null);
    let name = pointer.rsplit('/').next().unwrap_or_default();
    if is_time_field(name) {
        time_cell(v)
    } else {
        cell(v)
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

/// Prints a table's legend after it (`-o table` only: tab-separated
/// values and JSON are read by programs).
pub(super) fn legend(output: Output, text: &str) {
    if output == Output::Table {
        println!();
        println!("{}", text.trim_end());
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
                .map(|it| columns.iter().map(|(_, p)| field_cell(it, p)).collect())
                .collect();
            let headers: Vec<&str> = columns.iter().map(|(h, _)| *h).collect();
            print_rows(output, &headers, &rows);
            Ok(())
        }
    }
}

/// A time as RFC 3339 in whole seconds, UTC (`2026-12-08T00:43:45Z`;
/// empty if it cannot be formatted): the one way tables print times.
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_rfc3339_in_seconds_and_never_when_absent() {
        let item = json!({
            "lastUsedTime": "2026-12-08T00:43:45.183255Z",
            "attributes": {"created": 1_796_690_700, "exp": null},
            "supersededTime": null,
            "createdOn": "2026-12-08T00:43:45Z",
            "expiryTime": "P90D",
            "name": "2026-12-08T00:43:45.183255Z",
        });
        assert_eq!(field_cell(&item, "/lastUsedTime"), "2026-12-08T00:43:45Z");
        assert_eq!(
            field_cell(&item, "/attributes/created"),
            "2026-12-08T00:45:00Z"
        );
        assert_eq!(field_cell(&item, "/attributes/exp"), "never");
        assert_eq!(field_cell(&item, "/supersededTime"), "never");
        assert_eq!(field_cell(&item, "/createdOn"), "2026-12-08T00:43:45Z");
        // A duration in a time-named field, and a name that is not a time, as they are.
        assert_eq!(field_cell(&item, "/expiryTime"), "P90D");
        assert_eq!(field_cell(&item, "/name"), "2026-12-08T00:43:45.183255Z");
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_796_690_700_123_456_789)
            .expect("a time");
        assert_eq!(rfc3339(t), "2026-12-08T00:45:00Z");
    }

    #[test]
    fn lists_are_readable_text() {
        assert_eq!(
            cell(&json!(["a @ 1.2.3.4", "b @ ::1"])),
            "a @ 1.2.3.4, b @ ::1"
        );
        assert_eq!(cell(&json!([])), "-");
        assert_eq!(cell(&json!(null)), "");
        assert_eq!(cell(&json!(3)), "3");
    }
}
