//! Tokens of the selector grammar (Java `SelectorParser.jj`): case-insensitive keywords and identifiers,
//! `'...'` strings with `''` as the quote escape, decimal and floating literals, `--` and `/* */` comments.

use super::SelectorError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// The literal's text without an `l`/`L` suffix.
    Decimal(String),
    Float(String),
    Str(String),
    Ident(String),
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    /// What the token manager would throw when asked for this token. Java's parser pulls tokens lazily,
    /// so text after a complete expression is never looked at beyond the next token; keeping the failure
    /// as a token reproduces that.
    Invalid(String),
}

/// Splits `sql` into tokens. Stops at the first character no token can start with, leaving an
/// [`Token::Invalid`] there.
pub(super) fn tokenize(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}') {
            i += 1;
            continue;
        }
        match lex_one(&chars, i) {
            Ok((Some(token), next)) => {
                tokens.push(token);
                i = next;
            }
            Ok((None, next)) => i = next,
            Err(e) => {
                tokens.push(Token::Invalid(e.to_string()));
                break;
            }
        }
    }
    tokens
}

/// One token (or a skipped comment, `None`) starting at `i`, and the index after it.
fn lex_one(chars: &[char], i: usize) -> Result<(Option<Token>, usize), SelectorError> {
    let c = chars[i];
    let peek = chars.get(i + 1).copied();
    let single = |t: Token| Ok((Some(t), i + 1));
    match c {
        '-' if peek == Some('-') => line_comment(chars, i),
        '/' if peek == Some('*') => block_comment(chars, i),
        '\'' => string(chars, i),
        '=' => single(Token::Eq),
        '(' => single(Token::LParen),
        ')' => single(Token::RParen),
        ',' => single(Token::Comma),
        '+' => single(Token::Plus),
        '-' => single(Token::Minus),
        '<' if peek == Some('>') => Ok((Some(Token::Ne), i + 2)),
        '<' if peek == Some('=') => Ok((Some(Token::Le), i + 2)),
        '<' => single(Token::Lt),
        '>' if peek == Some('=') => Ok((Some(Token::Ge), i + 2)),
        '>' => single(Token::Gt),
        '0'..='9' | '.' => number(chars, i),
        c if c.is_ascii_alphabetic() || c == '_' || c == '$' => Ok(word(chars, i)),
        other => Err(lexical_error(other, i)),
    }
}

fn lexical_error(c: char, at: usize) -> SelectorError {
    SelectorError::Lexical {
        found: c.to_string(),
        at,
    }
}

/// `--` up to and including a line terminator; Java's token needs the terminator.
fn line_comment(chars: &[char], i: usize) -> Result<(Option<Token>, usize), SelectorError> {
    let end = (i + 2..chars.len()).find(|&j| chars[j] == '\n' || chars[j] == '\r');
    match end {
        Some(j) if chars[j] == '\r' && chars.get(j + 1) == Some(&'\n') => Ok((None, j + 2)),
        Some(j) => Ok((None, j + 1)),
        None => Err(lexical_error('-', i)),
    }
}

fn block_comment(chars: &[char], i: usize) -> Result<(Option<Token>, usize), SelectorError> {
    let end =
        (i + 2..chars.len().saturating_sub(1)).find(|&j| chars[j] == '*' && chars[j + 1] == '/');
    match end {
        Some(j) => Ok((None, j + 2)),
        None => Err(lexical_error('/', i)),
    }
}

fn string(chars: &[char], i: usize) -> Result<(Option<Token>, usize), SelectorError> {
    let mut out = String::new();
    let mut j = i + 1;
    while j < chars.len() {
        if chars[j] == '\'' {
            if chars.get(j + 1) == Some(&'\'') {
                out.push('\'');
                j += 2;
                continue;
            }
            return Ok((Some(Token::Str(out)), j + 1));
        }
        out.push(chars[j]);
        j += 1;
    }
    Err(lexical_error('\'', i))
}

fn digits_end(chars: &[char], mut j: usize) -> usize {
    while chars.get(j).is_some_and(char::is_ascii_digit) {
        j += 1;
    }
    j
}

/// `E[+-]digits` at `j`, returning its end, if there is one.
fn exponent_end(chars: &[char], j: usize) -> Option<usize> {
    if !matches!(chars.get(j), Some('e' | 'E')) {
        return None;
    }
    let mut k = j + 1;
    if matches!(chars.get(k), Some('+' | '-')) {
        k += 1;
    }
    let end = digits_end(chars, k);
    (end > k).then_some(end)
}

/// The longest of DECIMAL_LITERAL and FLOATING_POINT_LITERAL at `i` (JavaCC's longest-match rule).
fn number(chars: &[char], i: usize) -> Result<(Option<Token>, usize), SelectorError> {
    let text = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let int_end = digits_end(chars, i);
    if int_end == i {
        // ".5", ".5E10"
        let frac_end = digits_end(chars, i + 1);
        if frac_end == i + 1 {
            return Err(lexical_error('.', i));
        }
        let end = exponent_end(chars, frac_end).unwrap_or(frac_end);
        return Ok((Some(Token::Float(text(i, end))), end));
    }
    if chars.get(int_end) == Some(&'.') {
        let frac_end = digits_end(chars, int_end + 1);
        let end = exponent_end(chars, frac_end).unwrap_or(frac_end);
        return Ok((Some(Token::Float(text(i, end))), end));
    }
    if let Some(end) = exponent_end(chars, int_end) {
        return Ok((Some(Token::Float(text(i, end))), end));
    }
    // A decimal literal is "0" or starts with 1-9: "007" is three tokens, as in Java.
    let dec_end = if chars[i] == '0' { i + 1 } else { int_end };
    let token = Token::Decimal(text(i, dec_end));
    if matches!(chars.get(dec_end), Some('l' | 'L')) {
        return Ok((Some(token), dec_end + 1));
    }
    Ok((Some(token), dec_end))
}

fn word(chars: &[char], i: usize) -> (Option<Token>, usize) {
    let mut j = i + 1;
    while chars
        .get(j)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '$')
    {
        j += 1;
    }
    let text: String = chars[i..j].iter().collect();
    let token = match text.to_ascii_uppercase().as_str() {
        "NOT" => Token::Not,
        "AND" => Token::And,
        "OR" => Token::Or,
        "BETWEEN" => Token::Between,
        "IN" => Token::In,
        "TRUE" => Token::True,
        "FALSE" => Token::False,
        "NULL" => Token::Null,
        "IS" => Token::Is,
        "CONTAINS" => Token::Contains,
        "STARTSWITH" => Token::StartsWith,
        "ENDSWITH" => Token::EndsWith,
        _ => Token::Ident(text),
    };
    (Some(token), j)
}
