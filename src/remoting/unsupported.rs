//! REQUEST_CODE_NOT_SUPPORTED: the answer to a code no processor of the role handles, with Java's remark.
//!
//! Java logs every such request at error level (`NettyRemotingAbstract` and the name server's
//! `DefaultRequestProcessor`), so a client that keeps sending a code floods the log. Here the first request
//! of each code is logged at warn level with the client's address and later ones of that code are not; the
//! set of logged codes is bounded, and past the bound new codes are answered without a log line.

use std::collections::HashSet;
use std::net::SocketAddr;

use parking_lot::Mutex;
use rmq_codec::code::ResponseCode;

use crate::error::ServiceError;

/// Distinct codes logged per role. Codes are 32-bit numbers a client picks freely, so the set needs a bound.
const MAX_LOGGED_CODES: usize = 1_024;

/// The codes one role has already logged as unsupported.
#[derive(Default)]
pub struct UnsupportedCodes {
    logged: Mutex<HashSet<i32>>,
}

impl UnsupportedCodes {
    /// The answer to `code` from `peer`; logs it if it is the first request of that code.
    pub fn refuse(&self, code: i32, peer: SocketAddr) -> ServiceError {
        if self.first_of(code) == Some(true) {
            tracing::warn!(
                code,
                %peer,
                "request code not supported (later requests of this code are not logged)"
            );
        }
        ServiceError::reply(
            ResponseCode::RequestCodeNotSupported,
            format!(" request type {code} not supported"),
        )
    }

    /// Whether `code` is new (and now recorded); None when the set is full and `code` is not in it.
    fn first_of(&self, code: i32) -> Option<bool> {
        let mut logged = self.logged.lock();
        if logged.contains(&code) {
            return Some(false);
        }
        if logged.len() >= MAX_LOGGED_CODES {
            return None;
        }
        logged.insert(code);
        if logged.len() == MAX_LOGGED_CODES {
            tracing::warn!(
                codes = MAX_LOGGED_CODES,
                "unsupported request codes: no more new codes will be logged"
            );
        }
        Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 40_000))
    }

    #[test]
    fn answers_javas_code_and_remark_every_time() {
        let codes = UnsupportedCodes::default();
        for _ in 0..2 {
            let e = codes.refuse(9999, peer());
            assert_eq!(e.response_code(), ResponseCode::RequestCodeNotSupported);
            assert_eq!(e.to_string(), " request type 9999 not supported");
        }
    }

    #[test]
    fn each_code_is_new_once_and_the_set_is_bounded() {
        let codes = UnsupportedCodes::default();
        assert_eq!(codes.first_of(9999), Some(true));
        assert_eq!(codes.first_of(9999), Some(false));
        for code in 0..(MAX_LOGGED_CODES as i32 - 1) {
            assert_eq!(codes.first_of(code), Some(true), "{code}");
        }
        assert_eq!(codes.logged.lock().len(), MAX_LOGGED_CODES);
        assert_eq!(codes.first_of(-5), None, "past the bound");
        assert_eq!(codes.first_of(9999), Some(false));
        assert_eq!(codes.logged.lock().len(), MAX_LOGGED_CODES);
    }
}
