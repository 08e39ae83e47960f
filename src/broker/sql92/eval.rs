//! Evaluation with Java's semantics (`ComparisonExpression`, `LogicExpression`, `UnaryExpression`), where
//! the parser always enables `convertStringExpressions`: a string compared with a number is parsed as that
//! number's type, and a parse failure is an error that fails the whole expression.

use std::cmp::Ordering;

use super::{CmpOp, Expr, TextOp, Value};

/// What Java throws during evaluation (a `RuntimeException`); the broker then does not deliver.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum EvalError {
    #[error("For input string: \"{0}\"")]
    NumberFormat(String),
    #[error("cannot compare {0} with {1}")]
    Incomparable(String, String),
}

type Evaluated = Result<Value, EvalError>;

pub(super) fn evaluate<'a>(expr: &Expr, lookup: &dyn Fn(&str) -> Option<&'a str>) -> Evaluated {
    let eval = |e: &Expr| evaluate(e, lookup);
    match expr {
        Expr::Const(v) => Ok(v.clone()),
        Expr::Prop(name) => Ok(lookup(name).map_or(Value::Null, |s| Value::Str(s.to_string()))),
        Expr::Neg(inner) => Ok(match eval(inner)? {
            Value::Int(i) => Value::Int(i.wrapping_neg()),
            Value::Long(l) => Value::Long(l.wrapping_neg()),
            Value::Double(d) => Value::Double(-d),
            _ => Value::Null,
        }),
        Expr::Not(inner) => Ok(match eval(inner)? {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        }),
        Expr::BoolCast(inner) => Ok(match eval(inner)? {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            _ => Value::Bool(false),
        }),
        Expr::And(l, r) => {
            let lv = eval(l)?;
            if lv == Value::Bool(false) {
                return Ok(lv);
            }
            let rv = eval(r)?;
            Ok(match (lv, rv) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            })
        }
        Expr::Or(l, r) => {
            let lv = eval(l)?;
            if lv == Value::Bool(true) {
                return Ok(lv);
            }
            let rv = eval(r)?;
            Ok(match (lv, rv) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            })
        }
        Expr::Cmp(CmpOp::Eq, l, r) => equal(eval(l)?, eval(r)?),
        Expr::Cmp(op, l, r) => order(*op, eval(l)?, eval(r)?),
        Expr::In {
            name,
            list,
            negated,
        } => Ok(match lookup(name) {
            None => Value::Null,
            Some(v) => Value::Bool(list.iter().any(|item| item == v) != *negated),
        }),
        Expr::Text {
            op,
            negated,
            expr,
            search,
        } => {
            let Value::Str(s) = eval(expr)? else {
                return Ok(Value::Bool(false));
            };
            if search.is_empty() {
                return Ok(Value::Bool(false));
            }
            let found = match op {
                TextOp::Contains => s.contains(search.as_str()),
                TextOp::StartsWith => s.starts_with(search.as_str()),
                TextOp::EndsWith => s.ends_with(search.as_str()),
            };
            Ok(Value::Bool(found != *negated))
        }
    }
}

/// `doCreateEqual`: NULL on the left only is NULL, on the right only FALSE, both TRUE (`IS NULL`).
fn equal(lv: Value, rv: Value) -> Evaluated {
    match (lv.is_null(), rv.is_null()) {
        (true, true) => return Ok(Value::Bool(true)),
        (true, false) => return Ok(Value::Null),
        (false, true) => return Ok(Value::Bool(false)),
        (false, false) => {}
    }
    if lv == rv {
        return Ok(Value::Bool(true));
    }
    Ok(Value::Bool(compare(&lv, &rv)? == 0))
}

/// `>`, `>=`, `<`, `<=`: NULL if either side is; two strings are compared as doubles.
fn order(op: CmpOp, lv: Value, rv: Value) -> Evaluated {
    if lv.is_null() || rv.is_null() {
        return Ok(Value::Null);
    }
    let answer = match (&lv, &rv) {
        (Value::Str(a), Value::Str(b)) => compare(
            &Value::Double(java_double(a)?),
            &Value::Double(java_double(b)?),
        )?,
        _ => compare(&lv, &rv)?,
    };
    Ok(Value::Bool(match op {
        CmpOp::Gt => answer > 0,
        CmpOp::Ge => answer >= 0,
        CmpOp::Lt => answer < 0,
        CmpOp::Le => answer <= 0,
        CmpOp::Eq => answer == 0,
    }))
}

/// `ComparisonExpression.__compare` with string conversion on: promotes the left or right operand to
/// the other's type, and answers -1 for pairs Java does not know how to convert.
pub(super) fn compare(lv: &Value, rv: &Value) -> Result<i32, EvalError> {
    use Value::*;
    let ord = match (lv, rv) {
        (Bool(a), Bool(b)) => a.cmp(b),
        (Int(a), Int(b)) => a.cmp(b),
        (Long(a), Long(b)) => a.cmp(b),
        (Double(a), Double(b)) => java_double_cmp(*a, *b),
        (Str(a), Str(b)) => java_string_cmp(a, b),
        (Int(a), Long(b)) => i64::from(*a).cmp(b),
        (Long(a), Int(b)) => a.cmp(&i64::from(*b)),
        (Long(a), Double(b)) => java_double_cmp(*a as f64, *b),
        (Double(a), Int(b)) => java_double_cmp(*a, f64::from(*b)),
        (Double(a), Long(b)) => java_double_cmp(*a, *b as f64),
        // Java turns the int into a Float and then compares a Float with a Double: ClassCastException.
        (Int(_), Double(_)) | (Bool(_), Str(_)) => {
            return Err(EvalError::Incomparable(lv.to_string(), rv.to_string()))
        }
        (Int(a), Str(b)) => a.cmp(&java_int(b)?),
        (Long(a), Str(b)) => a.cmp(&java_long(b)?),
        (Double(a), Str(b)) => java_double_cmp(*a, java_double(b)?),
        (Str(a), Bool(b)) => a.eq_ignore_ascii_case("true").cmp(b),
        (Str(a), Int(b)) => java_int(a)?.cmp(b),
        (Str(a), Long(b)) => java_long(a)?.cmp(b),
        (Str(a), Double(b)) => java_double_cmp(java_double(a)?, *b),
        _ => return Ok(-1),
    };
    Ok(ord as i32)
}

/// `String.compareTo`: UTF-16 code unit order.
fn java_string_cmp(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `Double.compareTo`: NaN equals itself and is above everything, -0.0 is below 0.0.
fn java_double_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.total_cmp(&b),
    }
}

fn java_int(s: &str) -> Result<i32, EvalError> {
    s.parse()
        .map_err(|_| EvalError::NumberFormat(s.to_string()))
}

fn java_long(s: &str) -> Result<i64, EvalError> {
    s.parse()
        .map_err(|_| EvalError::NumberFormat(s.to_string()))
}

/// `Double.valueOf`: surrounding whitespace is ignored and a trailing `d`/`f` type suffix allowed.
fn java_double(s: &str) -> Result<f64, EvalError> {
    let t = s.trim();
    let t = t
        .strip_suffix(['d', 'D', 'f', 'F'])
        .filter(|rest| !rest.is_empty())
        .unwrap_or(t);
    let lower = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    // Rust also reads "inf"; Java only "Infinity" and "NaN".
    if lower.starts_with("inf") && lower != "infinity" {
        return Err(EvalError::NumberFormat(s.to_string()));
    }
    t.parse()
        .map_err(|_| EvalError::NumberFormat(s.to_string()))
}
