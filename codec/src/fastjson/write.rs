//! The three output styles of fastjson 1.2.83 that the broker uses.
//!
//! Checked against fastjson's `SerializeWriter`, `MapSerializer`, `JavaBeanSerializer` and `CollectionCodec`:
//! - default escaping: `"` `\` `\b` `\t` `\n` `\f` `\r` as two-character escapes; other C0 controls, DEL..U+009F
//!   and U+2028/U+2029 as `\u00XX` (uppercase hex); `/` and other non-ASCII text left as is.
//! - `BrowserCompatible` escaping: the same short escapes plus `\/`; every other char below 32 or from 127 on as
//!   `\uXXXX` (UTF-16 units), and longs beyond ±(2^53−1) written as strings.
//! - pretty format (tab indent): a newline before each *string* key and before the closing brace of a
//!   non-empty object, but none before integer or object keys, so `offsetTable` maps come out as
//!   `{0:37960,1:37961` + newline + `}`. Arrays stay on one line: the collections in the broker's files are
//!   `Set`s and primitive arrays, which fastjson writes compactly even in pretty mode.

use std::cmp::Ordering;
use std::fmt::Write as _;

use super::{Key, Value};

/// fastjson's default compact output (`JSON.toJSONString(obj)`): integer keys unquoted, object keys as objects.
pub fn to_string(v: &Value) -> String {
    let mut w = Writer::new(Style::Compact);
    w.value(v);
    w.out
}

/// `JSON.toJSONString(obj, true)`: what `ConfigManager.persist` writes to the config files.
pub fn to_string_pretty(v: &Value) -> String {
    let mut w = Writer::new(Style::Pretty);
    w.value(v);
    w.out
}

/// Strict JSON as fastjson writes it with `BrowserCompatible, QuoteFieldNames, MapSortField`: every key quoted,
/// object entries sorted, non-ASCII escaped. Route bodies for clients >= 4.9.4 use it.
pub fn to_standard_string(v: &Value) -> String {
    let mut w = Writer::new(Style::Standard);
    w.value(v);
    w.out
}

/// Largest magnitude a JavaScript number holds exactly; `BrowserCompatible` quotes longs beyond it.
const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Compact,
    Pretty,
    Standard,
}

struct Writer {
    style: Style,
    out: String,
    indent: usize,
}

impl Writer {
    fn new(style: Style) -> Writer {
        Writer {
            style,
            out: String::new(),
            indent: 0,
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push('\t');
        }
    }

    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.int(*i),
            Value::Float(f) => self.out.push_str(&java_double(*f)),
            Value::Str(s) => self.string(s),
            Value::Array(items) => {
                self.out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        self.out.push(',');
                    }
                    self.value(item);
                }
                self.out.push(']');
            }
            Value::Object(entries) => self.object(entries),
        }
    }

    fn int(&mut self, i: i64) {
        if self.style == Style::Standard && !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) {
            let _ = write!(self.out, "\"{i}\"");
        } else {
            let _ = write!(self.out, "{i}");
        }
    }

    fn object(&mut self, entries: &[(Key, Value)]) {
        let mut shown: Vec<&(Key, Value)> = entries.iter().filter(|(_, v)| !v.is_null()).collect();
        if self.style == Style::Standard {
            sort_like_tree_map(&mut shown);
        }
        let pretty = self.style == Style::Pretty;
        self.out.push('{');
        self.indent += 1;
        for (n, (key, value)) in shown.into_iter().enumerate() {
            if n > 0 {
                self.out.push(',');
            }
            if pretty && matches!(key, Key::Str(_)) {
                self.newline();
            }
            self.key(key);
            self.out.push(':');
            self.value(value);
        }
        self.indent -= 1;
        // fastjson tests the map's size, null values included.
        if pretty && !entries.is_empty() {
            self.newline();
        }
        self.out.push('}');
    }

    fn key(&mut self, key: &Key) {
        match (key, self.style) {
            (Key::Str(s), _) => self.string(s),
            (Key::Int(i), Style::Standard) => {
                let _ = write!(self.out, "\"{i}\"");
            }
            (Key::Int(i), _) => {
                let _ = write!(self.out, "{i}");
            }
            // BrowserCompatible writes a non-string key as the string of its default JSON text.
            (Key::Object(entries), Style::Standard) => {
                let text = to_string(&Value::Object(entries.clone()));
                self.string(&text);
            }
            (Key::Object(entries), _) => self.object(entries),
        }
    }

    fn string(&mut self, s: &str) {
        self.out.reserve(s.len() + 2);
        self.out.push('"');
        let browser = self.style == Style::Standard;
        for c in s.chars() {
            let short = match c {
                '"' => Some('"'),
                '\\' => Some('\\'),
                '\u{8}' => Some('b'),
                '\t' => Some('t'),
                '\n' => Some('n'),
                '\u{c}' => Some('f'),
                '\r' => Some('r'),
                '/' if browser => Some('/'),
                _ => None,
            };
            if let Some(e) = short {
                self.out.push('\\');
                self.out.push(e);
            } else if needs_unicode_escape(c, browser) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(self.out, "\\u{unit:04X}");
                }
            } else {
                self.out.push(c);
            }
        }
        self.out.push('"');
    }
}

fn needs_unicode_escape(c: char, browser: bool) -> bool {
    let code = c as u32;
    if browser {
        !(32..127).contains(&code)
    } else {
        code < 32 || (127..160).contains(&code) || c == '\u{2028}' || c == '\u{2029}'
    }
}

/// `MapSortField` copies a map into a `TreeMap`: string keys sort by UTF-16 units, numbers numerically. Keys of
/// mixed kinds make the `TreeMap` throw, and fastjson then keeps the original order; so do we, and likewise for
/// object keys, whose Java ordering (`MessageQueue.compareTo`) is not ours to guess.
fn sort_like_tree_map(entries: &mut [&(Key, Value)]) {
    if entries.iter().all(|(k, _)| matches!(k, Key::Str(_))) {
        entries.sort_by(|(a, _), (b, _)| match (a, b) {
            (Key::Str(a), Key::Str(b)) => a.encode_utf16().cmp(b.encode_utf16()),
            _ => Ordering::Equal,
        });
    } else if entries.iter().all(|(k, _)| matches!(k, Key::Int(_))) {
        entries.sort_by_key(|(k, _)| match k {
            Key::Int(i) => *i,
            _ => 0,
        });
    }
}

/// Java's `Double.toString` shape, which fastjson's `RyuDouble` reproduces: plain decimal with at least one
/// fractional digit in [1e-3, 1e7), otherwise `d.dddE±n`; NaN and infinities are written as null.
pub fn java_double(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        // Rust's Debug output is the shortest round-trip text and always has a '.'.
        return format!("{f:?}");
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    if mantissa.contains('.') {
        format!("{mantissa}E{exponent}")
    } else {
        format!("{mantissa}.0E{exponent}")
    }
}
