//! The plain ACL file (Java's `plain_acl.yml`): global white list and accounts, parsed into [`Rules`].
//!
//! ```yaml
//! globalWhiteRemoteAddresses: [10.10.103.*]
//! accounts:
//!   - accessKey: RocketMQ
//!     secretKey: 12345678
//!     whiteRemoteAddress:
//!     admin: false
//!     defaultTopicPerm: DENY
//!     defaultGroupPerm: SUB
//!     topicPerms: [topicA=DENY, topicB=PUB|SUB]
//!     groupPerms: [groupA=DENY, groupB=PUB|SUB]
//! ```
//!
//! Java reads the file with snakeyaml into fastjson objects, so a scalar such as `secretKey: 12345678`
//! (a YAML integer) is taken as the string "12345678"; scalars are read the same way here. A file Java
//! would refuse (keys of 6 characters or fewer, a `res` without `=PERM`, a bad address pattern) is refused
//! as a whole, naming the problem: at start-up rmqd does not start, on reload the previous rules stay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::address::{AddressPattern, BadPattern};
use super::permission::{group_resource, parse_perm};

#[derive(Debug, thiserror::Error)]
pub enum AclConfigError {
    #[error("cannot read ACL file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ACL file {path} is not valid YAML: {source}")]
    Yaml {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("ACL file {path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

/// One `accounts` entry. `Debug` is implemented by hand so a secret never reaches a log line.
#[derive(Clone)]
pub struct Account {
    pub access_key: String,
    pub secret_key: String,
    pub white_address: AddressPattern,
    pub admin: bool,
    pub default_topic_perm: u8,
    pub default_group_perm: u8,
    /// Topics by name and groups by retry topic (`%RETRY%<group>`), as Java keys them.
    pub resource_perms: HashMap<String, u8>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("access_key", &self.access_key)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

/// Everything the validator needs, swapped as a whole on reload.
#[derive(Debug, Default)]
pub struct Rules {
    pub global_white: Vec<AddressPattern>,
    pub accounts: HashMap<String, Account>,
}

/// Java `AclConstants.ACCESS_KEY_MIN_LENGTH` / `SECRET_KEY_MIN_LENGTH`: keys must be longer than this.
const KEY_MIN_LENGTH: usize = 6;

impl Rules {
    pub fn load(path: &Path) -> Result<Rules, AclConfigError> {
        load_document(path).map(|(_, rules)| rules)
    }

    pub fn parse(text: &str) -> Result<Rules, ParseError> {
        let doc: Value = serde_yaml::from_str(text).map_err(ParseError::Yaml)?;
        Rules::from_doc(&doc)
    }

    /// The rules of a parsed file.
    pub fn from_doc(doc: &Value) -> Result<Rules, ParseError> {
        let mut rules = Rules::default();
        if doc.is_null() {
            return Ok(rules);
        }
        for pattern in string_list(
            doc.get("globalWhiteRemoteAddresses"),
            "globalWhiteRemoteAddresses",
        )? {
            rules
                .global_white
                .push(AddressPattern::parse(&pattern).map_err(bad_pattern)?);
        }
        let accounts = match doc.get("accounts") {
            None | Some(Value::Null) => return Ok(rules),
            Some(Value::Sequence(seq)) => seq,
            Some(_) => return Err(ParseError::Invalid("accounts must be a list".into())),
        };
        for entry in accounts {
            let account = parse_account(entry)?;
            // Java keeps the first definition of an access key and ignores later ones.
            if rules.accounts.contains_key(&account.access_key) {
                tracing::warn!(
                    access_key = account.access_key,
                    "access key defined twice; the first one wins"
                );
                continue;
            }
            rules.accounts.insert(account.access_key.clone(), account);
        }
        Ok(rules)
    }
}

/// Reads and parses the file: the document (for the ACL admin requests to edit) and its rules.
pub fn load_document(path: &Path) -> Result<(Value, Rules), AclConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| AclConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let invalid = |e| match e {
        ParseError::Yaml(source) => AclConfigError::Yaml {
            path: path.to_path_buf(),
            source,
        },
        ParseError::Invalid(reason) => AclConfigError::Invalid {
            path: path.to_path_buf(),
            reason,
        },
    };
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| invalid(ParseError::Yaml(e)))?;
    let rules = Rules::from_doc(&doc).map_err(invalid)?;
    Ok((doc, rules))
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Yaml(serde_yaml::Error),
    #[error("{0}")]
    Invalid(String),
}

fn bad_pattern(e: BadPattern) -> ParseError {
    ParseError::Invalid(e.to_string())
}

fn parse_account(entry: &Value) -> Result<Account, ParseError> {
    let field = |name: &str| scalar(entry.get(name));
    let access_key = field("accessKey").unwrap_or_default();
    let secret_key = field("secretKey").unwrap_or_default();
    if access_key.chars().count() <= KEY_MIN_LENGTH || secret_key.chars().count() <= KEY_MIN_LENGTH
    {
        // Java's message prints the secret too; this one names the account only.
        return Err(ParseError::Invalid(format!(
            "the accessKey={access_key:?} and its secretKey cannot be null and must be longer than {KEY_MIN_LENGTH} characters"
        )));
    }
    let white = field("whiteRemoteAddress").unwrap_or_default();
    let mut resource_perms = HashMap::new();
    for (key, is_topic) in [("groupPerms", false), ("topicPerms", true)] {
        for item in string_list(entry.get(key), key)? {
            let kind = if is_topic { "topic" } else { "group" };
            // Java splits with StringUtils.split, which drops empty pieces: "a==PUB" is a, PUB.
            let pieces: Vec<&str> = item.split('=').filter(|s| !s.is_empty()).collect();
            let [name, perm] = pieces[..] else {
                return Err(ParseError::Invalid(format!(
                    "Parse resource permission failed for {kind}:{item}"
                )));
            };
            let resource = if is_topic {
                name.trim().to_string()
            } else {
                group_resource(name.trim())
            };
            resource_perms.insert(resource, parse_perm(Some(perm)));
        }
    }
    Ok(Account {
        white_address: AddressPattern::parse(&white).map_err(bad_pattern)?,
        admin: field("admin").is_some_and(|a| a.trim().eq_ignore_ascii_case("true")),
        default_topic_perm: parse_perm(field("defaultTopicPerm").as_deref()),
        default_group_perm: parse_perm(field("defaultGroupPerm").as_deref()),
        resource_perms,
        access_key,
        secret_key,
    })
}

/// A YAML scalar as the string fastjson would give (`12345678` → "12345678"); null and absent are None.
pub(super) fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(value: Option<&Value>, key: &str) -> Result<Vec<String>, ParseError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(seq)) => Ok(seq.iter().filter_map(|v| scalar(Some(v))).collect()),
        Some(_) => Err(ParseError::Invalid(format!("{key} must be a list"))),
    }
}

/// What the reload loop compares: a change of modification time or length means "read it again".
pub fn file_stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::permission::{DENY, PUB, SUB};

    const JAVA_EXAMPLE: &str = include_str!("../../config/plain_acl.yml");

    #[test]
    fn parses_the_distribution_example() {
        let rules = Rules::parse(JAVA_EXAMPLE).unwrap();
        assert!(!rules.global_white.is_empty());
        let normal = &rules.accounts["RocketMQ"];
        assert_eq!(
            normal.secret_key, "12345678",
            "an integer scalar is a string"
        );
        assert!(!normal.admin);
        assert_eq!(normal.default_topic_perm, DENY);
        assert_eq!(normal.default_group_perm, SUB);
        assert_eq!(normal.resource_perms["topicB"], PUB | SUB);
        assert_eq!(normal.resource_perms["%RETRY%groupA"], DENY);
        assert!(rules.accounts["rocketmq2"].admin);
    }

    #[test]
    fn refuses_what_java_refuses() {
        let short = "accounts:\n  - accessKey: short\n    secretKey: 12345678\n";
        assert!(Rules::parse(short).is_err());
        let bad_res = "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    topicPerms: [topicA]\n";
        assert!(Rules::parse(bad_res).is_err());
        let bad_addr = "globalWhiteRemoteAddresses: [10.10.300.*]\n";
        assert!(Rules::parse(bad_addr).is_err());
        assert!(Rules::parse("accounts: {}").is_err());
        assert!(Rules::parse(":\n  - [").is_err());
    }

    #[test]
    fn first_definition_of_a_key_wins_and_debug_hides_secrets() {
        let text = "accounts:\n  - accessKey: RocketMQ\n    secretKey: first-secret\n  - accessKey: RocketMQ\n    secretKey: second-secret\n";
        let rules = Rules::parse(text).unwrap();
        assert_eq!(rules.accounts["RocketMQ"].secret_key, "first-secret");
        assert!(!format!("{rules:?}").contains("first-secret"));
    }

    #[test]
    fn empty_file_has_no_accounts() {
        let rules = Rules::parse("").unwrap();
        assert!(rules.accounts.is_empty() && rules.global_white.is_empty());
    }
}
