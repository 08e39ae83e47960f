//! The tonic service: reads the caller from the metadata ([`ClientContext`]) and hands each RPC to its
//! file. A call without a client id is answered with CLIENT_ID_REQUIRED inside the response, as Java's
//! proxy answers; only Telemetry, a stream, fails as a gRPC status.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use rmq_proto::v2::messaging_service_server::{MessagingService, MessagingServiceServer};
use rmq_proto::v2::*;
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status as GrpcStatus, Streaming};

use super::consumer::Caller;
use super::context::ClientContext;
use super::status::{status, GrpcError};
use super::{ack, assignment, dlq, invisible, receive};
use super::{client, route, send, telemetry, transaction, GrpcEndpoint};

/// The service over one endpoint.
#[derive(Clone)]
pub struct Service {
    pub ep: Arc<GrpcEndpoint>,
}

impl Service {
    /// The consumer calls' view of the caller (`super::consumer`).
    fn caller<'a>(&'a self, ctx: &'a ClientContext) -> Caller<'a> {
        Caller::of(&self.ep, ctx)
    }
}

type Reply<T> = Result<Response<T>, GrpcStatus>;
pub type ResponseStream<T> = Pin<Box<dyn Stream<Item = Result<T, GrpcStatus>> + Send>>;

/// Answers `$resp { status, ..Default }` when the caller has no client id.
macro_rules! context_or {
    ($request:expr, $resp:ident) => {
        match ClientContext::from_request(&$request) {
            Ok(ctx) => ctx,
            Err(e) => {
                // Some responses have only the status.
                #[allow(clippy::needless_update)]
                let refused = $resp {
                    status: Some(e.status()),
                    ..Default::default()
                };
                return Ok(Response::new(refused));
            }
        }
    };
}

/// What the consume-side RPCs answer until they are served.
fn not_served() -> Status {
    status(Code::NotImplemented, "not served by this endpoint yet")
}

#[tonic::async_trait]
impl MessagingService for Service {
    async fn query_route(&self, request: Request<QueryRouteRequest>) -> Reply<QueryRouteResponse> {
        let _ctx = context_or!(request, QueryRouteResponse);
        let request = request.into_inner();
        let response = match query_route(&self.ep, &request) {
            Ok(message_queues) => QueryRouteResponse {
                status: Some(super::status::ok()),
                message_queues,
            },
            Err(e) => QueryRouteResponse {
                status: Some(e.status()),
                message_queues: Vec::new(),
            },
        };
        Ok(Response::new(response))
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> Reply<HeartbeatResponse> {
        let ctx = context_or!(request, HeartbeatResponse);
        let response = client::heartbeat(&self.ep, &ctx, request.into_inner()).await;
        Ok(Response::new(response))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> Reply<SendMessageResponse> {
        let ctx = context_or!(request, SendMessageResponse);
        let response = send::send_message(&self.ep, &ctx, request.into_inner()).await;
        Ok(Response::new(response))
    }

    async fn query_assignment(
        &self,
        request: Request<QueryAssignmentRequest>,
    ) -> Reply<QueryAssignmentResponse> {
        let ctx = context_or!(request, QueryAssignmentResponse);
        let caller = self.caller(&ctx);
        let response = assignment::query_assignment(&caller, request.into_inner()).await;
        Ok(Response::new(response))
    }

    type ReceiveMessageStream = ResponseStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> Reply<Self::ReceiveMessageStream> {
        let ctx = match ClientContext::from_request(&request) {
            Ok(ctx) => ctx,
            Err(e) => {
                let only = ReceiveMessageResponse {
                    content: Some(receive_message_response::Content::Status(e.status())),
                };
                return Ok(Response::new(Box::pin(tokio_stream::once(Ok(only)))));
            }
        };
        let grpc_timeout = request
            .metadata()
            .get("grpc-timeout")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let remaining_ms = receive::deadline_ms(grpc_timeout.as_deref());
        let caller = self.caller(&ctx);
        let items = receive::receive_message(&caller, request.into_inner(), remaining_ms).await;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn ack_message(&self, request: Request<AckMessageRequest>) -> Reply<AckMessageResponse> {
        let ctx = context_or!(request, AckMessageResponse);
        let caller = self.caller(&ctx);
        let response = ack::ack_message(&caller, request.into_inner()).await;
        Ok(Response::new(response))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> Reply<ForwardMessageToDeadLetterQueueResponse> {
        let ctx = context_or!(request, ForwardMessageToDeadLetterQueueResponse);
        let caller = self.caller(&ctx);
        let response =
            dlq::forward_message_to_dead_letter_queue(&caller, request.into_inner()).await;
        Ok(Response::new(response))
    }

    type PullMessageStream = ResponseStream<PullMessageResponse>;

    async fn pull_message(
        &self,
        _request: Request<PullMessageRequest>,
    ) -> Reply<Self::PullMessageStream> {
        let only = PullMessageResponse {
            content: Some(pull_message_response::Content::Status(not_served())),
        };
        Ok(Response::new(Box::pin(tokio_stream::once(Ok(only)))))
    }

    async fn update_offset(
        &self,
        _request: Request<UpdateOffsetRequest>,
    ) -> Reply<UpdateOffsetResponse> {
        Ok(Response::new(UpdateOffsetResponse {
            status: Some(not_served()),
        }))
    }

    async fn committed_offset(
        &self,
        _request: Request<GetOffsetRequest>,
    ) -> Reply<GetOffsetResponse> {
        Ok(Response::new(GetOffsetResponse {
            status: Some(not_served()),
            ..Default::default()
        }))
    }

    async fn query_offset(
        &self,
        _request: Request<QueryOffsetRequest>,
    ) -> Reply<QueryOffsetResponse> {
        Ok(Response::new(QueryOffsetResponse {
            status: Some(not_served()),
            ..Default::default()
        }))
    }

    async fn end_transaction(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> Reply<EndTransactionResponse> {
        let ctx = context_or!(request, EndTransactionResponse);
        let response = transaction::end_transaction(&self.ep, &ctx, request.into_inner()).await;
        Ok(Response::new(response))
    }

    type TelemetryStream = ResponseStream<TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> Reply<Self::TelemetryStream> {
        let ctx = ClientContext::from_request(&request)
            .map_err(|e: GrpcError| GrpcStatus::invalid_argument(e.message))?;
        let (tx, rx) = tokio::sync::mpsc::channel(telemetry::OUT_QUEUE_LEN);
        tokio::spawn(telemetry::run(
            self.ep.clone(),
            ctx,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> Reply<NotifyClientTerminationResponse> {
        let ctx = context_or!(request, NotifyClientTerminationResponse);
        let response = client::notify_client_termination(&self.ep, &ctx, request.into_inner());
        Ok(Response::new(response))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> Reply<ChangeInvisibleDurationResponse> {
        let ctx = context_or!(request, ChangeInvisibleDurationResponse);
        let caller = self.caller(&ctx);
        let response = invisible::change_invisible_duration(&caller, request.into_inner()).await;
        Ok(Response::new(response))
    }

    async fn recall_message(
        &self,
        _request: Request<RecallMessageRequest>,
    ) -> Reply<RecallMessageResponse> {
        Ok(Response::new(RecallMessageResponse {
            status: Some(not_served()),
            ..Default::default()
        }))
    }

    async fn sync_lite_subscription(
        &self,
        _request: Request<SyncLiteSubscriptionRequest>,
    ) -> Reply<SyncLiteSubscriptionResponse> {
        Ok(Response::new(SyncLiteSubscriptionResponse {
            status: Some(not_served()),
        }))
    }
}

/// QueryRoute over this broker's topic table.
fn query_route(
    ep: &GrpcEndpoint,
    request: &QueryRouteRequest,
) -> Result<Vec<MessageQueue>, GrpcError> {
    let topic = request.topic.clone().unwrap_or_default();
    client::check_topic(&ep.broker, &topic.name)?;
    let Some(config) = ep.broker.topics.get(&topic.name) else {
        return Err(GrpcError::new(
            Code::TopicNotFound,
            format!(
                "No topic route info in name server for the topic: {}",
                topic.name
            ),
        ));
    };
    let endpoints = route::route_endpoints(request, &ep.broker.config.broker_ip1, ep.port);
    let broker = route::proto_broker(&ep.broker.config.broker_name, endpoints);
    let accepted = route::accepted_message_types(ep.broker.topics.message_type(&topic.name));
    Ok(route::message_queues(&config, &topic, &broker, &accepted))
}

/// Serves the endpoint on `listener` until `stop` is cancelled, TLS or plaintext per connection when
/// `acceptor` is set (`super::tls`); idle clients expire meanwhile.
pub async fn serve(
    ep: Arc<GrpcEndpoint>,
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    stop: CancellationToken,
) {
    let expiry = tokio::spawn(super::bridge::expire_idle_clients(
        ep.bridge.clone(),
        stop.clone(),
    ));
    let incoming = ReceiverStream::new(super::tls::incoming(listener, acceptor, stop.clone()));
    let service = MessagingServiceServer::new(Service { ep: ep.clone() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let served = tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, stop.cancelled())
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "gRPC endpoint stopped");
    }
    ep.bridge.close_all();
    let _ = expiry.await;
}

/// Largest gRPC message either way (Java proxy's `grpcMaxInboundMessageSize`: 130 MiB).
const MAX_MESSAGE_BYTES: usize = 130 << 20;

/// The peer address tonic records for a TCP connection.
pub fn peer_of<T>(request: &Request<T>) -> Option<SocketAddr> {
    request.remote_addr()
}
