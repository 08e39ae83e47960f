//! `whiteRemoteAddress` / `globalWhiteRemoteAddresses` patterns, with the forms Java's
//! `RemoteAddressStrategyFactory` accepts:
//!
//! | form                                | meaning                                             |
//! |-------------------------------------|-----------------------------------------------------|
//! | empty                               | nobody                                              |
//! | `*`, `*.*.*.*`, `*:*:*:*:*:*:*:*`   | everybody                                           |
//! | `192.168.0.1`, `::1`                | that address                                        |
//! | `192.168.0.1,192.168.0.2`           | any of the listed addresses                         |
//! | `192.168.0.{1,2}`, `1:2::{3,4}`     | the prefix followed by any of the listed endings    |
//! | `192.168.*.*`, `192.168.1-5.*`      | first `*`/range part bounded, later parts anything  |
//! | `1:2:3:4:5:6:7:*`, `1:2:3:4:5:6:1-ff:*` | the same for IPv6 groups (hex)                  |
//!
//! Parts after the first wildcard or range are not looked at, as in Java (`192.168.*.5` is `192.168.*.*`).
//! Patterns are parsed once, when the ACL file is loaded, and matched against the parsed peer address,
//! rather than comparing expanded strings on every request as Java does.

use std::collections::HashSet;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
#[error("Netaddress examine Exception netaddress is {0}")]
pub struct BadPattern(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    Nobody,
    Anyone,
    Set(HashSet<IpAddr>),
    /// The first `prefix.len()` octets/groups equal `prefix`, the next one is in `start..=end`.
    V4Range {
        prefix: Vec<u16>,
        start: u16,
        end: u16,
    },
    V6Range {
        prefix: Vec<u16>,
        start: u16,
        end: u16,
    },
}

impl AddressPattern {
    pub fn parse(pattern: &str) -> Result<Self, BadPattern> {
        let p = pattern.trim();
        let bad = || BadPattern(pattern.to_string());
        if p.is_empty() {
            return Ok(AddressPattern::Nobody);
        }
        if matches!(p, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Anyone);
        }
        if p.ends_with('}') {
            let open = p.find('{').ok_or_else(bad)?;
            let head = &p[..open];
            if !(head.ends_with('.') || head.ends_with(':')) {
                return Err(bad());
            }
            let ips = p[open + 1..p.len() - 1]
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|tail| parse_ip(&format!("{head}{}", tail.trim())).ok_or_else(bad))
                .collect::<Result<HashSet<_>, _>>()?;
            return Ok(AddressPattern::Set(ips));
        }
        if p.contains(',') {
            let ips = p
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| parse_ip(s.trim()).ok_or_else(bad))
                .collect::<Result<HashSet<_>, _>>()?;
            return Ok(AddressPattern::Set(ips));
        }
        if p.contains('*') || p.contains('-') {
            return if p.contains(':') {
                parse_v6_range(p).ok_or_else(bad)
            } else {
                parse_v4_range(p).ok_or_else(bad)
            };
        }
        let ip = parse_ip(p).ok_or_else(bad)?;
        Ok(AddressPattern::Set(HashSet::from([ip])))
    }

    pub fn matches(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        match self {
            AddressPattern::Nobody => false,
            AddressPattern::Anyone => true,
            AddressPattern::Set(ips) => ips.contains(&peer),
            AddressPattern::V4Range { prefix, start, end } => match peer {
                IpAddr::V4(v4) => {
                    let parts: Vec<u16> = v4.octets().iter().map(|&o| o as u16).collect();
                    in_range(&parts, prefix, *start, *end)
                }
                IpAddr::V6(_) => false,
            },
            AddressPattern::V6Range { prefix, start, end } => match peer {
                IpAddr::V6(v6) => in_range(&v6.segments(), prefix, *start, *end),
                IpAddr::V4(_) => false,
            },
        }
    }
}

fn in_range(parts: &[u16], prefix: &[u16], start: u16, end: u16) -> bool {
    parts.starts_with(prefix)
        && parts
            .get(prefix.len())
            .is_some_and(|p| (start..=end).contains(p))
}

/// An IPv4 peer reached over a dual-stack socket shows up as `::ffff:a.b.c.d`; patterns name it as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>().ok().map(canonical)
}

/// A `*` or `a-b` part: `Some((start, end))`; Java treats a range ending at 0 as no range at all.
fn range_part(part: &str, radix: u32, max: u32) -> Option<Option<(u16, u16)>> {
    let part = part.trim();
    if part == "*" {
        return Some(Some((0, max as u16)));
    }
    let Some((a, b)) = part.split_once('-') else {
        return Some(None);
    };
    let start = u32::from_str_radix(a.trim(), radix).ok()?;
    let end = u32::from_str_radix(b.trim(), radix).ok()?;
    if start > end || end > max {
        return None;
    }
    Some((end > 0).then_some((start as u16, end as u16)))
}

fn parse_v4_range(p: &str) -> Option<AddressPattern> {
    let parts: Vec<&str> = p.split('.').collect();
    if parts.len() != 4 {
        return None;
    }
    for index in 1..4 {
        if let Some((start, end)) = range_part(parts[index], 10, 255)? {
            let prefix = parts[..index]
                .iter()
                .map(|s| s.trim().parse::<u8>().ok().map(u16::from))
                .collect::<Option<Vec<u16>>>()?;
            return Some(AddressPattern::V4Range { prefix, start, end });
        }
    }
    None
}

/// `1:2::7-9` or `1:2::7-9:*` (a range followed by `*`) or `1:2:3:4:5:6:7:*`.
fn parse_v6_range(p: &str) -> Option<AddressPattern> {
    let (head, range, groups) = match p.strip_suffix(":*") {
        Some(rest) if rest.contains('-') => {
            let (head, range) = rest.rsplit_once(':')?;
            (head, range, 6)
        }
        _ => {
            let (head, range) = p.rsplit_once(':')?;
            (head, range, 7)
        }
    };
    let (start, end) = range_part(range, 16, 0xffff)??;
    let prefix = expand_v6(head, groups)?;
    Some(AddressPattern::V6Range { prefix, start, end })
}

/// Expands a partial IPv6 address (`1:2::`, `2001:db8`) to its groups; `::` fills up to `groups`.
fn expand_v6(head: &str, groups: usize) -> Option<Vec<u16>> {
    let hex = |s: &str| -> Option<Vec<u16>> {
        if s.is_empty() {
            return Some(Vec::new());
        }
        s.split(':')
            .map(|g| {
                if g.is_empty() {
                    Some(0)
                } else {
                    u16::from_str_radix(g, 16).ok()
                }
            })
            .collect()
    };
    match head.split_once("::") {
        Some((front, back)) => {
            let front = hex(front)?;
            let back = hex(back)?;
            let zeros = groups.checked_sub(front.len() + back.len())?;
            Some([front, vec![0; zeros], back].concat())
        }
        None => {
            let all = hex(head)?;
            (all.len() <= groups).then_some(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, ip: &str) -> bool {
        AddressPattern::parse(pattern)
            .unwrap()
            .matches(ip.parse().unwrap())
    }

    #[test]
    fn blank_and_star() {
        assert!(!m("", "127.0.0.1"));
        assert!(!m("  ", "::1"));
        assert!(m("*", "10.1.2.3"));
        assert!(m("*.*.*.*", "10.1.2.3"));
        assert!(m("*:*:*:*:*:*:*:*", "::1"));
    }

    #[test]
    fn single_and_lists() {
        assert!(m("192.168.0.1", "192.168.0.1"));
        assert!(!m("192.168.0.1", "192.168.0.2"));
        assert!(m("192.168.0.1,10.0.0.1", "10.0.0.1"));
        assert!(m("192.168.1.{1,2,3}", "192.168.1.3"));
        assert!(!m("192.168.1.{1,2,3}", "192.168.1.4"));
        assert!(m(
            "1050:0000:0000:0000:0005:0600:300c:326b",
            "1050::5:600:300c:326b"
        ));
        assert!(m(
            "1050::5:600:300c:{326a,326b}",
            "1050:0:0:0:5:600:300c:326b"
        ));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"), "IPv4-mapped peers");
    }

    #[test]
    fn v4_ranges() {
        assert!(m("192.168.0.*", "192.168.0.200"));
        assert!(!m("192.168.0.*", "192.168.1.1"));
        assert!(m("192.168.*.*", "192.168.77.1"));
        assert!(m("192.168.1-5.*", "192.168.5.9"));
        assert!(!m("192.168.1-5.*", "192.168.6.9"));
        assert!(m("10.10.103.80-90", "10.10.103.85"));
        assert!(!m("10.10.103.80-90", "10.10.103.91"));
        assert!(!m("10.10.103.*", "::1"));
    }

    #[test]
    fn v6_ranges() {
        assert!(m("1:2:3:4:5:6:7:*", "1:2:3:4:5:6:7:ffff"));
        assert!(!m("1:2:3:4:5:6:7:*", "1:2:3:4:5:6:8:1"));
        assert!(m("1:2:3:4:5:6:7:1-ff", "1:2:3:4:5:6:7:a0"));
        assert!(!m("1:2:3:4:5:6:7:1-ff", "1:2:3:4:5:6:7:100"));
        assert!(m("1:2:0:0:0:0:a-f:*", "1:2::c:1234"));
        assert!(!m("1:2:0:0:0:0:a-f:*", "1:2::10:1"));
        // Java drops the "::" right before a range (it cuts the pattern at the colon): the range then
        // applies to the group after "1:2:0". Same here, so a file means what it meant to Java.
        assert!(m("1:2::a-f:*", "1:2:0:c::1"));
    }

    #[test]
    fn rejects_malformed_patterns() {
        for bad in [
            "192.168.0",
            "300.1.1.1",
            "1.2.3.4,x",
            "192.168.0.{a,b}",
            "192.168.9-3.*",
            "192.168.1-300.*",
            "host.example.com",
            "*.1.2.3",
        ] {
            assert!(AddressPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
