//! SQL92 message selectors (`MessageSelector.bySql`), compiled and evaluated like Java's `filter` module.
//!
//! Pure: no I/O. [`compile`] parses the expression with the checks Java makes while building it;
//! [`Selector::matches`] evaluates it against a message's properties (all strings, `TAGS` and `KEYS`
//! included), with Java's three-valued logic: a comparison with a missing property is NULL, NULL is not a
//! match, `AND`/`OR` short-circuit around NULL, and a failed conversion (`a > 3` with `a='x'`) makes the
//! whole expression fail, which the broker treats as no match.
//!
//! Layout: `lexer` (tokens), `parser` (grammar and build-time checks), `eval` (values and comparisons).
//! The 5.x operators `CONTAINS`, `STARTSWITH` and `ENDSWITH` are accepted too.

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use std::fmt;

/// Why an expression does not compile. Java answers these with SUBSCRIPTION_PARSE_FAILED.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    #[error("Lexical error at column {at}. Encountered: {found:?}")]
    Lexical { found: String, at: usize },
    #[error("Invalid MessageSelector. {0}")]
    Invalid(String),
}

/// A value during evaluation. Java keeps `Integer` and `Long` apart (a property converted for comparison
/// with an int literal must fit an int), so do we.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i32),
    Long(i64),
    Double(f64),
    Str(String),
}

impl Value {
    fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Long(_) | Value::Double(_))
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::Long(l) => write!(f, "{l}"),
            Value::Double(d) => write!(f, "{d}"),
            Value::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// The compiled expression tree. `<>` is `NOT =`, `IS NULL` is `= NULL` without the build-time check,
/// `BETWEEN` is `>= AND <=`, as Java builds them.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Const(Value),
    Prop(String),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    /// A bare property used as a boolean: a string property is never TRUE.
    BoolCast(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In {
        name: String,
        list: Vec<String>,
        negated: bool,
    },
    Text {
        op: TextOp,
        negated: bool,
        expr: Box<Expr>,
        search: String,
    },
}

impl Expr {
    const NULL: Expr = Expr::Const(Value::Null);

    /// Java's `instanceof BooleanExpression`, which the build-time checks look at.
    fn is_boolean(&self) -> bool {
        match self {
            Expr::Const(v) => matches!(v, Value::Bool(_) | Value::Null),
            Expr::Prop(_) | Expr::Neg(_) => false,
            _ => true,
        }
    }
}

/// A compiled selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    root: Expr,
}

/// Compiles a selector expression (`SqlFilter.compile`).
pub fn compile(sql: &str) -> Result<Selector, SelectorError> {
    let root = parser::Parser::new(lexer::tokenize(sql)).selector()?;
    Ok(Selector { root })
}

impl Selector {
    /// True when the expression evaluates to TRUE for a message whose properties `lookup` returns.
    /// NULL, FALSE and evaluation errors are all "no match", as in `ExpressionMessageFilter`.
    pub fn matches<'a>(&self, lookup: &dyn Fn(&str) -> Option<&'a str>) -> bool {
        matches!(eval::evaluate(&self.root, lookup), Ok(Value::Bool(true)))
    }

    /// Matches against a stored properties string (`k\u{1}v\u{2}...`).
    pub fn matches_properties(&self, properties: &str) -> bool {
        self.matches(&|name| rmq_codec::message::properties::get(properties, name))
    }
}
