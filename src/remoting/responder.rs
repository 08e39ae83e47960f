//! Answers that come later: the one way a response leaves a processor after the processor returned.
//!
//! A processor returns [`Answer::Now`] with its response, or takes a [`Responder`] for the request and
//! returns [`Answer::Later`]. Four paths answer later: SYNC_FLUSH sends (when the flusher has the record on
//! disk), parked pulls and pops (when a message arrives or the wait ends), requests relayed to a client
//! (GET_CONSUMER_RUNNING_INFO, CONSUME_MESSAGE_DIRECTLY) and requests whose answer waits for the broker's
//! re-registration with the name servers.
//!
//! A responder holds only a weak handle on its connection and the connection's close token, so a parked
//! request never keeps a connection (its socket, writer task and connection permit) alive: when the
//! connection closes, everything waiting on [`Responder::closed`] ends at once and the answer, if it still
//! comes, is dropped. A oneway request (flag bit 1) never gets an answer, now or later.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use rmq_codec::code::{local_version, LanguageCode};
use rmq_codec::command::{RemotingCommand, SerializeType, RPC_TYPE_RESPONSE};
use tokio_util::sync::CancellationToken;

use super::connection::{Connection, ConnectionInner, Outbound};

/// What a request handler gives back for one request.
pub enum Answer {
    /// The response, sent at once (and dropped for a oneway request).
    Now(Outbound),
    /// A [`Responder`] was taken for the request and answers it, or the request ends unanswered (oneway,
    /// connection closed).
    Later,
    /// No answer ever, as when a Java processor returns null (END_TRANSACTION with neither commit nor
    /// rollback).
    Nothing,
}

impl From<Outbound> for Answer {
    fn from(out: Outbound) -> Self {
        Answer::Now(out)
    }
}

impl From<RemotingCommand> for Answer {
    fn from(cmd: RemotingCommand) -> Self {
        Answer::Now(Outbound::Command(cmd))
    }
}

/// The right to answer one request later, on the connection it came from.
pub struct Responder {
    conn: Weak<ConnectionInner>,
    /// The connection's close token: cancelled when the connection is done.
    closed: CancellationToken,
    peer: SocketAddr,
    opaque: i32,
    serialize_type: SerializeType,
    oneway: bool,
    /// The request's code and when its responder was taken (during its dispatch), for the rpc latency
    /// metric of late answers.
    request_code: i32,
    taken_at: tokio::time::Instant,
}

impl Responder {
    pub(super) fn new(
        conn: &Arc<ConnectionInner>,
        closed: CancellationToken,
        peer: SocketAddr,
        request: &RemotingCommand,
    ) -> Self {
        Responder {
            conn: Arc::downgrade(conn),
            closed,
            peer,
            opaque: request.opaque,
            serialize_type: request.serialize_type,
            oneway: request.is_oneway(),
            request_code: request.code,
            taken_at: tokio::time::Instant::now(),
        }
    }

    pub fn request_code(&self) -> i32 {
        self.request_code
    }

    /// Time since the responder was taken, i.e. since the request was dispatched.
    pub fn elapsed(&self) -> std::time::Duration {
        self.taken_at.elapsed()
    }

    /// Sends `out` as the response to the request. False when nothing was sent: a oneway request, a
    /// connection that is closed, or one whose outbound queue is full (which closes it).
    pub fn answer(self, mut out: Outbound) -> bool {
        if self.oneway || self.closed.is_cancelled() {
            return false;
        }
        let Some(inner) = self.conn.upgrade() else {
            return false;
        };
        finish_response(out.command_mut(), self.opaque, self.serialize_type);
        Connection::from_inner(inner).send(out)
    }

    /// A oneway request: nothing will be sent, so there is nothing worth waiting for.
    pub fn is_oneway(&self) -> bool {
        self.oneway
    }

    pub fn is_closed(&self) -> bool {
        self.closed.is_cancelled()
    }

    /// Resolves when the connection closes (EOF, error, idle timeout, overflow, shutdown).
    pub async fn closed(&self) {
        self.closed.cancelled().await
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Reserves one of the connection's `max_per_connection` parking places, or None when the connection
    /// already has that many requests parked (or is gone).
    pub fn reserve_parking(&self, max_per_connection: usize) -> Option<ParkingPlace> {
        let parked = self.conn.upgrade()?.parked.clone();
        let before = parked.fetch_add(1, Ordering::AcqRel);
        if before >= max_per_connection {
            parked.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(ParkingPlace { parked })
    }
}

/// One request parked on a connection; the place is given back when this is dropped.
pub struct ParkingPlace {
    parked: Arc<AtomicUsize>,
}

impl Drop for ParkingPlace {
    fn drop(&mut self) {
        self.parked.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Stamps what every response carries: the request's opaque, the response flag, our version, and the
/// request's serialization.
pub(super) fn finish_response(
    cmd: &mut RemotingCommand,
    opaque: i32,
    serialize_type: SerializeType,
) {
    cmd.opaque = opaque;
    cmd.flag |= RPC_TYPE_RESPONSE;
    cmd.version = local_version();
    cmd.language = LanguageCode::Java;
    cmd.serialize_type = serialize_type;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rmq_codec::code::{RequestCode, ResponseCode};
    use rmq_codec::command::{ExtFields, RPC_ONEWAY};
    use tokio::sync::mpsc;

    use super::*;

    fn connection() -> (Connection, mpsc::Receiver<Outbound>) {
        Connection::with_receiver(1)
    }

    fn request(oneway: bool) -> RemotingCommand {
        let mut req = RemotingCommand::new_request(RequestCode::PullMessage, ExtFields::new());
        req.opaque = 42;
        req.serialize_type = SerializeType::RocketMq;
        if oneway {
            req.flag |= RPC_ONEWAY;
        }
        req
    }

    fn response() -> Outbound {
        Outbound::Command(RemotingCommand::new_response(ResponseCode::Success, None))
    }

    #[tokio::test]
    async fn a_late_answer_carries_the_request_opaque_and_serialization() {
        let (conn, mut rx) = connection();
        let responder = conn.responder(&request(false));
        assert!(responder.answer(response()));
        let Ok(Outbound::Command(sent)) = rx.try_recv() else {
            panic!("nothing was queued");
        };
        assert_eq!(sent.opaque, 42);
        assert!(sent.is_response());
        assert_eq!(sent.serialize_type, SerializeType::RocketMq);
    }

    #[tokio::test]
    async fn a_oneway_request_is_never_answered() {
        let (conn, mut rx) = connection();
        let responder = conn.responder(&request(true));
        assert!(responder.is_oneway());
        assert!(!responder.answer(response()));
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn closing_the_connection_wakes_and_mutes_its_responders() {
        let (conn, mut rx) = connection();
        let responder = conn.responder(&request(false));
        let waiting = tokio::spawn(async move {
            responder.closed().await;
            responder
        });
        conn.close();
        let responder = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the close woke the waiter")
            .unwrap();
        assert!(responder.is_closed());
        assert!(!responder.answer(response()));
        assert!(rx.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_responder_does_not_keep_its_connection() {
        let (conn, _rx) = connection();
        let responder = conn.responder(&request(false));
        drop(conn);
        assert!(
            !responder.answer(response()),
            "the connection is gone with its last strong handle"
        );
    }

    #[tokio::test]
    async fn parking_places_are_bounded_per_connection_and_come_back() {
        let (conn, _rx) = connection();
        let responder = conn.responder(&request(false));
        let first = responder.reserve_parking(2).unwrap();
        let _second = responder.reserve_parking(2).unwrap();
        assert!(responder.reserve_parking(2).is_none());
        drop(first);
        assert!(responder.reserve_parking(2).is_some());
    }
}
