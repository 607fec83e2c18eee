//! Reading a scenario: TOML text to [`Scenario`], `--set` overrides, and locating a key path's
//! line and column in the text for error messages.

use super::validate::validate;
use super::Scenario;
use crate::error::{Error, KeyPath, Seg};
use serde::Deserialize;
use std::path::Path;
use std::str::FromStr;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A `--set KEY=VALUE` override. Keys are dotted paths; `functions.NAME.key` and
/// `traffic.NAME.key` address entries by function name, `gateways.NAME.key` by gateway name,
/// `traffic.N.key` by index; `dependencies.NAME.key` a dependency by its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    /// Key path, as in the scenario file (e.g. `functions[0].memory_mb`).
    pub key: String,
    /// The value, as TOML text.
    pub value: String,
}

impl FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s:?}: expected KEY=VALUE"))?;
        if k.trim().is_empty() {
            return Err(format!("--set {s:?}: empty key"));
        }
        Ok(Override {
            key: k.trim().to_string(),
            value: v.trim().to_string(),
        })
    }
}

/// Reads, overrides, resolves and validates the scenario at `path`.
pub fn load(path: &Path, overrides: &[Override]) -> Result<Scenario, Error> {
    let text = crate::trace::read_text_file(path)
        .map_err(|e| Error::input_at(path, None, format!("cannot read the scenario file: {e}")))?;
    load_str(&text, path, overrides)
}

/// As [`load`], from text; `file` names the text in errors.
pub fn load_str(text: &str, file: &Path, overrides: &[Override]) -> Result<Scenario, Error> {
    let mut s: Scenario = toml::from_str(text).map_err(|e| parse_error(text, file, &e))?;
    // `--set seed=N` takes the full u64 range like `--seed` (TOML integers stop at i64::MAX):
    // the last such override is applied after the others.
    let mut seed = None;
    let rest: Vec<Override>;
    let overrides = if overrides.iter().any(|o| o.key.trim() == "seed") {
        rest = overrides
            .iter()
            .filter(|o| {
                if o.key.trim() != "seed" {
                    return true;
                }
                match o.value.trim().parse::<u64>() {
                    Ok(v) => {
                        seed = Some(v);
                        false
                    }
                    Err(_) => true,
                }
            })
            .cloned()
            .collect();
        &rest[..]
    } else {
        overrides
    };
    if !overrides.is_empty() {
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| parse_error(text, file, &e))?;
        for o in overrides {
            apply(&mut table, o)
                .map_err(|m| Error::input(Path::new("--set"), KeyPath::parse(&o.key), m))?;
        }
        s = Scenario::deserialize(table).map_err(|e| {
            let keys: Vec<&str> = overrides.iter().map(|o| o.key.as_str()).collect();
            Error::input(
                Path::new("--set"),
                KeyPath::parse(&keys.join(", ")),
                escape_controls(e.message()),
            )
        })?;
    }
    if let Some(v) = seed {
        s.seed = v;
    }
    s.resolve();
    validate(&s).map_err(|(key, msg)| {
        let pos = locate(text, &key);
        Error::Input {
            file: file.to_path_buf(),
            key: Some(key),
            pos,
            msg,
        }
    })?;
    Ok(s)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn parse_error(text: &str, file: &Path, e: &toml::de::Error) -> Error {
    let span = e.span();
    let pos = span.as_ref().map(|s| line_col(text, s.start));
    let key = span.and_then(|s| path_at(text, s.start));
    Error::Input {
        file: file.to_path_buf(),
        key,
        pos,
        msg: escape_controls(e.message()),
    }
}

/// The parser quotes the user's text in its messages (`unknown variant `...``): a carriage
/// return or an escape sequence there would garble the one-line message on a terminal, so
/// control characters other than line breaks (which the error folds) are shown escaped.
fn escape_controls(msg: &str) -> String {
    msg.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The key path of the innermost key or value whose span holds `offset`.
fn path_at(text: &str, offset: usize) -> Option<KeyPath> {
    let doc = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    walk_table(doc.get_ref(), offset, &mut path);
    (!path.is_empty()).then_some(KeyPath(path))
}

fn walk_table(t: &DeTable, offset: usize, path: &mut Vec<Seg>) {
    for (k, v) in t.iter() {
        if k.span().contains(&offset) || v.span().contains(&offset) {
            path.push(Seg::Key(k.get_ref().to_string()));
            walk_value(v, offset, path);
            return;
        }
    }
    // Spans of `[table]` and `[[array]]` sections may cover only their header: descend into the
    // section whose header comes last before the offset.
    let best = t
        .iter()
        .filter(|(k, v)| is_container(v) && k.span().start <= offset)
        .max_by_key(|(k, _)| k.span().start);
    if let Some((k, v)) = best {
        path.push(Seg::Key(k.get_ref().to_string()));
        walk_value(v, offset, path);
    }
}

fn is_container(v: &Spanned<DeValue>) -> bool {
    matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_))
}

fn walk_value(v: &Spanned<DeValue>, offset: usize, path: &mut Vec<Seg>) {
    match v.get_ref() {
        DeValue::Table(t) => walk_table(t, offset, path),
        DeValue::Array(a) => {
            let hit = a
                .iter()
                .position(|el| el.span().contains(&offset))
                .or_else(|| {
                    a.iter()
                        .enumerate()
                        .filter(|(_, el)| el.span().start <= offset)
                        .max_by_key(|(_, el)| el.span().start)
                        .map(|(i, _)| i)
                });
            if let Some(i) = hit {
                path.push(Seg::Index(i));
                walk_value(&a[i], offset, path);
            }
        }
        _ => {}
    }
}

/// Line and column of the deepest existing part of `key` in `text`.
pub fn locate(text: &str, key: &KeyPath) -> Option<(usize, usize)> {
    let doc = DeTable::parse(text).ok()?;
    let mut span = None;
    let mut cur: Option<&Spanned<DeValue>> = None;
    let root = doc.get_ref();
    for seg in &key.0 {
        let table = match cur {
            None => Some(root),
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => Some(t),
                _ => None,
            },
        };
        let next = match (seg, table, cur.map(|v| v.get_ref())) {
            (Seg::Key(k), Some(t), _) => {
                t.iter().find(|(kk, _)| kk.get_ref() == k).map(|(kk, v)| {
                    span = Some(kk.span());
                    v
                })
            }
            (Seg::Index(i), _, Some(DeValue::Array(a))) => a.get(*i).inspect(|v| {
                span = Some(v.span());
            }),
            _ => None,
        };
        match next {
            Some(v) => cur = Some(v),
            None => break,
        }
    }
    span.map(|s| line_col(text, s.start))
}

/// Applies one override to the document table.
fn apply(table: &mut toml::Table, o: &Override) -> Result<(), String> {
    let value = parse_value(&o.value);
    let parts: Vec<&str> = o.key.split('.').collect();
    let mut cur = table;
    let mut i = 0;
    while i + 1 < parts.len() {
        let part = parts[i];
        if part == "functions" || part == "traffic" || part == "gateways" || part == "dependencies"
        {
            let sel = *parts
                .get(i + 1)
                .ok_or("needs an entry after functions/traffic")?;
            let field = if part == "traffic" {
                "function"
            } else {
                "name"
            };
            let arr = cur
                .get_mut(part)
                .and_then(|v| v.as_array_mut())
                .ok_or_else(|| format!("the scenario has no [[{part}]] entries"))?;
            let idx = match sel.parse::<usize>() {
                Ok(n) if n < arr.len() => n,
                Ok(n) => return Err(format!("{part} has {} entries, no entry {n}", arr.len())),
                Err(_) => {
                    let hits: Vec<usize> = arr
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.get(field).and_then(|x| x.as_str()) == Some(sel))
                        .map(|(k, _)| k)
                        .collect();
                    match hits.as_slice() {
                        [one] => *one,
                        [] => return Err(format!("no {part} entry with {field} = {sel:?}")),
                        _ => return Err(format!("{} {part} entries have {field} = {sel:?}: address one by index, e.g. {part}.0", hits.len())),
                    }
                }
            };
            cur = arr[idx].as_table_mut().ok_or("entry is not a table")?;
            i += 2;
            continue;
        }
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("{part} is not a table"))?;
        i += 1;
    }
    let last = parts.get(i).ok_or("empty key")?;
    cur.insert(last.to_string(), value);
    Ok(())
}

/// A TOML value if the text is one (`3000`, `"5m"`, `true`, `{ dist = "fixed", value = "1s" }`),
/// else the text as a string (so `--set account.region=eu-west-1` works unquoted).
fn parse_value(text: &str) -> toml::Value {
    let doc = format!("v = {text}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(text.to_string())),
        Err(_) => toml::Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_messages_show_control_characters_escaped() {
        // Found by tests/fuzz.rs: a carriage return written as `\r` inside a string came back
        // raw in the message and garbled the one-line error on a terminal.
        let text = "name = \"t\"\nduration = \"1s\"\n[[functions]]\nname = \"f\"\nduration = { dist = \"logno\\rmal\", median = \"1s\", p99 = \"2s\" }\n";
        let e = load_str(text, Path::new("t.toml"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("logno\\rmal") && !e.contains('\r'), "{e:?}");
    }
}
