//! A lenient parser that accepts what fastjson 1.x writes and reads.
//!
//! Beyond standard JSON it accepts: unquoted integer keys (`{0:5}`), object keys (`{{"queueId":0}:5}`),
//! single-quoted strings, bare identifier keys, `/* */` and `//` comments, trailing commas, Java number suffixes
//! (`5L`) and fastjson's extra escapes (`\'`, `\v`, `\xHH`, `\0`..`\7`). It never panics: every failure is a
//! [`CodecError::Json`] with the byte offset.

use super::{Key, Value};
use crate::CodecError;

/// Nesting limit for arrays and objects (including object keys); deeper input is rejected rather than
/// risking the stack.
pub const MAX_DEPTH: usize = 512;

/// Parses one JSON document. Whitespace and comments may surround it; anything else after it is an error.
pub fn parse(text: &str) -> Result<Value, CodecError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    p.skip_ws()?;
    let v = p.value()?;
    p.skip_ws()?;
    if p.pos != p.bytes.len() {
        return Err(p.err("unexpected text after the document"));
    }
    Ok(v)
}

/// Parses UTF-8 bytes (a request or response body).
pub fn parse_slice(bytes: &[u8]) -> Result<Value, CodecError> {
    let text = std::str::from_utf8(bytes).map_err(|_| CodecError::Utf8("json body"))?;
    parse(text)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> CodecError {
        CodecError::Json(format!("{what} at byte {}", self.pos))
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, b: u8) -> Result<(), CodecError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", b as char)))
        }
    }

    fn skip_ws(&mut self) -> Result<(), CodecError> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c | 0x08 => self.pos += 1,
                b'/' => self.skip_comment()?,
                _ => break,
            }
        }
        Ok(())
    }

    fn skip_comment(&mut self) -> Result<(), CodecError> {
        let rest = &self.bytes[self.pos..];
        if rest.starts_with(b"//") {
            let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            self.pos += len;
        } else if rest.starts_with(b"/*") {
            let end = rest[2..]
                .windows(2)
                .position(|w| w == b"*/")
                .ok_or_else(|| self.err("unterminated comment"))?;
            self.pos += end + 4;
        } else {
            return Err(self.err("unexpected '/'"));
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), CodecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value, CodecError> {
        match self.peek() {
            Some(b'{') => Ok(Value::Object(self.object()?)),
            Some(b'[') => self.array(),
            Some(q @ (b'"' | b'\'')) => Ok(Value::Str(self.string(q)?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(self.err("unexpected character")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, CodecError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            Err(self.err("invalid literal"))
        }
    }

    fn array(&mut self) -> Result<Value, CodecError> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                break;
            }
            items.push(self.value()?);
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("expected ',' or ']'")),
            }
        }
        self.depth -= 1;
        Ok(Value::Array(items))
    }

    /// Parses `{...}` and returns its entries; also used for object keys.
    fn object(&mut self) -> Result<Vec<(Key, Value)>, CodecError> {
        self.enter()?;
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.skip_ws()?;
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                // fastjson tolerates stray commas, e.g. a trailing one.
                Some(b',') if !entries.is_empty() => {
                    self.pos += 1;
                    continue;
                }
                _ => {}
            }
            let key = self.key()?;
            self.skip_ws()?;
            self.expect(b':')?;
            self.skip_ws()?;
            let value = self.value()?;
            entries.push((key, value));
            self.skip_ws()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.err("expected ',' or '}'")),
            }
        }
        self.depth -= 1;
        Ok(entries)
    }

    fn key(&mut self) -> Result<Key, CodecError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => Ok(Key::Str(self.string(q)?)),
            Some(b'{') => Ok(Key::Object(self.object()?)),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                match self.number()? {
                    Value::Int(i) => Ok(Key::Int(i)),
                    // A real or out-of-range number key: keep its text.
                    _ => Ok(Key::Str(self.text[start..self.pos].to_owned())),
                }
            }
            Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'$' => {
                let start = self.pos;
                while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
                {
                    self.pos += 1;
                }
                Ok(Key::Str(self.text[start..self.pos].to_owned()))
            }
            Some(_) => Err(self.err("invalid object key")),
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, CodecError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        if self.digits() == 0 {
            return Err(self.err("invalid number"));
        }
        let mut real = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            real = true;
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            real = true;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number"));
            }
        }
        let text = &self.text[start..self.pos];
        // Java literal suffixes that fastjson writes with WriteClassName and accepts on input.
        if matches!(self.peek(), Some(b'L' | b'S' | b'B' | b'F' | b'D')) {
            self.pos += 1;
        }
        if !real {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
        }
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| self.err("invalid number"))
    }

    fn string(&mut self, quote: u8) -> Result<String, CodecError> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(b) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            if b == quote || b == b'\\' {
                // Both are ASCII, so `run..pos` lies on char boundaries.
                out.push_str(&self.text[run..self.pos]);
                self.pos += 1;
                if b == quote {
                    return Ok(out);
                }
                self.escape(&mut out)?;
                run = self.pos;
            } else {
                self.pos += 1;
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), CodecError> {
        let Some(b) = self.peek() else {
            return Err(self.err("unterminated escape"));
        };
        self.pos += 1;
        let c = match b {
            b'"' | b'\'' | b'\\' | b'/' => b as char,
            b'b' => '\u{8}',
            b'f' | b'F' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'v' => '\u{b}',
            b'0'..=b'7' => char::from(b - b'0'),
            b'x' => char::from(self.hex(2)? as u8),
            b'u' => self.unicode_escape()?,
            _ => return Err(self.err("invalid escape")),
        };
        out.push(c);
        Ok(())
    }

    fn hex(&mut self, n: usize) -> Result<u32, CodecError> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + n)
            .ok_or_else(|| self.err("truncated escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let nibble = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err("invalid hex digit"))?;
            v = v * 16 + nibble;
        }
        self.pos += n;
        Ok(v)
    }

    /// `\uXXXX`, combining a surrogate pair written as two escapes. A lone surrogate (which a Java string can
    /// hold but a Rust one cannot) becomes U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, CodecError> {
        let hi = self.hex(4)?;
        if (0xD800..0xDC00).contains(&hi) && self.bytes[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex(4)?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }
}
