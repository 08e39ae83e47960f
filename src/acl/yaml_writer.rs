//! Writes an ACL document the way Java's `AclUtils.writeDataObject` does (snakeyaml `dumpAsMap`): block
//! style, two-space indentation, sequence dashes at the column of their key, `[]`/`{}` for empty
//! collections, `null` for nulls, and strings plain unless plain text would read back as something else
//! (then single-quoted, or double-quoted with escapes when they hold control characters). snakeyaml
//! resolves YAML 1.1 scalars, so `yes`, `on`, `1_000` and `12:30` are quoted as well.
//!
//! ```yaml
//! globalWhiteRemoteAddresses:
//! - 10.10.103.*
//! accounts:
//! - accessKey: RocketMQ
//!   secretKey: '12345678'
//!   topicPerms:
//!   - topicA=DENY
//! dataVersion:
//! - counter: 1
//!   timestamp: 1700000000000
//! ```

use std::fmt::Write;

use serde_yaml::{Mapping, Value};

const INDENT: usize = 2;

/// The whole document; a top level that is not a mapping is written as an empty mapping (`{}`), as
/// `dumpAsMap` only takes maps.
pub fn to_yaml(doc: &Value) -> String {
    let mut out = String::new();
    match doc {
        Value::Mapping(map) if !map.is_empty() => write_mapping(&mut out, map, 0),
        _ => out.push_str("{}\n"),
    }
    out
}

fn write_mapping(out: &mut String, map: &Mapping, indent: usize) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&scalar(key));
        out.push(':');
        write_after_key(out, value, indent);
    }
}

/// The value of a mapping entry whose key starts at column `indent`.
fn write_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Sequence(seq) if !seq.is_empty() => {
            out.push('\n');
            for item in seq {
                pad(out, indent);
                out.push_str("- ");
                write_item(out, item, indent + INDENT);
            }
        }
        Value::Mapping(map) if !map.is_empty() => {
            out.push('\n');
            pad(out, indent + INDENT);
            write_mapping(out, map, indent + INDENT);
        }
        Value::Tagged(tagged) => write_after_key(out, &tagged.value, indent),
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

/// A sequence item, written right after its "- "; its own lines start at column `indent`.
fn write_item(out: &mut String, item: &Value, indent: usize) {
    match item {
        Value::Mapping(map) if !map.is_empty() => write_mapping(out, map, indent),
        Value::Sequence(seq) if !seq.is_empty() => {
            for (i, inner) in seq.iter().enumerate() {
                if i > 0 {
                    pad(out, indent);
                }
                out.push_str("- ");
                write_item(out, inner, indent + INDENT);
            }
        }
        Value::Tagged(tagged) => write_item(out, &tagged.value, indent),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Sequence(_) => "[]".into(),
        Value::Mapping(_) => "{}".into(),
        Value::Tagged(tagged) => scalar(&tagged.value),
    }
}

fn string(s: &str) -> String {
    if s.chars().any(|c| c.is_control()) {
        return double_quoted(s);
    }
    if reads_back_as_itself(s) && !yaml11_non_string(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

/// Whether `s`, written plain after a key, reads back as the same string.
fn reads_back_as_itself(s: &str) -> bool {
    if s.is_empty()
        || s.trim() != s
        || s.starts_with([
            '?', ':', '[', '{', '!', '&', '*', '%', '@', '`', '#', '|', '>', '\'', '"',
        ])
    {
        return false;
    }
    match serde_yaml::from_str::<Value>(&format!("k: {s}\n")) {
        Ok(Value::Mapping(map)) => {
            map.len() == 1 && map.get("k") == Some(&Value::String(s.to_string()))
        }
        _ => false,
    }
}

/// Plain scalars YAML 1.1 (snakeyaml's resolver) reads as booleans, nulls or numbers where YAML 1.2 reads
/// strings.
fn yaml11_non_string(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", ".nan",
    ];
    let lower = s.to_ascii_lowercase();
    if WORDS.contains(&lower.as_str()) || s == "<<" {
        return true;
    }
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "._:xXoObB+-".contains(c))
        && body.chars().any(|c| c.is_ascii_digit())
        && !is_dotted_address(body)
}

/// `192.168.0.1`, `10.10.*` and friends are strings for snakeyaml too (no YAML 1.1 number has two dots).
fn is_dotted_address(s: &str) -> bool {
    s.matches('.').count() >= 2 && !s.contains(['_', ':', 'e', 'E', 'x', 'X'])
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn writes_block_style_as_snakeyaml_dump_as_map() {
        let doc = yaml(
            "globalWhiteRemoteAddresses: ['10.10.103.*', 192.168.0.*]\naccounts:\n- {accessKey: RocketMQ, secretKey: 12345678, whiteRemoteAddress: null, admin: false, topicPerms: [topicA=DENY, topicB=PUB|SUB], groupPerms: []}\ndataVersion:\n- {counter: 1, timestamp: 1700000000000}\n",
        );
        let expected = "\
globalWhiteRemoteAddresses:
- 10.10.103.*
- 192.168.0.*
accounts:
- accessKey: RocketMQ
  secretKey: 12345678
  whiteRemoteAddress: null
  admin: false
  topicPerms:
  - topicA=DENY
  - topicB=PUB|SUB
  groupPerms: []
dataVersion:
- counter: 1
  timestamp: 1700000000000
";
        assert_eq!(to_yaml(&doc), expected);
        assert_eq!(yaml(expected), doc, "reads back as the same document");
    }

    #[test]
    fn quotes_strings_that_would_read_back_as_something_else() {
        for (s, written) in [
            ("12345678", "'12345678'"),
            ("true", "'true'"),
            ("yes", "'yes'"),
            ("null", "'null'"),
            ("", "''"),
            ("*", "'*'"),
            ("a: b", "'a: b'"),
            ("it's", "it's"),
            ("#x", "'#x'"),
            (" lead", "' lead'"),
            ("1_000", "'1_000'"),
            ("1.5", "'1.5'"),
            ("a\nb", "\"a\\nb\""),
            ("10.10.103.*", "10.10.103.*"),
            ("192.168.1.1", "192.168.1.1"),
            ("192.168.0.{100,101}", "192.168.0.{100,101}"),
            ("PUB|SUB", "PUB|SUB"),
            ("-abc", "-abc"),
            ("-1", "'-1'"),
            ("- x", "'- x'"),
            ("'q", "'''q'"),
            ("rmqdUser1", "rmqdUser1"),
        ] {
            assert_eq!(string(s), written, "{s:?}");
            let doc = yaml(&format!("k: {written}\n"));
            assert_eq!(
                doc.get("k").and_then(Value::as_str),
                Some(s),
                "{written} reads back"
            );
        }
    }

    #[test]
    fn nested_and_empty_collections() {
        let doc = yaml("a: {}\nb: []\nc: {d: {e: 1}}\nf: [[1, 2], [3]]\n");
        let text = to_yaml(&doc);
        assert_eq!(
            text,
            "a: {}\nb: []\nc:\n  d:\n    e: 1\nf:\n- - 1\n  - 2\n- - 3\n"
        );
        assert_eq!(yaml(&text), doc);
        assert_eq!(to_yaml(&Value::Null), "{}\n");
    }
}
