//! The SEND_BATCH_MESSAGE body: client-encoded elements (`MessageDecoder.encodeMessages`).
//!
//! ```text
//! int32 TOTALSIZE | int32 MAGIC (0) | int32 BODYCRC (0) | int32 FLAG | int32 BODYLEN | BODY | int16 PROPLEN | PROPS
//! ```
//! The broker reads the fields sequentially and ignores TOTALSIZE, MAGIC and BODYCRC, so decoding does too:
//! a client that writes a wrong TOTALSIZE is accepted exactly as the Java broker accepts it.

use bytes::{BufMut, Bytes, BytesMut};

use crate::CodecError;

/// One message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchElement {
    pub flag: i32,
    /// A zero-copy slice of the request body.
    pub body: Bytes,
    /// The element's own property string; batch-level properties are not included.
    pub properties: String,
}

impl BatchElement {
    /// Encoded length of this element: 4+4+4+4 + 4+body + 2+props.
    pub fn encoded_len(&self) -> usize {
        22 + self.body.len() + self.properties.len()
    }
}

fn need(buf: &[u8], pos: usize, n: usize) -> Result<(), CodecError> {
    if buf.len() < pos + n {
        Err(CodecError::Truncated {
            needed: pos + n,
            available: buf.len(),
        })
    } else {
        Ok(())
    }
}

fn read_i32(buf: &[u8], pos: usize) -> Result<i32, CodecError> {
    need(buf, pos, 4)?;
    Ok(i32::from_be_bytes([
        buf[pos],
        buf[pos + 1],
        buf[pos + 2],
        buf[pos + 3],
    ]))
}

/// Decodes every element of a batch body. Bodies are slices of `body` (no copy).
pub fn decode(body: &Bytes) -> Result<Vec<BatchElement>, CodecError> {
    let buf: &[u8] = body;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        // TOTALSIZE, MAGIC and BODYCRC are read and ignored, like the broker does.
        let flag = read_i32(buf, pos + 12)?;
        let body_len = read_i32(buf, pos + 16)?;
        let body_len = usize::try_from(body_len).map_err(|_| {
            CodecError::InvalidMessage(format!("negative batch body length {body_len}"))
        })?;
        let body_start = pos + 20;
        need(buf, body_start, body_len)?;
        let props_pos = body_start + body_len;
        need(buf, props_pos, 2)?;
        let props_len = i16::from_be_bytes([buf[props_pos], buf[props_pos + 1]]);
        let props_len = usize::try_from(props_len).map_err(|_| {
            CodecError::InvalidMessage(format!("negative batch properties length {props_len}"))
        })?;
        let props_start = props_pos + 2;
        need(buf, props_start, props_len)?;
        let properties = std::str::from_utf8(&buf[props_start..props_start + props_len])
            .map_err(|_| CodecError::Utf8("batch element properties"))?;
        out.push(BatchElement {
            flag,
            body: body.slice(body_start..props_pos),
            properties: properties.to_owned(),
        });
        pos = props_start + props_len;
    }
    Ok(out)
}

/// Encodes elements the way the Java client does (MAGIC and BODYCRC written as 0).
/// Fails when a body exceeds `i32::MAX` or a property string exceeds 32767 bytes.
pub fn encode(elems: &[BatchElement], dst: &mut BytesMut) -> Result<(), CodecError> {
    for e in elems {
        if e.properties.len() > i16::MAX as usize {
            return Err(CodecError::InvalidMessage(format!(
                "batch element properties too long: {} bytes",
                e.properties.len()
            )));
        }
        if e.encoded_len() > i32::MAX as usize {
            return Err(CodecError::InvalidMessage("batch element too large".into()));
        }
    }
    dst.reserve(elems.iter().map(BatchElement::encoded_len).sum());
    for e in elems {
        // Both casts are checked above.
        dst.put_i32(e.encoded_len() as i32);
        dst.put_i32(0);
        dst.put_i32(0);
        dst.put_i32(e.flag);
        dst.put_i32(e.body.len() as i32);
        dst.put_slice(&e.body);
        dst.put_i16(e.properties.len() as i16);
        dst.put_slice(e.properties.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<BatchElement> {
        vec![
            BatchElement {
                flag: 7,
                body: Bytes::from_static(b"hello"),
                properties: "TAGS\u{1}A\u{2}".into(),
            },
            BatchElement {
                flag: 0,
                body: Bytes::new(),
                properties: String::new(),
            },
        ]
    }

    #[test]
    fn exact_bytes_of_one_element() {
        let mut buf = BytesMut::new();
        encode(&sample()[..1], &mut buf).unwrap();
        let mut expected = Vec::new();
        expected.extend_from_slice(&34i32.to_be_bytes());
        expected.extend_from_slice(&[0; 8]);
        expected.extend_from_slice(&7i32.to_be_bytes());
        expected.extend_from_slice(&5i32.to_be_bytes());
        expected.extend_from_slice(b"hello");
        expected.extend_from_slice(&7i16.to_be_bytes());
        expected.extend_from_slice(b"TAGS\x01A\x02");
        assert_eq!(&buf[..], &expected[..]);
    }

    #[test]
    fn round_trip_is_zero_copy() {
        let mut buf = BytesMut::new();
        encode(&sample(), &mut buf).unwrap();
        let body = buf.freeze();
        let decoded = decode(&body).unwrap();
        assert_eq!(decoded, sample());
        let start = body.as_ptr() as usize;
        let elem = decoded[0].body.as_ptr() as usize;
        assert!(elem >= start && elem < start + body.len());
    }

    #[test]
    fn every_prefix_fails_or_is_a_whole_element() {
        let mut buf = BytesMut::new();
        encode(&sample(), &mut buf).unwrap();
        let full = buf.freeze();
        let first_len = sample()[0].encoded_len();
        for cut in 1..full.len() {
            let result = decode(&full.slice(..cut));
            if cut == first_len {
                assert_eq!(result.unwrap().len(), 1);
            } else {
                assert!(result.is_err(), "prefix {cut} decoded");
            }
        }
    }

    #[test]
    fn negative_lengths_are_rejected() {
        let mut raw = BytesMut::new();
        encode(&sample()[..1], &mut raw).unwrap();
        raw[16..20].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode(&raw.clone().freeze()).is_err());
    }
}
