//! The generated `MessagingServiceClient` against the generated `MessagingServiceServer` over HTTP/2 on
//! 127.0.0.1:0: a unary call, a server-streaming call, the bidirectional Telemetry stream, and an RPC the
//! server does not implement.

// The generated trait fixes the error type to `tonic::Status` (176 bytes).
#![allow(clippy::result_large_err)]

use std::pin::Pin;

use rmq_proto::v2::messaging_service_client::MessagingServiceClient;
use rmq_proto::v2::messaging_service_server::{MessagingService, MessagingServiceServer};
use rmq_proto::v2::*;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status as RpcStatus, Streaming};

type Answer<T> = Result<Response<T>, RpcStatus>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, RpcStatus>> + Send>>;

/// Answers QueryRoute with one queue of the asked topic, streams two messages then OK for ReceiveMessage,
/// echoes Telemetry commands, and leaves the rest unimplemented.
struct Echo;

fn ok() -> Option<rmq_proto::v2::Status> {
    Some(rmq_proto::v2::Status {
        code: Code::Ok as i32,
        message: "OK".into(),
    })
}

fn unimplemented<T>() -> Answer<T> {
    Err(RpcStatus::unimplemented("not in this test"))
}

#[tonic::async_trait]
impl MessagingService for Echo {
    async fn query_route(&self, request: Request<QueryRouteRequest>) -> Answer<QueryRouteResponse> {
        let queue = MessageQueue {
            topic: request.into_inner().topic,
            id: 3,
            permission: Permission::ReadWrite as i32,
            ..Default::default()
        };
        Ok(Response::new(QueryRouteResponse {
            status: ok(),
            message_queues: vec![queue],
        }))
    }
    async fn heartbeat(&self, _: Request<HeartbeatRequest>) -> Answer<HeartbeatResponse> {
        unimplemented()
    }
    async fn send_message(&self, _: Request<SendMessageRequest>) -> Answer<SendMessageResponse> {
        unimplemented()
    }
    async fn query_assignment(
        &self,
        _: Request<QueryAssignmentRequest>,
    ) -> Answer<QueryAssignmentResponse> {
        unimplemented()
    }
    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;
    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Answer<Self::ReceiveMessageStream> {
        let batch = request.into_inner().batch_size;
        let messages = (0..batch).map(|i| {
            receive_message_response::Content::Message(Message {
                body: vec![i as u8],
                ..Default::default()
            })
        });
        let items = messages
            .chain([receive_message_response::Content::Status(ok().unwrap())])
            .map(|content| {
                Ok(ReceiveMessageResponse {
                    content: Some(content),
                })
            });
        Ok(Response::new(Box::pin(tokio_stream::iter(items))))
    }
    async fn ack_message(&self, _: Request<AckMessageRequest>) -> Answer<AckMessageResponse> {
        unimplemented()
    }
    async fn forward_message_to_dead_letter_queue(
        &self,
        _: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Answer<ForwardMessageToDeadLetterQueueResponse> {
        unimplemented()
    }
    type PullMessageStream = BoxStream<PullMessageResponse>;
    async fn pull_message(
        &self,
        _: Request<PullMessageRequest>,
    ) -> Answer<Self::PullMessageStream> {
        unimplemented()
    }
    async fn update_offset(&self, _: Request<UpdateOffsetRequest>) -> Answer<UpdateOffsetResponse> {
        unimplemented()
    }
    async fn committed_offset(&self, _: Request<GetOffsetRequest>) -> Answer<GetOffsetResponse> {
        unimplemented()
    }
    async fn query_offset(&self, _: Request<QueryOffsetRequest>) -> Answer<QueryOffsetResponse> {
        unimplemented()
    }
    async fn end_transaction(
        &self,
        _: Request<EndTransactionRequest>,
    ) -> Answer<EndTransactionResponse> {
        unimplemented()
    }
    type TelemetryStream = BoxStream<TelemetryCommand>;
    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> Answer<Self::TelemetryStream> {
        Ok(Response::new(Box::pin(request.into_inner())))
    }
    async fn notify_client_termination(
        &self,
        _: Request<NotifyClientTerminationRequest>,
    ) -> Answer<NotifyClientTerminationResponse> {
        unimplemented()
    }
    async fn change_invisible_duration(
        &self,
        _: Request<ChangeInvisibleDurationRequest>,
    ) -> Answer<ChangeInvisibleDurationResponse> {
        unimplemented()
    }
    async fn recall_message(
        &self,
        _: Request<RecallMessageRequest>,
    ) -> Answer<RecallMessageResponse> {
        unimplemented()
    }
    async fn sync_lite_subscription(
        &self,
        _: Request<SyncLiteSubscriptionRequest>,
    ) -> Answer<SyncLiteSubscriptionResponse> {
        unimplemented()
    }
}

/// Serves `Echo` on an ephemeral 127.0.0.1 port and returns a client connected to it.
async fn connect() -> MessagingServiceClient<tonic::transport::Channel> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(MessagingServiceServer::new(Echo))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    MessagingServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
}

fn topic(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.into(),
    })
}

#[tokio::test]
async fn unary_streaming_and_bidi_calls_reach_the_server() {
    let mut client = connect().await;

    let route = client
        .query_route(QueryRouteRequest {
            topic: topic("TopicA"),
            endpoints: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(route.message_queues[0].topic, topic("TopicA"));
    assert_eq!(route.message_queues[0].id, 3);

    let request = ReceiveMessageRequest {
        batch_size: 2,
        ..Default::default()
    };
    let stream = client.receive_message(request).await.unwrap().into_inner();
    let items: Vec<ReceiveMessageResponse> = stream.map(Result::unwrap).collect().await;
    let contents: Vec<_> = items.into_iter().map(|r| r.content.unwrap()).collect();
    assert_eq!(contents.len(), 3);
    assert!(matches!(&contents[1], receive_message_response::Content::Message(m) if m.body == [1]));
    assert!(
        matches!(&contents[2], receive_message_response::Content::Status(s) if s.code() == Code::Ok)
    );

    let command = TelemetryCommand {
        status: None,
        command: Some(telemetry_command::Command::ThreadStackTrace(
            ThreadStackTrace {
                nonce: "n1".into(),
                thread_stack_trace: Some("main".into()),
            },
        )),
    };
    let outbound = tokio_stream::iter([command.clone()]);
    let mut inbound = client.telemetry(outbound).await.unwrap().into_inner();
    assert_eq!(inbound.next().await.unwrap().unwrap(), command);
    assert!(inbound.next().await.is_none());

    let refused = client
        .heartbeat(HeartbeatRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
}
