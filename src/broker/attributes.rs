//! 5.x attributes of topics and subscription groups: the attribute sets 5.3.3 accepts
//! (`TopicAttributes.ALL`, `SubscriptionGroupAttributes.ALL`), the `+key=value,-key` string mqadmin sends
//! in UPDATE_AND_CREATE_TOPIC's `attributes` header (`AttributeParser.parseToMap`) and the rules that turn a
//! request's `+key`/`-key` map into the stored map (`AttributeUtil.alterCurrentAttributes`).
//!
//! Every error is the message of the RuntimeException Java throws, which its processors answer with
//! SYSTEM_ERROR and that message as the remark.

use std::collections::{BTreeMap, BTreeSet};

/// What values an attribute takes (Java's `EnumAttribute`, `LongRangeAttribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeValues {
    /// One of `universe`. `shown` is the set as Java's `HashSet.toString()` prints it in the error
    /// message, in the order a 5.3.3 broker answers (TopicAttributesTest checks it against Java).
    OneOf {
        universe: &'static [&'static str],
        shown: &'static str,
    },
    /// A decimal `long` in `min..=max`.
    LongRange { min: i64, max: i64 },
}

/// One supported attribute (Java's `Attribute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub name: &'static str,
    /// Whether an existing topic may change or drop it (`isChangeable`); every attribute may be set at
    /// creation.
    pub changeable: bool,
    pub values: AttributeValues,
}

/// `message.type`: changeable; `TopicMessageType`'s names.
pub const MESSAGE_TYPE: Attribute = Attribute {
    name: "message.type",
    changeable: true,
    values: AttributeValues::OneOf {
        universe: &[
            "UNSPECIFIED",
            "NORMAL",
            "FIFO",
            "DELAY",
            "TRANSACTION",
            "MIXED",
        ],
        shown: "[UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]",
    },
};

/// `TopicAttributes.ALL` of 5.3.3. rmqd stores `queue.type`, `cleanup.policy` and `reserve.time` as given
/// and acts on none of them (one consume-queue format, retention by time only, no tiered store).
pub const TOPIC_ATTRIBUTES: [Attribute; 4] = [
    Attribute {
        name: "queue.type",
        changeable: false,
        values: AttributeValues::OneOf {
            universe: &["BatchCQ", "SimpleCQ"],
            shown: "[SimpleCQ, BatchCQ]",
        },
    },
    Attribute {
        name: "cleanup.policy",
        changeable: false,
        values: AttributeValues::OneOf {
            universe: &["DELETE", "COMPACTION"],
            shown: "[DELETE, COMPACTION]",
        },
    },
    MESSAGE_TYPE,
    Attribute {
        name: "reserve.time",
        changeable: true,
        values: AttributeValues::LongRange {
            min: -1,
            max: i64::MAX,
        },
    },
];

/// `SubscriptionGroupAttributes.ALL` of 5.3.3: none.
pub const GROUP_ATTRIBUTES: [Attribute; 0] = [];

impl Attribute {
    /// Java's `verify(value)`.
    fn verify(&self, value: &str) -> Result<(), String> {
        match self.values {
            AttributeValues::OneOf { universe, shown } => {
                if universe.contains(&value) {
                    Ok(())
                } else {
                    Err(format!("value is not in set: {shown}"))
                }
            }
            AttributeValues::LongRange { min, max } => {
                // Long.parseLong's NumberFormatException message.
                let n: i64 = parse_java_long(value)
                    .ok_or_else(|| format!("For input string: \"{value}\""))?;
                if n < min || n > max {
                    return Err(format!("value is not in range({min}, {max})"));
                }
                Ok(())
            }
        }
    }
}

/// `Long.parseLong`: an optional sign, then ASCII digits (Rust's parser also takes a leading `+`, as Java
/// does since 7).
fn parse_java_long(value: &str) -> Option<i64> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// `AttributeParser.parseToMap`: `+k1=v1,+k2=v2,-k3` into `{"+k1":"v1","+k2":"v2","-k3":""}`. An
/// item with `=` needs a `+` somewhere in its key, one without needs a `-`; Java's `String.split` drops
/// trailing empty items, and an item `+k=` has no value (Java fails indexing the split).
pub fn parse_modification(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    if text.is_empty() {
        return Ok(map);
    }
    for item in java_split(text, ',') {
        let (key, value) = if item.contains('=') {
            let parts = java_split(item, '=');
            // `splits[0]`, `splits[1]`: the ArrayIndexOutOfBoundsException of Java 17.
            let missing =
                |index: usize| format!("Index {index} out of bounds for length {}", parts.len());
            let key = parts.first().ok_or_else(|| missing(0))?;
            let value = parts.get(1).ok_or_else(|| missing(1))?;
            if !key.contains('+') {
                return Err(format!("add/alter attribute format is wrong: {key}"));
            }
            (*key, *value)
        } else {
            if !item.contains('-') {
                return Err(format!("delete attribute format is wrong: {item}"));
            }
            (item, "")
        };
        if map.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("key duplication: {key}"));
        }
    }
    Ok(map)
}

/// Java's `String.split` with a one-character literal: trailing empty strings removed (so `""` and `"="`
/// give nothing).
fn java_split(text: &str, separator: char) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(separator).collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

/// `AttributeUtil.alterCurrentAttributes` over `supported`. `current` is None when the topic or group is
/// being created: then every key must be `+key`; on an update `+key` adds or sets, `-key` removes an
/// existing key. Keys are checked first (format, duplicates, operation), then the values of what is
/// created, added, updated and removed, in that order, as Java does.
pub fn alter(
    supported: &[Attribute],
    current: Option<&BTreeMap<String, String>>,
    requested: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, String> {
    let mut init = Vec::new();
    let mut add = Vec::new();
    let mut update = Vec::new();
    let mut delete = Vec::new();
    let mut seen = BTreeSet::new();
    for (key, value) in requested {
        let mut chars = key.chars();
        let op = chars.next();
        let name = chars.as_str();
        if op.is_none() {
            // "".substring(1) in Java.
            return Err("begin 1, end 0, length 0".into());
        }
        if name.is_empty() || name.contains(['+', '-']) {
            return Err("kv string format wrong.".into());
        }
        if !seen.insert(name) {
            return Err(format!("alter duplication key. key: {name}"));
        }
        let entry = (name, value.as_str());
        match (current, op) {
            (None, Some('+')) => init.push(entry),
            (None, _) => {
                return Err(format!(
                    "only add attribute is supported while creating topic. key: {name}"
                ))
            }
            (Some(now), Some('+')) if now.contains_key(name) => update.push(entry),
            (Some(_), Some('+')) => add.push(entry),
            (Some(now), Some('-')) if !now.contains_key(name) => {
                return Err(format!("attempt to delete a nonexistent key: {name}"))
            }
            (Some(_), Some('-')) => delete.push(entry),
            (Some(_), _) => return Err(format!("wrong format key: {name}")),
        }
    }
    check_alter(supported, &init, true, false)?;
    check_alter(supported, &add, false, false)?;
    check_alter(supported, &update, false, false)?;
    check_alter(supported, &delete, false, true)?;

    let mut result = current.cloned().unwrap_or_default();
    for (name, value) in init.into_iter().chain(add).chain(update) {
        result.insert(name.to_owned(), value.to_owned());
    }
    for (name, _) in delete {
        result.remove(name);
    }
    Ok(result)
}

/// Java's `validateAlter`.
fn check_alter(
    supported: &[Attribute],
    alter: &[(&str, &str)],
    creating: bool,
    deleting: bool,
) -> Result<(), String> {
    for &(name, value) in alter {
        let attribute = supported
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| format!("unsupported key: {name}"))?;
        if !creating && !attribute.changeable {
            return Err(format!(
                "attempt to update an unchangeable attribute. key: {name}"
            ));
        }
        if !deleting {
            attribute.verify(value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_header_string_parses_as_attribute_parser_does() {
        assert_eq!(parse_modification(""), Ok(BTreeMap::new()));
        assert_eq!(
            parse_modification("+message.type=FIFO,-queue.type"),
            Ok(map(&[("+message.type", "FIFO"), ("-queue.type", "")]))
        );
        // Trailing empty items vanish; extra `=` parts are ignored.
        assert_eq!(parse_modification("+a=1=2,,"), Ok(map(&[("+a", "1")])));
        assert_eq!(
            parse_modification("a=1"),
            Err("add/alter attribute format is wrong: a".into())
        );
        assert_eq!(
            parse_modification("+a=1,b"),
            Err("delete attribute format is wrong: b".into())
        );
        assert_eq!(
            parse_modification(",+a=1"),
            Err("delete attribute format is wrong: ".into())
        );
        assert_eq!(
            parse_modification("+a="),
            Err("Index 1 out of bounds for length 1".into())
        );
        assert_eq!(
            parse_modification("="),
            Err("Index 0 out of bounds for length 0".into())
        );
        assert_eq!(
            parse_modification("+a=1,+a=2"),
            Err("key duplication: +a".into())
        );
    }

    #[test]
    fn creating_takes_only_additions_of_supported_valid_values() {
        let all = &TOPIC_ATTRIBUTES;
        assert_eq!(
            alter(
                all,
                None,
                &map(&[("+message.type", "FIFO"), ("+queue.type", "BatchCQ")])
            ),
            Ok(map(&[("message.type", "FIFO"), ("queue.type", "BatchCQ")]))
        );
        assert_eq!(
            alter(all, None, &map(&[("-message.type", "")])),
            Err("only add attribute is supported while creating topic. key: message.type".into())
        );
        assert_eq!(
            alter(all, None, &map(&[("+message.type", "fifo")])),
            Err(
                "value is not in set: [UNSPECIFIED, TRANSACTION, FIFO, MIXED, DELAY, NORMAL]"
                    .into()
            )
        );
        assert_eq!(
            alter(all, None, &map(&[("+queue.type", "X")])),
            Err("value is not in set: [SimpleCQ, BatchCQ]".into())
        );
        assert_eq!(
            alter(all, None, &map(&[("+cleanup.policy", "KEEP")])),
            Err("value is not in set: [DELETE, COMPACTION]".into())
        );
        assert_eq!(
            alter(all, None, &map(&[("+reserve.time", "-2")])),
            Err("value is not in range(-1, 9223372036854775807)".into())
        );
        assert_eq!(
            alter(all, None, &map(&[("+reserve.time", "1h")])),
            Err("For input string: \"1h\"".into())
        );
        assert_eq!(
            alter(all, None, &map(&[("+color", "red")])),
            Err("unsupported key: color".into())
        );
        assert_eq!(
            alter(
                all,
                None,
                &map(&[("+message.type", "FIFO"), ("-message.type", "")])
            ),
            Err("alter duplication key. key: message.type".into())
        );
    }

    #[test]
    fn updating_adds_sets_and_removes_changeable_attributes_only() {
        let all = &TOPIC_ATTRIBUTES;
        let now = map(&[("message.type", "FIFO"), ("queue.type", "SimpleCQ")]);
        assert_eq!(
            alter(all, Some(&now), &map(&[("+message.type", "NORMAL")])),
            Ok(map(&[
                ("message.type", "NORMAL"),
                ("queue.type", "SimpleCQ")
            ]))
        );
        assert_eq!(
            alter(all, Some(&now), &map(&[("-message.type", "")])),
            Ok(map(&[("queue.type", "SimpleCQ")]))
        );
        assert_eq!(alter(all, Some(&now), &BTreeMap::new()), Ok(now.clone()));
        for change in [("+queue.type", "BatchCQ"), ("-queue.type", "")] {
            assert_eq!(
                alter(all, Some(&now), &map(&[change])),
                Err("attempt to update an unchangeable attribute. key: queue.type".into()),
                "{change:?}"
            );
        }
        assert_eq!(
            alter(all, Some(&now), &map(&[("+cleanup.policy", "DELETE")])),
            Err("attempt to update an unchangeable attribute. key: cleanup.policy".into()),
            "adding an unchangeable attribute to an existing topic"
        );
        assert_eq!(
            alter(all, Some(&now), &map(&[("-reserve.time", "")])),
            Err("attempt to delete a nonexistent key: reserve.time".into())
        );
        // Java drops the first character whatever it is.
        assert_eq!(
            alter(all, Some(&now), &map(&[("message.type", "FIFO")])),
            Err("wrong format key: essage.type".into())
        );
        assert_eq!(
            alter(all, Some(&now), &map(&[("+message-type", "FIFO")])),
            Err("kv string format wrong.".into())
        );
        assert_eq!(
            alter(all, Some(&now), &map(&[("*message.type", "FIFO")])),
            Err("wrong format key: message.type".into())
        );
        assert_eq!(
            alter(all, Some(&now), &map(&[("", "x")])),
            Err("begin 1, end 0, length 0".into())
        );
    }
}
