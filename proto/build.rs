//! Generates the tonic client and server of `apache.rocketmq.v2.MessagingService` (rocketmq-apis v2.1.1)
//! from the RPC table in `src/v2/rpcs.rs`: `tonic_build::manual` needs no .proto file and no protoc. The
//! message types it refers to (`super::QueryRouteRequest`, ...) are the hand-written ones in `src/v2/`.

use tonic_build::manual::{Builder, Method, Service};

include!("src/v2/rpcs.rs");

fn main() {
    let (package, name) = MESSAGING_SERVICE
        .rsplit_once('.')
        .expect("a service name is package.Service");
    let mut service = Service::builder().name(name).package(package);
    for rpc in MESSAGING_SERVICE_RPCS {
        let mut method = Method::builder()
            .name(rpc.method)
            .route_name(rpc.route)
            .input_type(format!("super::{}", rpc.input))
            .output_type(format!("super::{}", rpc.output))
            .codec_path("tonic::codec::ProstCodec");
        method = match rpc.streaming {
            Streaming::Unary => method,
            Streaming::ServerStream => method.server_streaming(),
            Streaming::Bidi => method.client_streaming().server_streaming(),
        };
        service = service.method(method.build());
    }
    Builder::new().compile(&[service.build()]);
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/v2/rpcs.rs");
}
