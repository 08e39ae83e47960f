//! The request signature of Java's `AclClientRPCHook` (same in the 4.9.x acl jar and the 5.x client):
//! `Base64(HmacSHA1(secretKey, values of all ext fields sorted by key, concatenated, then the body))`.
//!
//! The client signs after adding `AccessKey` (and `SecurityToken` when it has one) and before adding
//! `Signature`; the broker leaves out `Signature` and `_UNIQUE_KEY_QUERY` when it recomputes (Java's
//! `PlainAccessValidator.parse`), so a field added by the client after signing would break the check.

use base64::Engine;
use hmac::{Hmac, Mac};
use rmq_codec::command::ExtFields;
use sha1::Sha1;

pub const ACCESS_KEY: &str = "AccessKey";
pub const SIGNATURE: &str = "Signature";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`, excluded by the Java broker when it recomputes the signature.
const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

/// The signed bytes: ext-field values in key order (Java's TreeMap of Strings; for the ASCII keys the
/// protocol uses, UTF-16 order and byte order agree), then the body.
pub fn signed_content(ext_fields: &ExtFields, body: &[u8]) -> Vec<u8> {
    let mut keys: Vec<&String> = ext_fields
        .keys()
        .filter(|k| k.as_str() != SIGNATURE && k.as_str() != UNIQUE_MSG_QUERY_FLAG)
        .collect();
    keys.sort_unstable();
    let mut content = Vec::with_capacity(body.len() + 256);
    for key in keys {
        content.extend_from_slice(ext_fields[key].as_bytes());
    }
    content.extend_from_slice(body);
    content
}

/// Base64 of HMAC-SHA1 over `content` keyed by the UTF-8 bytes of `secret_key`.
pub fn sign(content: &[u8], secret_key: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(content);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `claimed` is the signature of `content` under `secret_key`. Compares without an early exit so
/// the time taken does not tell an attacker how many leading characters were right.
pub fn verify(content: &[u8], secret_key: &str, claimed: Option<&str>) -> bool {
    let Some(claimed) = claimed else {
        return false;
    };
    let expected = sign(content, secret_key);
    expected.len() == claimed.len()
        && expected
            .bytes()
            .zip(claimed.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Added by clients that have one; signed like any other field and otherwise not checked (as in Java).
    const SECURITY_TOKEN: &str = "SecurityToken";

    fn fields(pairs: &[(&str, &str)]) -> ExtFields {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// RFC 2202 test case 2 pins the HMAC-SHA1 + Base64 part.
    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        assert_eq!(
            sign(b"what do ya want for nothing?", "Jefe"),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn content_is_sorted_values_then_body_without_signature() {
        let ext = fields(&[
            ("b", "2"),
            ("AccessKey", "ak"),
            ("a", "1"),
            (SIGNATURE, "zzz"),
            (UNIQUE_MSG_QUERY_FLAG, "true"),
        ]);
        assert_eq!(signed_content(&ext, b"BODY"), b"ak12BODY".to_vec());
    }

    /// The optional SecurityToken is an ordinary ext field: signed in its key position.
    #[test]
    fn security_token_is_signed_like_any_field() {
        let ext = fields(&[(ACCESS_KEY, "ak"), (SECURITY_TOKEN, "tok"), ("a", "1")]);
        // Java's TreeMap order: "AccessKey" < "SecurityToken" < "a" (upper case sorts first).
        assert_eq!(signed_content(&ext, b""), b"aktok1".to_vec());
    }

    /// Produced by the Java `AclClientRPCHook` of rocketmq-acl 4.9.8 (SessionCredentials("RocketMQ",
    /// "12345678")) on a SEND_MESSAGE_V2 request; see testdata/java-signature-vector.txt.
    #[test]
    fn matches_the_java_client_hook() {
        let vector = include_str!("testdata/java-signature-vector.txt");
        let mut ext = ExtFields::new();
        let mut body = Vec::new();
        let mut signature = None;
        let mut secret = None;
        for line in vector
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (kind, rest) = line.split_once(' ').expect("kind and value");
            match kind {
                "secret" => secret = Some(rest.to_string()),
                "body" => body = rest.as_bytes().to_vec(),
                "ext" => {
                    let (k, v) = rest.split_once('=').expect("key=value");
                    if k == SIGNATURE {
                        signature = Some(v.to_string());
                    }
                    ext.insert(k.to_string(), v.to_string());
                }
                other => panic!("unknown line kind {other}"),
            }
        }
        let secret = secret.expect("secret line");
        let signature = signature.expect("Signature ext field");
        let content = signed_content(&ext, &body);
        assert_eq!(sign(&content, &secret), signature);
        assert!(verify(&content, &secret, Some(&signature)));
        assert!(!verify(&content, "wrong-secret", Some(&signature)));
        let mut tampered = ext.clone();
        tampered.insert("b".into(), "OtherTopic".into());
        assert!(!verify(
            &signed_content(&tampered, &body),
            &secret,
            Some(&signature)
        ));
        assert!(!verify(&content, &secret, None));
    }
}
