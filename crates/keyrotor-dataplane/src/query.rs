//! The Cosmos DB SQL subset keyrotor evaluates:
//! `SELECT * FROM <alias> [WHERE <alias>.<path> = <value> [AND ...]]`,
//! values being string, number, boolean or null literals or `@parameters`.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// (property path, expected value), all of which must hold.
    pub conditions: Vec<(Vec<String>, Value)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Not SQL at all.
    Syntax(String),
    /// SQL beyond the supported subset.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(f64),
    Param(String),
    Sym(char),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, QueryError> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let q = c;
            let mut j = i + 1;
            let mut text = String::new();
            while j < chars.len() && chars[j] != q {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                text.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err(QueryError::Syntax("unterminated string literal".into()));
            }
            out.push(Tok::Str(text));
            i = j + 1;
        } else if c == '@' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            out.push(Tok::Param(chars[i..j].iter().collect()));
            i = j;
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let mut j = i + 1;
            while j < chars.len()
                && (chars[j].is_ascii_digit()
                    || chars[j] == '.'
                    || chars[j] == 'e'
                    || chars[j] == 'E')
            {
                j += 1;
            }
            let text: String = chars[i..j].iter().collect();
            out.push(Tok::Num(
                text.parse()
                    .map_err(|_| QueryError::Syntax(format!("bad number {text}")))?,
            ));
            i = j;
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i + 1;
            while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                j += 1;
            }
            out.push(Tok::Word(chars[i..j].iter().collect()));
            i = j;
        } else if "*.=()[],<>!".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            return Err(QueryError::Syntax(format!("unexpected character '{c}'")));
        }
    }
    Ok(out)
}

fn kw(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
}

pub fn parse(sql: &str, params: &Map<String, Value>) -> Result<Query, QueryError> {
    let toks = tokenize(sql)?;
    if !kw(toks.first(), "select") {
        return Err(QueryError::Syntax("a query starts with SELECT".into()));
    }
    let unsupported = || {
        QueryError::Unsupported(
            "keyrotor evaluates only SELECT * FROM <alias> [WHERE <alias>.<property> = <value> [AND ...]]".into(),
        )
    };
    if toks.get(1) != Some(&Tok::Sym('*')) || !kw(toks.get(2), "from") {
        return Err(unsupported());
    }
    let Some(Tok::Word(alias)) = toks.get(3) else {
        return Err(unsupported());
    };
    let mut i = 4;
    let mut conditions = Vec::new();
    if i < toks.len() {
        if !kw(toks.get(i), "where") {
            return Err(unsupported());
        }
        i += 1;
        loop {
            match toks.get(i) {
                Some(Tok::Word(w)) if w == alias => {}
                _ => return Err(unsupported()),
            }
            i += 1;
            let mut path = Vec::new();
            loop {
                match (toks.get(i), toks.get(i + 1)) {
                    (Some(Tok::Sym('.')), Some(Tok::Word(p))) => {
                        path.push(p.clone());
                        i += 2;
                    }
                    (Some(Tok::Sym('[')), Some(Tok::Str(p)))
                        if toks.get(i + 2) == Some(&Tok::Sym(']')) =>
                    {
                        path.push(p.clone());
                        i += 3;
                    }
                    _ => break,
                }
            }
            if path.is_empty() || toks.get(i) != Some(&Tok::Sym('=')) {
                return Err(unsupported());
            }
            i += 1;
            let value = match toks.get(i) {
                Some(Tok::Str(s)) => Value::String(s.clone()),
                Some(Tok::Num(n)) => {
                    serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number)
                }
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
                Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Value::Null,
                Some(Tok::Param(p)) => params
                    .get(p)
                    .cloned()
                    .ok_or_else(|| QueryError::Syntax(format!("parameter {p} has no value")))?,
                _ => return Err(unsupported()),
            };
            i += 1;
            conditions.push((path, value));
            if i >= toks.len() {
                break;
            }
            if !kw(toks.get(i), "and") {
                return Err(unsupported());
            }
            i += 1;
        }
    }
    Ok(Query { conditions })
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

impl Query {
    pub fn matches(&self, doc: &Value) -> bool {
        self.conditions.iter().all(|(path, want)| {
            let mut cur = Some(doc);
            for p in path {
                cur = cur.and_then(|v| v.get(p));
            }
            cur.is_some_and(|v| numbers_equal(v, want))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(s: &str) -> Result<Query, QueryError> {
        let mut p = Map::new();
        p.insert("@city".into(), json!("Oslo"));
        parse(s, &p)
    }

    #[test]
    fn subset() {
        let doc = json!({"id": "1", "city": "Oslo", "n": 3, "a": {"b": true}});
        assert!(q("SELECT * FROM c")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(q("select * from c where c.city = 'Oslo'")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(q("SELECT * FROM c WHERE c.city = @city AND c.n = 3")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(q("SELECT * FROM root r WHERE r.a.b = true").is_err());
        assert!(q("SELECT * FROM r WHERE r.a.b = true")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(q("SELECT * FROM c WHERE c[\"city\"] = \"Oslo\"")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(!q("SELECT * FROM c WHERE c.n = 4")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
        assert!(!q("SELECT * FROM c WHERE c.missing = null")
            .unwrap_or_else(|e| panic!("{e:?}"))
            .matches(&doc));
    }

    #[test]
    fn outside_the_subset() {
        assert!(matches!(
            q("SELECT c.id FROM c"),
            Err(QueryError::Unsupported(_))
        ));
        assert!(matches!(
            q("SELECT * FROM c WHERE c.n > 3"),
            Err(QueryError::Unsupported(_))
        ));
        assert!(matches!(
            q("SELECT * FROM c ORDER BY c.n"),
            Err(QueryError::Unsupported(_))
        ));
        assert!(matches!(q("DELETE everything"), Err(QueryError::Syntax(_))));
        assert!(matches!(
            q("SELECT * FROM c WHERE c.x = 'open"),
            Err(QueryError::Syntax(_))
        ));
        assert!(matches!(
            q("SELECT * FROM c WHERE c.x = @nope"),
            Err(QueryError::Syntax(_))
        ));
    }
}
