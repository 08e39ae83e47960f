//! UNIQ_KEY for messages that arrive without one (raw protocol senders): 5.x brokers give every single
//! send a client-style unique id, laid out like `MessageClientIDSetter`'s so tools can read it:
//! IP (4 or 16 bytes) + process id (2) + an instance number (4) + milliseconds since the start of the
//! current month (4) + a counter (2), as upper-case hex.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

static COUNTER: AtomicU16 = AtomicU16::new(0);
static PREFIX: OnceLock<String> = OnceLock::new();

/// A new unique id for a message stored by the broker at `ip`, at `now_ms` (milliseconds since the epoch).
pub fn create(ip: IpAddr, now_ms: i64) -> String {
    let prefix = PREFIX.get_or_init(|| fixed_prefix(ip, std::process::id(), rand::random()));
    let mut id = String::with_capacity(prefix.len() + 12);
    id.push_str(prefix);
    let since_month = (now_ms - start_of_month_ms(now_ms)) as i32;
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    for b in since_month
        .to_be_bytes()
        .iter()
        .chain(counter.to_be_bytes().iter())
    {
        let _ = write!(id, "{b:02X}");
    }
    id
}

fn fixed_prefix(ip: IpAddr, pid: u32, instance: i32) -> String {
    let mut bytes = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    bytes.extend_from_slice(&(pid as u16).to_be_bytes());
    bytes.extend_from_slice(&instance.to_be_bytes());
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// Milliseconds since the epoch at 00:00 UTC on the first day of `now_ms`'s month.
fn start_of_month_ms(now_ms: i64) -> i64 {
    let days = now_ms.div_euclid(86_400_000);
    let (year, month, _) = civil_from_days(days);
    days_from_civil(year, month, 1) * 86_400_000
}

/// Gregorian (year, month 1..=12, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_start_is_found_across_leap_years() {
        // 2024-03-01T00:00:00Z and 2024-03-31T23:59:59.999Z
        assert_eq!(start_of_month_ms(1_709_251_200_000), 1_709_251_200_000);
        assert_eq!(start_of_month_ms(1_711_929_599_999), 1_709_251_200_000);
        // 2024-02-29T12:00:00Z -> 2024-02-01
        assert_eq!(start_of_month_ms(1_709_208_000_000), 1_706_745_600_000);
    }

    #[test]
    fn ids_are_unique_and_shaped_like_the_clients() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let a = create(ip, 1_709_251_200_123);
        let b = create(ip, 1_709_251_200_123);
        assert_ne!(a, b);
        assert_eq!(a.len(), 32, "IPv4 ids are 16 bytes of hex: {a}");
        assert_eq!(fixed_prefix(ip, 0x1_1234, 7), "0A010203123400000007");
        // 123 ms into the month, then the counter.
        assert_eq!(&a[20..28], "0000007B");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }
}
