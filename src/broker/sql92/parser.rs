//! Recursive descent over the selector grammar, with the checks Java's expression factories make while
//! building (`ComparisonExpression.check*`, `createBetween`, `createInFilter`, `asBooleanExpression`).
//!
//! Precedence, loosest first: `OR`, `AND`, equality (`=`, `<>`, `IS [NOT] NULL`), comparison (`>`, `>=`, `<`,
//! `<=`, `[NOT] BETWEEN`, `[NOT] IN`, `[NOT] CONTAINS|STARTSWITH|ENDSWITH`), unary (`+`, `-`, `NOT`), primary.
//! As in Java, `NOT` is unary and binds tighter than comparisons: `NOT a = 'x'` is `(NOT a) = 'x'`.

use super::lexer::Token;
use super::{CmpOp, Expr, SelectorError, TextOp, Value};

pub(super) struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Open parentheses and unary operators around the current position.
    nesting: usize,
    /// Binary operators joined so far; each one deepens the (left-deep) tree by a level.
    joins: usize,
}

/// Parsing, evaluating and dropping an expression all recurse once per level of its tree, on a tokio worker's
/// stack. Real selectors are a few levels deep; these bounds keep a hostile one from overflowing the stack
/// (Java catches its StackOverflowError; Rust aborts the process).
const MAX_NESTING: usize = 32;
const MAX_JOINS: usize = 256;

type Parsed = Result<Expr, SelectorError>;

fn invalid(msg: impl Into<String>) -> SelectorError {
    SelectorError::Invalid(msg.into())
}

impl Parser {
    pub(super) fn new(tokens: Vec<Token>) -> Self {
        Parser {
            tokens,
            pos: 0,
            nesting: 0,
            joins: 0,
        }
    }

    /// `JmsSelector`: an OR expression that must be boolean. Like the generated Java parser, tokens after
    /// a complete expression are not examined beyond the one it peeks at.
    pub(super) fn selector(&mut self) -> Parsed {
        let expr = self.or()?;
        self.peek()?;
        as_boolean(expr)
    }

    /// The next token, `None` at the end; a lexical error surfaces here, when the parser reaches it.
    fn peek(&self) -> Result<Option<&Token>, SelectorError> {
        match self.tokens.get(self.pos) {
            Some(Token::Invalid(msg)) => Err(SelectorError::Invalid(msg.clone())),
            other => Ok(other),
        }
    }

    fn peek_is(&self, token: &Token) -> Result<bool, SelectorError> {
        Ok(self.peek()? == Some(token))
    }

    fn peek_second(&self) -> Option<&Token> {
        self.tokens.get(self.pos + 1)
    }

    fn next(&mut self) -> Result<Token, SelectorError> {
        let token = self
            .peek()?
            .cloned()
            .ok_or_else(|| invalid("unexpected end of expression"))?;
        self.pos += 1;
        Ok(token)
    }

    fn expect(&mut self, token: &Token) -> Result<(), SelectorError> {
        let got = self.next()?;
        if &got == token {
            Ok(())
        } else {
            Err(invalid(format!("expected {token:?}, found {got:?}")))
        }
    }

    /// Consumes the operator token and counts the join against [`MAX_JOINS`].
    fn join(&mut self) -> Result<(), SelectorError> {
        self.pos += 1;
        self.joins += 1;
        if self.joins > MAX_JOINS {
            return Err(invalid(format!(
                "expression has more than {MAX_JOINS} operators"
            )));
        }
        Ok(())
    }

    /// Runs `inner` one nesting level deeper, bounded by [`MAX_NESTING`].
    fn nested(&mut self, inner: impl FnOnce(&mut Self) -> Parsed) -> Parsed {
        if self.nesting >= MAX_NESTING {
            return Err(invalid(format!(
                "expression nested more than {MAX_NESTING} levels deep"
            )));
        }
        self.nesting += 1;
        let parsed = inner(self);
        self.nesting -= 1;
        parsed
    }

    fn or(&mut self) -> Parsed {
        let mut left = self.and()?;
        while self.peek_is(&Token::Or)? {
            self.join()?;
            let right = self.and()?;
            left = Expr::Or(Box::new(as_boolean(left)?), Box::new(as_boolean(right)?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Parsed {
        let mut left = self.equality()?;
        while self.peek_is(&Token::And)? {
            self.join()?;
            let right = self.equality()?;
            left = Expr::And(Box::new(as_boolean(left)?), Box::new(as_boolean(right)?));
        }
        Ok(left)
    }

    fn equality(&mut self) -> Parsed {
        let mut left = self.comparison()?;
        loop {
            left = match self.peek()? {
                Some(Token::Eq) => {
                    self.join()?;
                    equal(left, self.comparison()?)?
                }
                Some(Token::Ne) => {
                    self.join()?;
                    Expr::Not(Box::new(equal(left, self.comparison()?)?))
                }
                Some(Token::Is) => {
                    self.join()?;
                    let negated = self.peek_is(&Token::Not)?;
                    if negated {
                        self.pos += 1;
                    }
                    self.expect(&Token::Null)?;
                    let is_null = Expr::Cmp(CmpOp::Eq, Box::new(left), Box::new(Expr::NULL));
                    if negated {
                        Expr::Not(Box::new(is_null))
                    } else {
                        is_null
                    }
                }
                _ => return Ok(left),
            };
        }
    }

    fn comparison(&mut self) -> Parsed {
        let mut left = self.unary()?;
        loop {
            let negated = self.peek_is(&Token::Not)?
                && matches!(
                    self.peek_second(),
                    Some(
                        Token::Between
                            | Token::In
                            | Token::Contains
                            | Token::StartsWith
                            | Token::EndsWith
                    )
                );
            if negated {
                self.pos += 1;
            }
            let op = match self.peek()? {
                Some(Token::Gt) if !negated => CmpOp::Gt,
                Some(Token::Ge) if !negated => CmpOp::Ge,
                Some(Token::Lt) if !negated => CmpOp::Lt,
                Some(Token::Le) if !negated => CmpOp::Le,
                Some(Token::Between) => {
                    self.join()?;
                    left = self.between(left, negated)?;
                    continue;
                }
                Some(Token::In) => {
                    self.join()?;
                    left = self.in_list(left, negated)?;
                    continue;
                }
                Some(t @ (Token::Contains | Token::StartsWith | Token::EndsWith)) => {
                    let op = match t {
                        Token::Contains => TextOp::Contains,
                        Token::StartsWith => TextOp::StartsWith,
                        _ => TextOp::EndsWith,
                    };
                    self.join()?;
                    let search = self.string()?;
                    left = Expr::Text {
                        op,
                        negated,
                        expr: Box::new(left),
                        search,
                    };
                    continue;
                }
                _ => return Ok(left),
            };
            self.join()?;
            let right = self.unary()?;
            left = less_than(op, left, right)?;
        }
    }

    fn between(&mut self, value: Expr, negated: bool) -> Parsed {
        let low = self.unary()?;
        self.expect(&Token::And)?;
        let high = self.unary()?;
        if negated {
            let below = less_than(CmpOp::Lt, value.clone(), low)?;
            let above = less_than(CmpOp::Gt, value, high)?;
            return Ok(Expr::Or(Box::new(below), Box::new(above)));
        }
        if let (Expr::Const(lv), Expr::Const(hv)) = (&low, &high) {
            if lv.is_null() || hv.is_null() {
                return Err(invalid(
                    "Illegal values of between, values can not be null!",
                ));
            }
            if super::eval::compare(hv, lv).map_err(|e| invalid(e.to_string()))? < 0 {
                return Err(invalid(format!(
                    "Illegal values of between, left value({lv}) must less than or equal to right value({hv})"
                )));
            }
        }
        let at_least = less_than(CmpOp::Ge, value.clone(), low)?;
        let at_most = less_than(CmpOp::Le, value, high)?;
        Ok(Expr::And(Box::new(at_least), Box::new(at_most)))
    }

    fn in_list(&mut self, left: Expr, negated: bool) -> Parsed {
        let Expr::Prop(name) = left else {
            return Err(invalid(format!(
                "Expected a property for In expression, got: {left:?}"
            )));
        };
        self.expect(&Token::LParen)?;
        let mut list = vec![self.string()?];
        while self.peek_is(&Token::Comma)? {
            self.pos += 1;
            list.push(self.string()?);
        }
        self.expect(&Token::RParen)?;
        Ok(Expr::In {
            name,
            list,
            negated,
        })
    }

    fn string(&mut self) -> Result<String, SelectorError> {
        match self.next()? {
            Token::Str(s) => Ok(s),
            other => Err(invalid(format!(
                "expected a string literal, found {other:?}"
            ))),
        }
    }

    fn unary(&mut self) -> Parsed {
        match self.peek()? {
            Some(Token::Plus) => {
                self.pos += 1;
                self.nested(Self::unary)
            }
            Some(Token::Minus) => {
                self.pos += 1;
                Ok(Expr::Neg(Box::new(self.nested(Self::unary)?)))
            }
            Some(Token::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(as_boolean(self.nested(Self::unary)?)?)))
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Parsed {
        match self.next()? {
            Token::Str(s) => Ok(Expr::Const(Value::Str(s))),
            Token::Decimal(text) => decimal(&text),
            Token::Float(text) => float(&text),
            Token::True => Ok(Expr::Const(Value::Bool(true))),
            Token::False => Ok(Expr::Const(Value::Bool(false))),
            Token::Null => Ok(Expr::NULL),
            Token::Ident(name) => Ok(Expr::Prop(name)),
            Token::LParen => {
                let inner = self.nested(Self::or)?;
                self.expect(&Token::RParen)?;
                Ok(inner)
            }
            other => Err(invalid(format!("unexpected {other:?}"))),
        }
    }
}

/// `ConstantExpression.createFromDecimal`: an int when it fits, else a long; beyond a long is an error.
fn decimal(text: &str) -> Parsed {
    let n: i64 = text
        .parse()
        .map_err(|_| invalid(format!("For input string: \"{text}\"")))?;
    Ok(Expr::Const(match i32::try_from(n) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::Long(n),
    }))
}

/// `ConstantExpression.createFloat`, including its rejection of values below `Double.MIN_VALUE` (the
/// smallest positive double), which makes `0.0` an invalid literal in Java too.
fn float(text: &str) -> Parsed {
    let v: f64 = text
        .parse()
        .map_err(|_| invalid(format!("For input string: \"{text}\"")))?;
    if v.is_infinite() {
        return Err(invalid(format!("{text} is greater than {}", f64::MAX)));
    }
    if v < f64::from_bits(1) {
        return Err(invalid(format!("{text} is less than 4.9E-324")));
    }
    Ok(Expr::Const(Value::Double(v)))
}

/// `asBooleanExpression`: boolean expressions pass, a bare property is cast, anything else is an error.
fn as_boolean(expr: Expr) -> Parsed {
    match expr {
        Expr::Prop(_) => Ok(Expr::BoolCast(Box::new(expr))),
        e if e.is_boolean() => Ok(e),
        other => Err(invalid(format!(
            "Expression will not result in a boolean value: {other:?}"
        ))),
    }
}

/// `createEqual`: NULL literals cannot be compared with `=`, and a boolean literal only with booleans.
fn equal(left: Expr, right: Expr) -> Parsed {
    for side in [&left, &right] {
        if matches!(side, Expr::Const(Value::Null)) {
            return Err(invalid("'NULL' cannot be compared."));
        }
    }
    if let (Expr::Const(Value::Bool(_)), Expr::Const(r)) = (&left, &right) {
        if !matches!(r, Value::Bool(_)) {
            return Err(invalid(format!(
                "'{left:?}' cannot be compared with '{right:?}'"
            )));
        }
    }
    Ok(Expr::Cmp(CmpOp::Eq, Box::new(left), Box::new(right)))
}

/// `createGreaterThan` and friends: only numbers, properties and arithmetic can be ordered.
fn less_than(op: CmpOp, left: Expr, right: Expr) -> Parsed {
    for side in [&left, &right] {
        let comparable = match side {
            Expr::Const(v) => v.is_number(),
            e => !e.is_boolean(),
        };
        if !comparable {
            return Err(invalid(format!("Value '{side:?}' cannot be compared.")));
        }
    }
    Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
}
