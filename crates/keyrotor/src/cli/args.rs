//! Argument values that several commands share (account kinds, durations,
//! tags) and the confirmation prompt of destructive commands.

use anyhow::{bail, Result};
use clap::builder::TypedValueParser;
use keyrotor_arm::wire::Tags;
use keyrotor_types::AccountKind;

/// The account kinds in the CLI's order: `--kind`'s possible values, and
/// the order `account list` lists and lookups try them.
pub(super) const KINDS: [AccountKind; 3] =
    [AccountKind::Cosmos, AccountKind::Batch, AccountKind::Ai];

/// `--kind cosmos|batch|ai`.
pub(super) fn kind() -> impl TypedValueParser<Value = AccountKind> {
    clap::builder::PossibleValuesParser::new(KINDS.map(AccountKind::as_str))
        .try_map(|s| AccountKind::parse(&s).ok_or("not an account kind"))
}

/// Parses a duration such as `15m`, `2h`, `7d`, `90s` or `15` (minutes) into seconds.
pub(super) fn parse_window(s: &str) -> std::result::Result<i64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 60),
    };
    num.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0 && *n <= 366 * 86_400)
        .map(|n| n * mult)
        .ok_or_else(|| format!("'{s}' is not a duration such as 15m, 2h or 7d"))
}

/// `--tags key[=value] ...` as ARM tags.
pub(super) fn parse_tags(tags: &[String]) -> Tags {
    tags.iter()
        .map(|t| match t.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect()
}

/// Asks before a destructive step unless `--yes`; refuses without a terminal.
pub(super) fn confirm(what: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        bail!("refusing to {what} without confirmation; pass --yes");
    }
    eprint!("Are you sure you want to {what}? (y/n): ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if matches!(line.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        bail!("cancelled")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_as_their_names_in_the_cli_order() {
        use clap::builder::TypedValueParser as _;
        let cmd = clap::Command::new("t");
        let names: Vec<String> = kind()
            .possible_values()
            .into_iter()
            .flatten()
            .map(|v| v.get_name().to_string())
            .collect();
        assert_eq!(names, ["cosmos", "batch", "ai"]);
        for k in KINDS {
            let parsed = kind().parse_ref(&cmd, None, std::ffi::OsStr::new(k.as_str()));
            assert_eq!(parsed.ok(), Some(k));
        }
        assert!(kind()
            .parse_ref(&cmd, None, std::ffi::OsStr::new("Cosmos"))
            .is_err());
    }

    #[test]
    fn windows_are_seconds() {
        assert_eq!(parse_window("15"), Ok(900));
        assert_eq!(parse_window("90s"), Ok(90));
        assert_eq!(parse_window("2h"), Ok(7200));
        assert_eq!(parse_window(" 7d "), Ok(604_800));
        assert!(parse_window("5x").is_err());
        assert!(parse_window("-1m").is_err());
    }
}
