//! Who is calling: the metadata every 5.x client sends with each call (Java proxy's `ProxyContext`, filled
//! by its header interceptors): `x-mq-client-id`, `x-mq-language`, `x-mq-client-version`,
//! `x-mq-namespace`, plus the peer and local addresses of the HTTP/2 connection.

use std::net::SocketAddr;

use rmq_codec::code::LanguageCode;
use rmq_proto::v2::Code;
use tonic::metadata::MetadataMap;

use super::status::{GrpcError, GrpcResult};

pub const CLIENT_ID: &str = "x-mq-client-id";
pub const LANGUAGE: &str = "x-mq-language";
pub const CLIENT_VERSION: &str = "x-mq-client-version";
pub const NAMESPACE: &str = "x-mq-namespace";

/// One call's client.
#[derive(Debug, Clone)]
pub struct ClientContext {
    pub client_id: String,
    /// `x-mq-language` as the remoting `LanguageCode` the broker records (`JAVA`, `GOLANG`, ...).
    pub language: LanguageCode,
    pub client_version: String,
    pub namespace: String,
    /// The client's address, which the broker records as the channel's remote address.
    pub peer: SocketAddr,
}

impl ClientContext {
    /// Reads the metadata; a blank client id is Java's CLIENT_ID_REQUIRED (`validateContext`).
    pub fn from_request<T>(request: &tonic::Request<T>) -> GrpcResult<Self> {
        let peer = request
            .remote_addr()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        Self::from_metadata(request.metadata(), peer)
    }

    pub fn from_metadata(metadata: &MetadataMap, peer: SocketAddr) -> GrpcResult<Self> {
        let text = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let client_id = text(CLIENT_ID);
        if client_id.trim().is_empty() {
            return Err(GrpcError::new(
                Code::ClientIdRequired,
                "client id cannot be empty",
            ));
        }
        Ok(ClientContext {
            client_id,
            language: language_code(&text(LANGUAGE)),
            client_version: text(CLIENT_VERSION),
            namespace: text(NAMESPACE),
            peer,
        })
    }
}

/// `LanguageCode.valueOf(x-mq-language)`: the clients send the enum's name (`JAVA`, `GOLANG`, `CPP`, ...).
/// An unknown name is JAVA here rather than Java's exception, so the call still works.
pub fn language_code(name: &str) -> LanguageCode {
    match name.to_ascii_uppercase().as_str() {
        "CPP" => LanguageCode::Cpp,
        "DOTNET" => LanguageCode::Dotnet,
        "GOLANG" | "GO" => LanguageCode::Go,
        "PYTHON" => LanguageCode::Python,
        "RUST" => LanguageCode::Rust,
        "NODE_JS" | "NODEJS" => LanguageCode::NodeJs,
        "RUBY" => LanguageCode::Ruby,
        "PHP" => LanguageCode::Php,
        _ => LanguageCode::Java,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 5000))
    }

    #[test]
    fn reads_the_clients_metadata() {
        let mut md = MetadataMap::new();
        md.insert(CLIENT_ID, "host@1@2".parse().unwrap());
        md.insert(LANGUAGE, "GOLANG".parse().unwrap());
        md.insert(CLIENT_VERSION, "5.1.2".parse().unwrap());
        let ctx = ClientContext::from_metadata(&md, peer()).unwrap();
        assert_eq!(ctx.client_id, "host@1@2");
        assert_eq!(ctx.language, LanguageCode::Go);
        assert_eq!(ctx.client_version, "5.1.2");
        assert_eq!(ctx.peer, peer());
    }

    #[test]
    fn a_missing_client_id_is_client_id_required() {
        let err = ClientContext::from_metadata(&MetadataMap::new(), peer()).unwrap_err();
        assert_eq!(err.code, Code::ClientIdRequired);
    }
}
