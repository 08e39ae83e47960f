//! Raw frames over a blocking socket: what the hostile suite writes and reads.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rmq_codec::command::RemotingCommand;

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Connects through one of ten loopback addresses (rmqd listens on 0.0.0.0), so that thousands of
/// connections and their TIME_WAIT leftovers do not exhaust the ephemeral ports of a single 4-tuple family
/// (which made connect() take seconds each once ~20,000 were in use).
pub fn connect_spread(port: u16, n: usize) -> TcpStream {
    let ip = std::net::Ipv4Addr::new(127, 0, 0, 2 + (n % 10) as u8);
    let s = TcpStream::connect((ip, port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

pub fn write_command(stream: &mut TcpStream, cmd: &RemotingCommand) {
    let mut buf = BytesMut::new();
    cmd.encode(&mut buf);
    stream.write_all(&buf).unwrap();
}

pub fn read_frame(stream: &mut TcpStream) -> Option<RemotingCommand> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut frame).ok()?;
    Some(RemotingCommand::decode(Bytes::from(frame)).unwrap())
}

pub fn roundtrip(stream: &mut TcpStream, cmd: &RemotingCommand) -> RemotingCommand {
    write_command(stream, cmd);
    read_frame(stream).expect("a response")
}

/// `[total][type << 24 | headerLen][header][body]` with the lengths computed from the parts.
pub fn raw_frame(type_byte: u8, header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((4 + header.len() + body.len()) as u32).to_be_bytes());
    out.extend_from_slice(&((u32::from(type_byte) << 24) | header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// True when the server closes the connection (EOF or reset) within `wait`, without answering.
pub fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
    }
}
