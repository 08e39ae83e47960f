//! The in-process way from the gRPC endpoint into the broker's dispatcher (Java proxy's local mode, where
//! `LocalMessageService` hands remoting requests to the broker's processors over a `SimpleChannel`).
//!
//! Every gRPC client id (`x-mq-client-id`) gets one virtual [`Connection`]: the broker sees it as any
//! remoting client, so its client registry, long polling and broker-initiated requests work unchanged.
//! A request is handed to [`RequestHandler::handle`] with an opaque of ours; an [`Answer::Now`] is the
//! response at once, an [`Answer::Later`] arrives on the connection's queue and is matched by opaque.
//! Requests the broker starts (CHECK_TRANSACTION_STATE 39, NOTIFY_CONSUMER_IDS_CHANGED 40,
//! GET_CONSUMER_RUNNING_INFO 307, CONSUME_MESSAGE_DIRECTLY 309) land on the client's queue too and go to
//! its telemetry stream ([`Bridge::subscribe`]); the client's answer comes back through [`Bridge::reply`].
//!
//! A virtual connection leaves — and the broker forgets its producers and consumers, as for a closed
//! socket — on NotifyClientTermination ([`Bridge::remove`]) or after [`CLIENT_IDLE_EXPIRY`] without a
//! request or telemetry message ([`Bridge::expire_idle`]).
//!
//! The bridge only moves commands: building the remoting request from a gRPC message and turning the
//! response into gRPC live in the service files, so a remote bridge (cluster mode) can reuse them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rmq_codec::command::{RemotingCommand, RPC_ONEWAY, RPC_TYPE_RESPONSE};
use tokio::sync::{mpsc, oneshot};

use crate::remoting::connection::now_ms;
use crate::remoting::{Answer, Connection, Outbound, RequestHandler};

/// How long a request waits for a late answer unless the caller says otherwise (Java proxy's
/// `grpcClientProducerMessageTimeout`-class defaults are 3 s for sends).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// A client with no request and no telemetry message for this long is gone (Java's
/// `ClientHousekeepingService`: `channelExpiredTimeout`, 120 s).
pub const CLIENT_IDLE_EXPIRY: Duration = Duration::from_secs(120);

/// Virtual connections at once: gRPC clients are few per broker; this bounds a flood of client ids.
pub const MAX_CLIENTS: usize = 10_000;

/// Frames queued on one virtual connection (late answers and broker-initiated requests).
const CLIENT_QUEUE_LEN: usize = 1024;

/// Broker-initiated requests waiting for one client's telemetry stream to take them.
const TELEMETRY_QUEUE_LEN: usize = 64;

/// Bytes of late answers one virtual connection may hold (pop results are up to a few MiB).
const MAX_QUEUED_BYTES: usize = 64 << 20;

/// Virtual connection ids start here, far above the socket connections' counter.
const FIRST_VIRTUAL_ID: u64 = 1 << 48;

/// Why a call got no response.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("too many gRPC clients ({MAX_CLIENTS})")]
    TooManyClients,
    #[error("the broker did not answer in {0} ms")]
    Timeout(u64),
    #[error("the client's connection to the broker is closed")]
    Closed,
    #[error("the broker gives no answer to request code {0}")]
    NoAnswer(i32),
}

/// A response from the broker: the command (header, code, remark) and its whole body.
#[derive(Debug, Clone)]
pub struct RemotingResponse {
    pub cmd: RemotingCommand,
    /// The body: `cmd.body`, or the records of a pull/pop response joined.
    pub body: Bytes,
}

impl RemotingResponse {
    fn from_outbound(out: Outbound) -> Self {
        match out {
            Outbound::Command(cmd) => RemotingResponse {
                body: cmd.body.clone(),
                cmd,
            },
            Outbound::Records { cmd, records } => {
                let len = records.iter().map(Bytes::len).sum();
                let mut body = BytesMut::with_capacity(len);
                for record in &records {
                    body.extend_from_slice(record);
                }
                RemotingResponse {
                    cmd,
                    body: body.freeze(),
                }
            }
        }
    }

    pub fn code(&self) -> i32 {
        self.cmd.code
    }
}

/// One gRPC client's virtual connection.
struct VirtualClient {
    conn: Connection,
    /// Our requests waiting for a late answer, by opaque.
    waiting: Mutex<HashMap<i32, oneshot::Sender<RemotingResponse>>>,
    next_opaque: AtomicI32,
    /// Where broker-initiated requests go: the client's open telemetry stream, if any.
    telemetry: Mutex<Option<mpsc::Sender<RemotingCommand>>>,
    last_active_ms: AtomicU64,
}

impl VirtualClient {
    fn touch(&self) {
        self.last_active_ms.store(now_ms(), Ordering::Relaxed);
        self.conn.touch();
    }

    /// Takes what the broker queued on the connection until it closes.
    async fn drain(self: Arc<Self>, mut rx: mpsc::Receiver<Outbound>, queued: Arc<AtomicUsize>) {
        let closed = self.conn.closed_token();
        loop {
            let frame = tokio::select! {
                frame = rx.recv() => match frame {
                    Some(frame) => frame,
                    None => return,
                },
                _ = closed.cancelled() => return,
            };
            queued.fetch_sub(frame.accounted_bytes(), Ordering::AcqRel);
            if frame.command().is_response() {
                let response = RemotingResponse::from_outbound(frame);
                let waiter = self.waiting.lock().remove(&response.cmd.opaque);
                if let Some(tx) = waiter {
                    let _ = tx.send(response);
                }
            } else {
                self.forward_to_telemetry(frame);
            }
        }
    }

    fn forward_to_telemetry(&self, frame: Outbound) {
        let request = RemotingResponse::from_outbound(frame);
        let mut cmd = request.cmd;
        cmd.body = request.body;
        let sender = self.telemetry.lock().clone();
        let delivered = sender.is_some_and(|tx| tx.try_send(cmd).is_ok());
        if !delivered {
            tracing::debug!(peer = %self.conn.peer(), "broker request dropped: no telemetry stream takes it");
        }
    }
}

/// The virtual connections of all gRPC clients into one request handler (the broker).
pub struct Bridge {
    handler: Arc<dyn RequestHandler>,
    clients: Mutex<HashMap<String, Arc<VirtualClient>>>,
    next_id: AtomicU64,
}

impl Bridge {
    pub fn new(handler: Arc<dyn RequestHandler>) -> Arc<Self> {
        Arc::new(Bridge {
            handler,
            clients: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(FIRST_VIRTUAL_ID),
        })
    }

    /// Sends `cmd` as client `client_id` (from `peer`, the gRPC peer address the broker records) and
    /// waits at most [`DEFAULT_CALL_TIMEOUT`] for the response.
    pub async fn call(
        &self,
        client_id: &str,
        peer: SocketAddr,
        cmd: RemotingCommand,
    ) -> Result<RemotingResponse, BridgeError> {
        self.call_with_timeout(client_id, peer, cmd, DEFAULT_CALL_TIMEOUT)
            .await
    }

    /// [`Bridge::call`] with its own wait for a late answer (long polling: the poll time plus a margin).
    pub async fn call_with_timeout(
        &self,
        client_id: &str,
        peer: SocketAddr,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingResponse, BridgeError> {
        let client = self.client(client_id, peer)?;
        client.touch();
        cmd.flag &= !(RPC_ONEWAY | RPC_TYPE_RESPONSE);
        cmd.opaque = client.next_opaque.fetch_add(1, Ordering::Relaxed);
        let opaque = cmd.opaque;
        let code = cmd.code;
        let (tx, rx) = oneshot::channel();
        client.waiting.lock().insert(opaque, tx);
        let _forget = Waiting {
            client: &client,
            opaque,
        };
        match self.handler.handle(&client.conn, cmd) {
            Answer::Now(out) => Ok(RemotingResponse::from_outbound(out)),
            Answer::Nothing => Err(BridgeError::NoAnswer(code)),
            Answer::Later => {
                let closed = client.conn.closed_token();
                tokio::select! {
                    answer = rx => answer.map_err(|_| BridgeError::Closed),
                    _ = closed.cancelled() => Err(BridgeError::Closed),
                    _ = tokio::time::sleep(timeout) => {
                        Err(BridgeError::Timeout(timeout.as_millis() as u64))
                    }
                }
            }
        }
    }

    /// Sends `cmd` as a oneway request (Java proxy's `endTransactionOneway`): whatever the broker
    /// answers is dropped.
    pub fn call_oneway(
        &self,
        client_id: &str,
        peer: SocketAddr,
        mut cmd: RemotingCommand,
    ) -> Result<(), BridgeError> {
        let client = self.client(client_id, peer)?;
        client.touch();
        cmd.flag = (cmd.flag | RPC_ONEWAY) & !RPC_TYPE_RESPONSE;
        cmd.opaque = client.next_opaque.fetch_add(1, Ordering::Relaxed);
        let _ = self.handler.handle(&client.conn, cmd);
        Ok(())
    }

    /// Opens the telemetry stream of `client_id`: broker-initiated requests for it arrive on the returned
    /// receiver (a newer stream replaces an older one, whose receiver then ends).
    pub fn subscribe(
        &self,
        client_id: &str,
        peer: SocketAddr,
    ) -> Result<mpsc::Receiver<RemotingCommand>, BridgeError> {
        let client = self.client(client_id, peer)?;
        client.touch();
        let (tx, rx) = mpsc::channel(TELEMETRY_QUEUE_LEN);
        *client.telemetry.lock() = Some(tx);
        Ok(rx)
    }

    /// Hands the client's answer to a broker-initiated request back to the broker (it carries the
    /// request's opaque). False when the client is unknown.
    pub fn reply(&self, client_id: &str, mut response: RemotingCommand) -> bool {
        let Some(client) = self.clients.lock().get(client_id).cloned() else {
            return false;
        };
        client.touch();
        response.flag |= RPC_TYPE_RESPONSE;
        self.handler.on_response(&client.conn, response);
        true
    }

    /// Marks `client_id` active (a telemetry message, a heartbeat).
    pub fn touch(&self, client_id: &str) {
        if let Some(client) = self.clients.lock().get(client_id) {
            client.touch();
        }
    }

    /// The client's virtual connection, if it has one (for code that needs the broker's view).
    pub fn connection(&self, client_id: &str) -> Option<Connection> {
        self.clients
            .lock()
            .get(client_id)
            .map(|client| client.conn.clone())
    }

    /// Closes the client's virtual connection: the broker forgets its producers and consumers
    /// (NotifyClientTermination, or expiry).
    pub fn remove(&self, client_id: &str) -> bool {
        let Some(client) = self.clients.lock().remove(client_id) else {
            return false;
        };
        client.conn.close();
        self.handler.on_disconnect(&client.conn);
        true
    }

    /// Removes the clients idle for longer than `idle`; returns how many left.
    pub fn expire_idle(&self, idle: Duration) -> usize {
        let deadline = now_ms().saturating_sub(idle.as_millis() as u64);
        let stale: Vec<String> = self
            .clients
            .lock()
            .iter()
            .filter(|(_, c)| c.last_active_ms.load(Ordering::Relaxed) < deadline)
            .map(|(id, _)| id.clone())
            .collect();
        stale.iter().filter(|id| self.remove(id)).count()
    }

    /// Closes every virtual connection (shutdown).
    pub fn close_all(&self) {
        let ids: Vec<String> = self.clients.lock().keys().cloned().collect();
        for id in ids {
            self.remove(&id);
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.lock().len()
    }

    fn client(&self, client_id: &str, peer: SocketAddr) -> Result<Arc<VirtualClient>, BridgeError> {
        let mut clients = self.clients.lock();
        if let Some(client) = clients.get(client_id) {
            if !client.conn.is_closed() {
                return Ok(client.clone());
            }
        }
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(client_id) {
            return Err(BridgeError::TooManyClients);
        }
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE_LEN);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Connection::with_outbound_limit(id, peer, tx, MAX_QUEUED_BYTES);
        let queued = conn.queued_bytes_counter();
        let client = Arc::new(VirtualClient {
            conn,
            waiting: Mutex::new(HashMap::new()),
            next_opaque: AtomicI32::new(1),
            telemetry: Mutex::new(None),
            last_active_ms: AtomicU64::new(now_ms()),
        });
        tokio::spawn(client.clone().drain(rx, queued));
        if let Some(old) = clients.insert(client_id.to_string(), client.clone()) {
            // A connection closed by overflow: the broker forgets it as a closed socket.
            self.handler.on_disconnect(&old.conn);
        }
        Ok(client)
    }
}

/// Removes a call's waiting entry however the call ends.
struct Waiting<'a> {
    client: &'a VirtualClient,
    opaque: i32,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.client.waiting.lock().remove(&self.opaque);
    }
}

/// Expires idle clients every 10 s until `stop` is cancelled (Java's `ClientHousekeepingService` period).
pub async fn expire_idle_clients(bridge: Arc<Bridge>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let gone = bridge.expire_idle(CLIENT_IDLE_EXPIRY);
                if gone > 0 {
                    tracing::info!(gone, "idle gRPC clients expired");
                }
            }
            _ = stop.cancelled() => return,
        }
    }
}

#[cfg(test)]
#[path = "bridge_tests.rs"]
mod tests;
