//! MQVersion ordinals that change behaviour on the receiving side.

/// `V3_0_7_SNAPSHOT`: oldest client that is sent RESET_CONSUMER_CLIENT_OFFSET.
pub const V3_0_7_SNAPSHOT: i32 = 28;
/// `V3_0_11`: REGISTER_BROKER bodies from this version on are `RegisterBrokerBody`.
pub const V3_0_11: i32 = 37;
/// `V3_1_8_SNAPSHOT`: oldest client that gets forwarded admin requests (307, 309).
pub const V3_1_8_SNAPSHOT: i32 = 62;
/// `V3_4_9`: the `maxReconsumeTimes` send header is honoured from this version on.
pub const V3_4_9: i32 = 121;
/// `V4_9_3`: clients up to this version sign ACL requests without `_UNIQUE_KEY_QUERY`.
pub const V4_9_3: i32 = 399;
/// `V4_9_4`: route data goes out as standard JSON from this version on.
pub const V4_9_4: i32 = 401;
/// `V5_0_0`: compressed REGISTER_BROKER bodies carry topic-queue mappings.
pub const V5_0_0: i32 = 413;
/// `V5_3_1`: only clients newer than this understand GO_AWAY.
pub const V5_3_1: i32 = 475;
/// `V5_3_3`: what rmqd announces unless configured otherwise.
pub const V5_3_3: i32 = 479;

/// `V4_0_0_SNAPSHOT`: from here to `V5_9_9` the `MQVersion.Version` enum is regular, a `_SNAPSHOT` and a
/// release per patch level, ten patch levels per minor and ten minors per major (before it, 3.x has
/// alpha/beta entries). `V5_9_9` (611) is followed only by `HIGHER_VERSION`.
const V4_0_0_SNAPSHOT: i32 = 212;
const V5_9_9: i32 = 611;

/// The ordinal of a release or snapshot from 4.0.0 to 5.9.9, written as Java's enum name (`V4_9_8`,
/// `V5_3_3_SNAPSHOT`), as a dotted version (`4.9.8`) or as the ordinal itself (`409`, the form of Java's
/// `rocketmq.remoting.version` property). None for anything else.
pub fn parse(text: &str) -> Option<i32> {
    let text = text.trim();
    if let Ok(ordinal) = text.parse::<i32>() {
        return (V4_0_0_SNAPSHOT..=V5_9_9)
            .contains(&ordinal)
            .then_some(ordinal);
    }
    let (digits, snapshot) = match text.strip_prefix('V') {
        Some(name) => match name.strip_suffix("_SNAPSHOT") {
            Some(release) => (release.split('_').collect::<Vec<_>>(), true),
            None => (name.split('_').collect(), false),
        },
        None => (text.split('.').collect(), false),
    };
    let [major, minor, patch] = digits[..] else {
        return None;
    };
    let digit = |part: &str| match part.as_bytes() {
        [d @ b'0'..=b'9'] => Some(i32::from(d - b'0')),
        _ => None,
    };
    let (major, minor, patch) = (digit(major)?, digit(minor)?, digit(patch)?);
    if !(4..=5).contains(&major) {
        return None;
    }
    let snapshot_ordinal = V4_0_0_SNAPSHOT + (major - 4) * 200 + minor * 20 + patch * 2;
    Some(snapshot_ordinal + i32::from(!snapshot))
}

/// `MQVersion.getVersionDesc` for the ordinals [`parse`] accepts: `409` is `V4_9_8`.
pub fn desc(ordinal: i32) -> Option<String> {
    if !(V4_0_0_SNAPSHOT..=V5_9_9).contains(&ordinal) {
        return None;
    }
    let offset = ordinal - V4_0_0_SNAPSHOT;
    let (major, minor, patch) = (4 + offset / 200, offset / 20 % 10, offset / 2 % 10);
    let snapshot = if offset % 2 == 0 { "_SNAPSHOT" } else { "" };
    Some(format!("V{major}_{minor}_{patch}{snapshot}"))
}
