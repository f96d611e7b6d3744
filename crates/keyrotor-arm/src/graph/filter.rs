//! The `$filter` expressions of Microsoft Graph that keyrotor answers, parsed
//! strictly: exactly the forms the az CLI sends for service principals,
//! and nothing that merely resembles them.
//!
//! Served: `appId eq '…'`, `id eq '…'`, `displayName eq '…'`,
//! `startswith(displayName,'…')` and `servicePrincipalNames/any(c:c eq '…')`
//! (any lambda variable name, used consistently). Property names compare
//! case-insensitively, as Graph's do; operators and functions are the
//! lower-case OData keywords. A string literal is single-quoted, `''`
//! standing for one quote.
//!
//! A filter that cannot be read at all (an unterminated string, unbalanced
//! parentheses, nothing) is [`FilterError::Invalid`] (400, as Graph); any
//! other expression, valid OData or not, is [`FilterError::Unsupported`]
//! (501: Graph may answer it, keyrotor does not).

use keyrotor_core::directory::PrincipalQuery;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FilterError {
    #[error("Invalid filter clause: {0}")]
    Invalid(String),
    #[error("keyrotor's Microsoft Graph does not support this $filter: '{0}'. Supported: appId eq '…', id eq '…', displayName eq '…', startswith(displayName,'…'), servicePrincipalNames/any(c:c eq '…')")]
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Name(String),
    Str(String),
    Punct(char),
    /// Anything else (numbers, other operators' symbols): never part of a
    /// served form.
    Other(char),
}

fn tokens(text: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            s.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => s.push(ch),
                        None => {
                            return Err(FilterError::Invalid("unterminated string literal".into()))
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            '(' | ')' | '/' | ':' | ',' => {
                depth += match c {
                    '(' => 1,
                    ')' => -1,
                    _ => 0,
                };
                if depth < 0 {
                    return Err(FilterError::Invalid("unbalanced parentheses".into()));
                }
                out.push(Token::Punct(c));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_ascii_alphanumeric() || n == '_' {
                        s.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Name(s));
            }
            other => out.push(Token::Other(other)),
        }
    }
    if depth != 0 {
        return Err(FilterError::Invalid("unbalanced parentheses".into()));
    }
    if out.is_empty() {
        return Err(FilterError::Invalid("the expression is empty".into()));
    }
    Ok(out)
}

/// Parses a service-principal `$filter` into the directory's query.
pub(crate) fn parse(text: &str) -> Result<PrincipalQuery, FilterError> {
    use Token::{Name, Punct, Str};
    let t = tokens(text)?;
    let unsupported = || FilterError::Unsupported(text.chars().take(200).collect());
    let prop = |n: &str, want: &str| n.eq_ignore_ascii_case(want);
    match t.as_slice() {
        [Name(p), Name(eq), Str(v)] if eq == "eq" => {
            if prop(p, "appId") {
                Ok(PrincipalQuery::AppId(v.clone()))
            } else if prop(p, "id") {
                Ok(PrincipalQuery::ObjectId(v.clone()))
            } else if prop(p, "displayName") {
                Ok(PrincipalQuery::DisplayName(v.clone()))
            } else {
                Err(unsupported())
            }
        }
        [Name(f), Punct('('), Name(p), Punct(','), Str(v), Punct(')')]
            if f == "startswith" && prop(p, "displayName") =>
        {
            Ok(PrincipalQuery::DisplayNameStartsWith(v.clone()))
        }
        [Name(p), Punct('/'), Name(any), Punct('('), Name(var), Punct(':'), Name(var2), Name(eq), Str(v), Punct(')')]
            if prop(p, "servicePrincipalNames") && any == "any" && var == var2 && eq == "eq" =>
        {
            Ok(PrincipalQuery::ServicePrincipalName(v.clone()))
        }
        _ => Err(unsupported()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn the_forms_az_sends_are_served() {
        let cases = [
            (
                format!("servicePrincipalNames/any(c:c eq '{ID}')"),
                PrincipalQuery::ServicePrincipalName(ID.into()),
            ),
            (
                format!("servicePrincipalNames/any(x: x eq '{ID}')"),
                PrincipalQuery::ServicePrincipalName(ID.into()),
            ),
            (format!("appId eq '{ID}'"), PrincipalQuery::AppId(ID.into())),
            (
                format!("AppID  eq  '{ID}'"),
                PrincipalQuery::AppId(ID.into()),
            ),
            (format!("id eq '{ID}'"), PrincipalQuery::ObjectId(ID.into())),
            (
                "displayName eq 'it''s mine'".into(),
                PrincipalQuery::DisplayName("it's mine".into()),
            ),
            (
                "startswith(displayName,'bill')".into(),
                PrincipalQuery::DisplayNameStartsWith("bill".into()),
            ),
            (
                "startswith(displayName, 'a b')".into(),
                PrincipalQuery::DisplayNameStartsWith("a b".into()),
            ),
            (
                "displayName eq ''".into(),
                PrincipalQuery::DisplayName(String::new()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(&text), Ok(want), "{text}");
        }
    }

    #[test]
    fn unreadable_filters_are_invalid() {
        for text in [
            "",
            "   ",
            "appId eq 'x",
            "(appId eq 'x'",
            "appId eq 'x')",
            "startswith(displayName,'a'",
        ] {
            assert!(
                matches!(parse(text), Err(FilterError::Invalid(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn everything_else_is_unsupported() {
        for text in [
            "appId ne 'x'",
            "appId EQ 'x'",
            "appId eq x",
            "appId eq 'x' and displayName eq 'y'",
            "appId eq 'x' or id eq 'y'",
            "accountEnabled eq true",
            "tags/any(t:t eq 'x')",
            "servicePrincipalNames/any(c:d eq 'x')",
            "servicePrincipalNames/all(c:c eq 'x')",
            "servicePrincipalNames/any(c:c ne 'x')",
            "startswith(appId,'x')",
            "endswith(displayName,'x')",
            "StartsWith(displayName,'x')",
            "displayName eq 'x' eq 'y'",
            "id in ('a','b')",
            "createdDateTime ge 2024-01-01T00:00:00Z",
            "not(appId eq 'x')",
        ] {
            assert!(
                matches!(parse(text), Err(FilterError::Unsupported(_))),
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        /// Any input is answered (never a panic), and any value written as
        /// an OData literal (quotes doubled) is read back exactly.
        #[test]
        fn literals_round_trip_and_nothing_panics(junk in ".{0,80}", value in ".{0,40}") {
            let _ = parse(&junk);
            let lit = value.replace('\'', "''");
            proptest::prop_assert_eq!(
                parse(&format!("appId eq '{lit}'")),
                Ok(PrincipalQuery::AppId(value.clone()))
            );
            proptest::prop_assert_eq!(
                parse(&format!("servicePrincipalNames/any(c:c eq '{lit}')")),
                Ok(PrincipalQuery::ServicePrincipalName(value.clone()))
            );
            proptest::prop_assert_eq!(
                parse(&format!("startswith(displayName,'{lit}')")),
                Ok(PrincipalQuery::DisplayNameStartsWith(value))
            );
        }
    }

    #[test]
    fn a_refusal_does_not_echo_unbounded_input() {
        let long = format!("x eq '{}'", "a".repeat(5000));
        let Err(e) = parse(&long) else {
            panic!("unsupported")
        };
        assert!(e.to_string().len() < 600);
    }
}
