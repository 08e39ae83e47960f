//! Permission bits of the plain ACL (`DENY`, `PUB`, `SUB`, `PUB|SUB`) and the request codes reserved to
//! admin accounts. The bit values are Java's `Permission` constants so that logs line up with Java's.

use rmq_codec::code::RequestCode;

pub const DENY: u8 = 1;
/// "Any of PUB or SUB": never produced by the config parser, kept because Java's check honours it.
pub const ANY: u8 = 1 << 1;
pub const PUB: u8 = 1 << 2;
pub const SUB: u8 = 1 << 3;

/// Group resources are stored under their retry topic (`%RETRY%<group>`), as Java does, so one map holds
/// both kinds and a resource's kind is told by that prefix.
pub const RETRY_PREFIX: &str = "%RETRY%";

/// Java `Permission.parsePermFromString`: anything unknown (or missing) is DENY.
pub fn parse_perm(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some("PUB") => PUB,
        Some("SUB") => SUB,
        Some("PUB|SUB" | "SUB|PUB") => PUB | SUB,
        _ => DENY,
    }
}

/// Java `Permission.checkPermission`: DENY wins over everything; ANY is satisfied by PUB or SUB.
pub fn allows(owned: u8, needed: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// Java `Permission.ADMIN_CODE`: topic and subscription-group administration and broker config updates.
pub fn needs_admin(code: i32) -> bool {
    matches!(
        RequestCode::from(code),
        RequestCode::UpdateAndCreateTopic
            | RequestCode::UpdateBrokerConfig
            | RequestCode::DeleteTopicInBroker
            | RequestCode::UpdateAndCreateSubscriptiongroup
            | RequestCode::DeleteSubscriptiongroup
    )
}

pub fn is_group_resource(resource: &str) -> bool {
    resource.starts_with(RETRY_PREFIX)
}

pub fn group_resource(group: &str) -> String {
    format!("{RETRY_PREFIX}{group}")
}

/// Java `PlainAccessResource.printStr`: `group:<name>` or `topic:<name>`.
pub fn describe(resource: &str) -> String {
    match resource.strip_prefix(RETRY_PREFIX) {
        Some(group) => format!("group:{group}"),
        None => format!("topic:{resource}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_java_perm_strings() {
        assert_eq!(parse_perm(Some("PUB")), PUB);
        assert_eq!(parse_perm(Some(" SUB ")), SUB);
        assert_eq!(parse_perm(Some("SUB|PUB")), PUB | SUB);
        assert_eq!(parse_perm(Some("PUB|SUB")), PUB | SUB);
        assert_eq!(parse_perm(Some("pub")), DENY, "case matters in Java");
        assert_eq!(parse_perm(None), DENY);
    }

    #[test]
    fn deny_wins_and_any_needs_one_of_pub_sub() {
        assert!(allows(PUB | SUB, SUB));
        assert!(!allows(PUB, SUB));
        assert!(!allows(DENY | PUB, PUB));
        assert!(allows(SUB, ANY));
        assert!(!allows(0, ANY));
    }

    #[test]
    fn admin_codes_are_javas() {
        for code in [17, 25, 215, 200, 207] {
            assert!(needs_admin(code), "{code}");
        }
        for code in [10, 11, 34, 310, 18] {
            assert!(!needs_admin(code), "{code}");
        }
    }

    #[test]
    fn describes_groups_by_their_name() {
        assert_eq!(describe(&group_resource("g1")), "group:g1");
        assert_eq!(describe("t1"), "topic:t1");
    }
}
