use super::*;
use rmq_codec::code::{RequestCode, ResponseCode};
use rmq_codec::command::ExtFields;

/// Answers code 1 at once, code 2 later with two records, never answers code 3, and gives no answer
/// to anything else.
#[derive(Default)]
struct FakeBroker {
    disconnected: Mutex<Vec<u64>>,
}

const NOW: i32 = 1;
const LATER_RECORDS: i32 = 2;
const NEVER: i32 = 3;

impl RequestHandler for FakeBroker {
    fn handle(&self, conn: &Connection, request: RemotingCommand) -> Answer {
        match request.code {
            NOW => RemotingCommand::new_response(ResponseCode::Success, Some("now".into()))
                .with_body("body")
                .into(),
            LATER_RECORDS => {
                let responder = conn.responder(&request);
                tokio::spawn(async move {
                    let cmd = RemotingCommand::new_response(ResponseCode::Success, None);
                    let records = vec![Bytes::from_static(b"ab"), Bytes::from_static(b"cd")];
                    responder.answer(Outbound::Records { cmd, records });
                });
                Answer::Later
            }
            NEVER => Answer::Later,
            _ => Answer::Nothing,
        }
    }

    fn on_response(&self, conn: &Connection, response: RemotingCommand) {
        conn.complete(response);
    }

    fn on_disconnect(&self, conn: &Connection) {
        self.disconnected.lock().push(conn.id());
    }
}

fn peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 50_000))
}

fn request(code: i32) -> RemotingCommand {
    RemotingCommand {
        code,
        ..RemotingCommand::default()
    }
}

fn bridge() -> (Arc<Bridge>, Arc<FakeBroker>) {
    let broker = Arc::new(FakeBroker::default());
    (Bridge::new(broker.clone()), broker)
}

#[tokio::test]
async fn an_answer_now_is_the_response() {
    let (bridge, _) = bridge();
    let response = bridge.call("c1", peer(), request(NOW)).await.unwrap();
    assert_eq!(response.cmd.remark.as_deref(), Some("now"));
    assert_eq!(&response.body[..], b"body");
}

#[tokio::test]
async fn a_later_answer_is_matched_by_opaque_and_its_records_joined() {
    let (bridge, _) = bridge();
    let response = bridge
        .call("c1", peer(), request(LATER_RECORDS))
        .await
        .unwrap();
    assert_eq!(response.code(), i32::from(ResponseCode::Success));
    assert_eq!(&response.body[..], b"abcd");
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_leaves_nothing_waiting() {
    let (bridge, _) = bridge();
    let outcome = bridge
        .call_with_timeout("c1", peer(), request(NEVER), Duration::from_millis(10))
        .await;
    assert!(matches!(outcome, Err(BridgeError::Timeout(10))));
    let client = bridge.clients.lock().get("c1").cloned().unwrap();
    assert!(client.waiting.lock().is_empty());
}

#[tokio::test]
async fn no_answer_is_an_error_not_a_wait() {
    let (bridge, _) = bridge();
    let outcome = bridge.call("c1", peer(), request(99)).await;
    assert!(matches!(outcome, Err(BridgeError::NoAnswer(99))));
}

#[tokio::test]
async fn broker_requests_reach_the_telemetry_stream_and_its_reply_reaches_the_broker() {
    let (bridge, _) = bridge();
    let mut stream = bridge.subscribe("c1", peer()).unwrap();
    let conn = bridge.connection("c1").unwrap();
    let check = RemotingCommand::new_request(RequestCode::CheckTransactionState, ExtFields::new())
        .with_body("msg");
    let call = tokio::spawn(async move { conn.call(check, Duration::from_secs(30)).await });
    let forwarded = stream.recv().await.unwrap();
    assert_eq!(
        forwarded.code,
        i32::from(RequestCode::CheckTransactionState)
    );
    assert_eq!(&forwarded.body[..], b"msg");
    let mut answer = RemotingCommand::new_response(ResponseCode::Success, Some("ok".into()));
    answer.opaque = forwarded.opaque;
    assert!(bridge.reply("c1", answer));
    let answered = call.await.unwrap().unwrap();
    assert_eq!(answered.remark.as_deref(), Some("ok"));
}

#[tokio::test]
async fn termination_closes_the_connection_and_the_broker_forgets_it() {
    let (bridge, broker) = bridge();
    bridge.call("c1", peer(), request(NOW)).await.unwrap();
    let conn = bridge.connection("c1").unwrap();
    assert!(bridge.remove("c1"));
    assert!(conn.is_closed());
    assert_eq!(*broker.disconnected.lock(), vec![conn.id()]);
    assert!(!bridge.remove("c1"), "gone already");
    assert_eq!(bridge.client_count(), 0);
}

#[tokio::test]
async fn each_client_id_has_its_own_connection() {
    let (bridge, _) = bridge();
    bridge.call("a", peer(), request(NOW)).await.unwrap();
    bridge.call("b", peer(), request(NOW)).await.unwrap();
    let (a, b) = (
        bridge.connection("a").unwrap(),
        bridge.connection("b").unwrap(),
    );
    assert_ne!(a.id(), b.id());
    bridge.call("a", peer(), request(NOW)).await.unwrap();
    assert_eq!(bridge.connection("a").unwrap().id(), a.id());
}

#[tokio::test]
async fn only_idle_clients_expire() {
    let (bridge, broker) = bridge();
    bridge.call("idle", peer(), request(NOW)).await.unwrap();
    bridge.call("busy", peer(), request(NOW)).await.unwrap();
    let idle = bridge.clients.lock().get("idle").cloned().unwrap();
    idle.last_active_ms
        .store(now_ms() - 200_000, Ordering::Relaxed);
    assert_eq!(bridge.expire_idle(CLIENT_IDLE_EXPIRY), 1);
    assert!(bridge.connection("idle").is_none());
    assert!(bridge.connection("busy").is_some());
    assert_eq!(broker.disconnected.lock().len(), 1);
}
