//! `RemotingCommand`: one request or response, and its frame format.
//!
//! ```text
//! +-------------------+-------------------------------+--------------------+--------------+
//! | int32 totalLength | int32 (type << 24) | headerLen | header (headerLen) | body (rest)  |
//! +-------------------+-------------------------------+--------------------+--------------+
//! totalLength = 4 + headerLen + bodyLen (it does not count itself); type 0 = JSON, 1 = ROCKETMQ
//! ```
//!
//! The framing layer (tokio-util `LengthDelimitedCodec`, `num_skip(4)`) strips `totalLength`;
//! [`RemotingCommand::decode`] takes what is left. Decoding is lenient where Java is (fastjson
//! accepts sloppy JSON headers) and strict about lengths; it never panics on any input.
//!
//! ROCKETMQ binary header (big-endian, 21 fixed bytes):
//! ```text
//! int16 code | u8 language | int16 version | int32 opaque | int32 flag |
//! int32 remarkLen | remark | int32 extLen | extLen bytes of { int16 keyLen | key | int32 valLen | val }
//! ```
//! A zero length means `null` (so empty strings do not survive the binary format).

use bytes::{BufMut, Bytes, BytesMut};
use serde_json::Value;

use crate::code::{local_version, LanguageCode, RequestCode, ResponseCode};
use crate::CodecError;

/// The header encoding, the top byte of the header-length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SerializeType {
    /// fastjson text. What the Java broker answers with by default, and the only format old C++
    /// clients can read (they do not mask the type byte).
    #[default]
    Json = 0,
    /// The compact binary layout of `RocketMQSerializable`.
    RocketMq = 1,
}

impl SerializeType {
    /// Decodes the type byte.
    pub fn from_u8(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Self::Json),
            1 => Some(Self::RocketMq),
            _ => None,
        }
    }

    /// The Java enum name, as written in `serializeTypeCurrentRPC`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "JSON",
            Self::RocketMq => "ROCKETMQ",
        }
    }
}

/// `flag` bit 0: the command is a response.
pub const RPC_TYPE_RESPONSE: i32 = 1;
/// `flag` bit 1: the request expects no response, not even an error.
pub const RPC_ONEWAY: i32 = 2;
/// Netty's `LengthFieldBasedFrameDecoder` limit, **including** the 4-byte length field, so the
/// largest `totalLength` is this minus 4. Enforced by the framing layer, not by `decode`.
pub const MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;

/// The header length has 24 bits in the header-length word.
const MAX_HEADER_LENGTH: usize = 0x00FF_FFFF;
/// code + language + version + opaque + flag + remarkLen + extLen.
const BINARY_FIXED_LENGTH: usize = 21;

/// The custom header: Java field name → value, all values strings (see [`crate::header`]).
pub type ExtFields = std::collections::HashMap<String, String>;

/// One remoting request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingCommand {
    /// A request code (see [`RequestCode`]) or a response code (see [`ResponseCode`]).
    pub code: i32,
    pub language: LanguageCode,
    /// The sender's MQVersion ordinal.
    pub version: i32,
    /// Request id; a response echoes its request's opaque.
    pub opaque: i32,
    /// [`RPC_TYPE_RESPONSE`] | [`RPC_ONEWAY`].
    pub flag: i32,
    pub remark: Option<String>,
    pub ext_fields: ExtFields,
    /// Empty means no body.
    pub body: Bytes,
    /// The header format this command was decoded from, or is to be encoded with.
    pub serialize_type: SerializeType,
}

impl Default for RemotingCommand {
    /// What fastjson builds for a header with no fields: code 0, language JAVA, version 0.
    fn default() -> Self {
        Self {
            code: 0,
            language: LanguageCode::Java,
            version: 0,
            opaque: 0,
            flag: 0,
            remark: None,
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: SerializeType::Json,
        }
    }
}

impl RemotingCommand {
    /// A request from us (broker to name server, broker to client): JAVA, [`local_version`], JSON.
    /// The caller assigns `opaque`.
    pub fn new_request(code: RequestCode, ext_fields: ExtFields) -> Self {
        Self {
            code: code.into(),
            version: local_version(),
            ext_fields,
            ..Self::default()
        }
    }

    /// A response carrying our version; the caller copies the request's `opaque`.
    pub fn new_response(code: ResponseCode, remark: Option<String>) -> Self {
        Self {
            code: code.into(),
            version: local_version(),
            flag: RPC_TYPE_RESPONSE,
            remark,
            ..Self::default()
        }
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub fn is_response(&self) -> bool {
        self.flag & RPC_TYPE_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & RPC_ONEWAY != 0
    }

    pub fn request_code(&self) -> RequestCode {
        RequestCode::from(self.code)
    }

    pub fn response_code(&self) -> ResponseCode {
        ResponseCode::from(self.code)
    }

    /// Decodes `frame`, the bytes after the 4-byte total-length prefix. Zero-copy: the body is a
    /// slice of `frame`.
    pub fn decode(frame: Bytes) -> Result<Self, CodecError> {
        if frame.len() < 4 {
            return Err(CodecError::Truncated {
                needed: 4,
                available: frame.len(),
            });
        }
        let word = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let header_len = (word & MAX_HEADER_LENGTH as u32) as usize;
        let type_byte = (word >> 24) as u8;
        if header_len > frame.len() - 4 {
            return Err(CodecError::BadLength(format!(
                "header length {header_len} exceeds the {} bytes after the length word",
                frame.len() - 4
            )));
        }
        let serialize_type =
            SerializeType::from_u8(type_byte).ok_or(CodecError::UnknownSerializeType(type_byte))?;
        let header = &frame[4..4 + header_len];
        let mut command = match serialize_type {
            SerializeType::Json => decode_json_header(header)?,
            SerializeType::RocketMq => decode_binary_header(header)?,
        };
        command.body = frame.slice(4 + header_len..);
        Ok(command)
    }

    /// Writes `[int32 totalLength][int32 (type << 24) | headerLen][header]` for a frame whose body
    /// is `body_len` bytes long; the caller writes the body next (so the server can send
    /// mapped-file slices without copying them).
    ///
    /// `self.serialize_type` is honoured when the header fits it: codes or versions outside int16
    /// (the POP family, 200050+) and keys longer than 32767 bytes are written as JSON instead.
    /// Keeping headers under 16 MiB and frames under [`MAX_FRAME_LENGTH`] is the caller's job.
    pub fn encode_header(&self, body_len: usize, dst: &mut BytesMut) {
        let start = dst.len();
        // The two length words are patched once the header length is known.
        dst.put_u64(0);
        let serialize_type = self.effective_serialize_type();
        match serialize_type {
            SerializeType::Json => self.put_json_header(dst),
            SerializeType::RocketMq => self.put_binary_header(dst),
        }
        let header_len = dst.len() - start - 8;
        debug_assert!(
            header_len <= MAX_HEADER_LENGTH,
            "header of {header_len} bytes"
        );
        let total_len = (4 + header_len + body_len) as u32;
        let type_word =
            ((serialize_type as u32) << 24) | (header_len as u32 & MAX_HEADER_LENGTH as u32);
        dst[start..start + 4].copy_from_slice(&total_len.to_be_bytes());
        dst[start + 4..start + 8].copy_from_slice(&type_word.to_be_bytes());
    }

    /// Writes the whole frame, `self.body` included.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.reserve(64 + self.body.len());
        self.encode_header(self.body.len(), dst);
        dst.put_slice(&self.body);
    }

    /// The binary header truncates code and version to int16 and key lengths to int16; fall back
    /// to JSON rather than send something the peer decodes differently.
    fn effective_serialize_type(&self) -> SerializeType {
        let fits_binary = i16::try_from(self.code).is_ok()
            && i16::try_from(self.version).is_ok()
            && self
                .ext_fields
                .keys()
                .all(|key| key.len() <= i16::MAX as usize);
        match self.serialize_type {
            SerializeType::RocketMq if fits_binary => SerializeType::RocketMq,
            _ => SerializeType::Json,
        }
    }

    /// fastjson's output: properties in alphabetical order, nulls left out, enums by name.
    fn put_json_header(&self, dst: &mut BytesMut) {
        dst.put_slice(b"{\"code\":");
        put_decimal(dst, self.code.into());
        if !self.ext_fields.is_empty() {
            dst.put_slice(b",\"extFields\":{");
            for (index, (key, value)) in sorted_entries(&self.ext_fields).into_iter().enumerate() {
                if index > 0 {
                    dst.put_u8(b',');
                }
                put_json_string(dst, key);
                dst.put_u8(b':');
                put_json_string(dst, value);
            }
            dst.put_u8(b'}');
        }
        dst.put_slice(b",\"flag\":");
        put_decimal(dst, self.flag.into());
        // Java writes null (omitted) for a language it does not know; the reader then keeps JAVA.
        if let Some(name) = self.language.known_name() {
            dst.put_slice(b",\"language\":\"");
            dst.put_slice(name.as_bytes());
            dst.put_u8(b'"');
        }
        dst.put_slice(b",\"opaque\":");
        put_decimal(dst, self.opaque.into());
        if let Some(remark) = &self.remark {
            dst.put_slice(b",\"remark\":");
            put_json_string(dst, remark);
        }
        dst.put_slice(b",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":");
        put_decimal(dst, self.version.into());
        dst.put_u8(b'}');
    }

    /// Only called when [`Self::effective_serialize_type`] said the values fit.
    fn put_binary_header(&self, dst: &mut BytesMut) {
        dst.put_i16(self.code as i16);
        dst.put_u8(self.language.as_u8());
        dst.put_i16(self.version as i16);
        dst.put_i32(self.opaque);
        dst.put_i32(self.flag);
        match self.remark.as_deref() {
            Some(remark) if !remark.is_empty() => {
                dst.put_u32(remark.len() as u32);
                dst.put_slice(remark.as_bytes());
            }
            _ => dst.put_u32(0),
        }
        let ext_len_at = dst.len();
        dst.put_u32(0);
        for (key, value) in sorted_entries(&self.ext_fields) {
            // A zero length reads back as null, so empty keys cannot be sent.
            if key.is_empty() {
                continue;
            }
            dst.put_u16(key.len() as u16);
            dst.put_slice(key.as_bytes());
            dst.put_u32(value.len() as u32);
            dst.put_slice(value.as_bytes());
        }
        let ext_len = (dst.len() - ext_len_at - 4) as u32;
        dst[ext_len_at..ext_len_at + 4].copy_from_slice(&ext_len.to_be_bytes());
    }
}

/// Sorted so that encodings are deterministic (Java emits HashMap order; readers do not care).
fn sorted_entries(ext_fields: &ExtFields) -> Vec<(&str, &str)> {
    let mut entries: Vec<(&str, &str)> = ext_fields
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    entries.sort_unstable();
    entries
}

fn json_error(message: impl Into<String>) -> CodecError {
    CodecError::Json(message.into())
}

/// Parses a JSON header as leniently as fastjson: unknown fields ignored, missing ones defaulted,
/// numbers accepted as strings, the language as name or ordinal. Invalid UTF-8 is replaced, as
/// Java's decoder does.
fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, CodecError> {
    let text = String::from_utf8_lossy(header);
    let value: Value =
        serde_json::from_str(&text).map_err(|error| json_error(error.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(json_error("the header is not a JSON object"));
    };
    let mut command = RemotingCommand::default();
    for (name, value) in fields {
        match name.as_str() {
            "code" => command.code = json_i32(&value, "code")?,
            "language" => command.language = json_language(&value),
            "version" => command.version = json_i32(&value, "version")?,
            "opaque" => command.opaque = json_i32(&value, "opaque")?,
            "flag" => command.flag = json_i32(&value, "flag")?,
            "remark" => command.remark = json_to_string(value),
            "extFields" => command.ext_fields = json_ext_fields(value)?,
            _ => {}
        }
    }
    Ok(command)
}

/// An int field: a JSON number, a numeric string (`""` and `null` mean 0, like a missing field).
fn json_i32(value: &Value, field: &str) -> Result<i32, CodecError> {
    let parsed = match value {
        Value::Null => Some(0),
        Value::Number(number) => number.as_i64().and_then(|n| i32::try_from(n).ok()),
        Value::String(text) if text.trim().is_empty() => Some(0),
        Value::String(text) => text.trim().parse::<i32>().ok(),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => None,
    };
    parsed.ok_or_else(|| json_error(format!("field {field} is not an int: {value}")))
}

/// fastjson maps an unknown name (or an explicit null) to null, which we keep as `Unknown`.
fn json_language(value: &Value) -> LanguageCode {
    let unknown = LanguageCode::Unknown(LanguageCode::UNKNOWN_BYTE);
    match value {
        Value::String(name) => LanguageCode::from_name(name).unwrap_or(unknown),
        Value::Number(number) => number
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .map_or(unknown, LanguageCode::from_u8),
        _ => unknown,
    }
}

/// Strings as they are, other scalars and structures as their JSON text, null as absent.
fn json_to_string(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

fn json_ext_fields(value: Value) -> Result<ExtFields, CodecError> {
    match value {
        Value::Null => Ok(ExtFields::new()),
        Value::Object(entries) => Ok(entries
            .into_iter()
            .filter_map(|(key, value)| json_to_string(value).map(|value| (key, value)))
            .collect()),
        other => Err(json_error(format!("extFields is not an object: {other}"))),
    }
}

/// A bounds-checked big-endian reader over a header.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        if len > self.rest.len() {
            return Err(CodecError::Truncated {
                needed: len,
                available: self.rest.len(),
            });
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.array::<1>()?[0])
    }

    fn i16(&mut self) -> Result<i16, CodecError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, CodecError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// `readStr`: a zero length is null; a negative one or one past the end is an error.
    /// Invalid UTF-8 is replaced, as Java's `readCharSequence` does.
    fn string(&mut self, len: i32, what: &str) -> Result<Option<String>, CodecError> {
        let len = usize::try_from(len)
            .map_err(|_| CodecError::BadLength(format!("negative {what} length {len}")))?;
        if len == 0 {
            return Ok(None);
        }
        if len > self.rest.len() {
            return Err(CodecError::BadLength(format!(
                "{what} length {len} exceeds the {} bytes left",
                self.rest.len()
            )));
        }
        let bytes = self.take(len)?;
        // `from_utf8` is the fast check for the usual valid input; only bad bytes pay for replacement.
        Ok(Some(match std::str::from_utf8(bytes) {
            Ok(valid) => valid.to_owned(),
            Err(_) => String::from_utf8_lossy(bytes).into_owned(),
        }))
    }
}

fn decode_binary_header(header: &[u8]) -> Result<RemotingCommand, CodecError> {
    if header.len() < BINARY_FIXED_LENGTH {
        return Err(CodecError::Truncated {
            needed: BINARY_FIXED_LENGTH,
            available: header.len(),
        });
    }
    let mut reader = Reader { rest: header };
    let code = i32::from(reader.i16()?);
    let language = LanguageCode::from_u8(reader.u8()?);
    let version = i32::from(reader.i16()?);
    let opaque = reader.i32()?;
    let flag = reader.i32()?;
    let remark_len = reader.i32()?;
    let remark = reader.string(remark_len, "remark")?;
    let ext_len = reader.i32()?;
    // Java ignores a non-positive map length.
    let ext_fields = match usize::try_from(ext_len) {
        Ok(len) if len > 0 => {
            if len > reader.rest.len() {
                return Err(CodecError::BadLength(format!(
                    "extFields length {len} exceeds the {} header bytes left",
                    reader.rest.len()
                )));
            }
            decode_ext_map(reader.take(len)?)?
        }
        _ => ExtFields::new(),
    };
    // Bytes after the map are ignored, as in Java.
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        body: Bytes::new(),
        serialize_type: SerializeType::RocketMq,
    })
}

/// The map section. Keys may repeat (a FastCodes header written next to the same keys copied by
/// an RPC hook): the last one wins. A null value removes the key, as `put(k, null)` hides it in
/// Java; a null key is dropped.
fn decode_ext_map(section: &[u8]) -> Result<ExtFields, CodecError> {
    let mut reader = Reader { rest: section };
    // Sized up front: growing from empty rehashed a send's ~15 fields three times.
    let mut ext_fields = ExtFields::with_capacity(count_ext_entries(section));
    while !reader.rest.is_empty() {
        let key_len = i32::from(reader.i16()?);
        let key = reader.string(key_len, "extFields key")?;
        let value_len = reader.i32()?;
        let value = reader.string(value_len, "extFields value")?;
        match (key, value) {
            (Some(key), Some(value)) => {
                ext_fields.insert(key, value);
            }
            (Some(key), None) => {
                ext_fields.remove(&key);
            }
            (None, _) => {}
        }
    }
    Ok(ext_fields)
}

/// How many key/value entries a binary extFields section holds (stops at the first bad length; the real
/// decode reports it). Only a capacity hint.
fn count_ext_entries(section: &[u8]) -> usize {
    let (mut pos, mut count) = (0usize, 0usize);
    while let Some(key) = section.get(pos..pos.saturating_add(2)) {
        let key_len = i16::from_be_bytes([key[0], key[1]]).max(0) as usize;
        let at = pos + 2 + key_len;
        let Some(value) = section.get(at..at.saturating_add(4)) else {
            break;
        };
        let value_len =
            i32::from_be_bytes([value[0], value[1], value[2], value[3]]).max(0) as usize;
        pos = at.saturating_add(4).saturating_add(value_len);
        count += 1;
    }
    count.min(1024)
}

/// A decimal integer without allocating.
fn put_decimal(dst: &mut BytesMut, value: i64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        dst.put_u8(b'-');
    }
    dst.put_slice(&digits[start..]);
}

/// A JSON string escaped like fastjson's default `SerializeWriter`: `\"`, `\\`, `\b`, `\t`, `\n`,
/// `\f`, `\r` short; other C0 controls, DEL..U+009F and U+2028/U+2029 as uppercase `\uXXXX`;
/// `/` and all other non-ASCII characters raw UTF-8.
fn put_json_string(dst: &mut BytesMut, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    dst.put_u8(b'"');
    let mut copied = 0;
    for (index, ch) in text.char_indices() {
        let short = match ch {
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            '\u{8}' => Some(b'b'),
            '\t' => Some(b't'),
            '\n' => Some(b'n'),
            '\u{c}' => Some(b'f'),
            '\r' => Some(b'r'),
            _ => None,
        };
        let unicode = matches!(ch, '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}');
        if short.is_none() && !unicode {
            continue;
        }
        dst.put_slice(&text.as_bytes()[copied..index]);
        copied = index + ch.len_utf8();
        dst.put_u8(b'\\');
        if let Some(letter) = short {
            dst.put_u8(letter);
        } else {
            let code = ch as u32;
            dst.put_u8(b'u');
            for shift in [12, 8, 4, 0] {
                dst.put_u8(HEX[((code >> shift) & 0xF) as usize]);
            }
        }
    }
    dst.put_slice(&text.as_bytes()[copied..]);
    dst.put_u8(b'"');
}

#[cfg(test)]
mod tests;
