//! Offset message ids (`MessageDecoder.createMessageId` / `decodeMessageId`).
//!
//! `storeHost IP (4|16 bytes) + int32 port + int64 commitLogOffset`, rendered as uppercase hex: 32 characters for an
//! IPv4 host, 56 for IPv6. Clients decode it to find the broker and the commit-log offset, so it must be exact.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::CodecError;

/// The address bytes Java writes for a host. An IPv4-mapped IPv6 address is written as IPv4, because Java turns
/// such a peer into an `Inet4Address` (a dual-stack listener sees IPv4 clients that way).
pub(crate) fn java_ip(addr: &SocketAddr) -> IpAddr {
    match addr.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0xF)]));
    }
}

/// The offset message id of the record at `commit_log_offset` stored by `store_host`.
pub fn create_offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut out = String::with_capacity(56);
    match java_ip(&store_host) {
        IpAddr::V4(v4) => push_hex(&mut out, &v4.octets()),
        IpAddr::V6(v6) => push_hex(&mut out, &v6.octets()),
    }
    push_hex(&mut out, &i32::from(store_host.port()).to_be_bytes());
    push_hex(&mut out, &commit_log_offset.to_be_bytes());
    out
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes an offset message id into the store host and the commit-log offset.
/// Like Java, a 32-character id is IPv4 and anything else must be the 56-character IPv6 form.
pub fn decode_offset_msg_id(id: &str) -> Result<(SocketAddr, i64), CodecError> {
    let invalid = || CodecError::InvalidField {
        field: "msgId",
        value: id.to_owned(),
    };
    let ip_len = match id.len() {
        32 => 4,
        56 => 16,
        _ => return Err(invalid()),
    };
    let mut bytes = [0u8; 28];
    for (i, pair) in id.as_bytes().chunks_exact(2).enumerate() {
        let hi = hex_digit(pair[0]).ok_or_else(invalid)?;
        let lo = hex_digit(pair[1]).ok_or_else(invalid)?;
        bytes[i] = (hi << 4) | lo;
    }
    let ip = if ip_len == 4 {
        IpAddr::V4(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]))
    } else {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&bytes[..16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let port = i32::from_be_bytes([
        bytes[ip_len],
        bytes[ip_len + 1],
        bytes[ip_len + 2],
        bytes[ip_len + 3],
    ]);
    let port = u16::try_from(port).map_err(|_| invalid())?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&bytes[ip_len + 4..ip_len + 12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ipv4_id() {
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        assert_eq!(
            create_offset_msg_id(host, 0),
            "7F00000100002A9F0000000000000000"
        );
        assert_eq!(
            create_offset_msg_id("10.1.2.3:10911".parse().unwrap(), 0x1234_5678_9ABC),
            "0A01020300002A9F0000123456789ABC"
        );
    }

    #[test]
    fn ipv6_round_trip_and_length() {
        let host: SocketAddr = "[fe80::1:2]:10911".parse().unwrap();
        let id = create_offset_msg_id(host, 4096);
        assert_eq!(id.len(), 56);
        assert!(id.starts_with("FE800000000000000000000000010002"));
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, 4096));
    }

    #[test]
    fn mapped_ipv4_is_written_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:10911".parse().unwrap();
        assert_eq!(
            create_offset_msg_id(mapped, 0),
            "7F00000100002A9F0000000000000000"
        );
    }

    #[test]
    fn decode_accepts_lowercase_and_rejects_garbage() {
        let (host, off) = decode_offset_msg_id("7f00000100002a9f00000000000000ff").unwrap();
        assert_eq!(host, "127.0.0.1:10911".parse::<SocketAddr>().unwrap());
        assert_eq!(off, 255);
        assert!(decode_offset_msg_id("").is_err());
        assert!(decode_offset_msg_id("7F00000100002A9F000000000000000").is_err());
        assert!(decode_offset_msg_id("7F00000100002A9F000000000000000G").is_err());
        // Port 0x00012A9F does not fit in u16.
        assert!(decode_offset_msg_id("7F00000100012A9F0000000000000000").is_err());
        assert!(decode_offset_msg_id("é7F00000100002A9F00000000000000").is_err());
    }
}
