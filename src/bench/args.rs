//! Command-line options of `rmqd bench`.

use std::time::Duration;

use thiserror::Error;

pub const USAGE: &str = "\
usage: rmqd bench produce|consume|e2e -n NAMESRV --topic T [options]
       rmqd bench echo-server --port P
       rmqd bench echo --addr HOST:PORT [--threads N --size B --duration S --json]
       rmqd bench disk --dir D [--size B --duration S --json]
  -n, --namesrv ADDR   name server, host:port[;host:port]
  --topic T            topic (created with --queues queues on every broker if missing)
  --threads N          connections (producers, or pull connections) [4]
  --size BYTES         message body size [128]
  --duration S         seconds to run [10]
  --batch K            send K messages per SEND_BATCH_MESSAGE [1 = SEND_MESSAGE_V2]
  --async              pipeline requests: up to --inflight in flight per connection
  --inflight N         in-flight requests per connection with --async [64]
  --rate R             total messages per second (fixed rate; e2e default 1000, else unlimited)
  --queues Q           queues of a topic created by the benchmark [8]
  --group G            consumer group [rmqd_bench_consumer]
  --from-start         consume from offset 0 instead of the current end
  --topics N           spread sends over N topics T-0..T-{N-1} (created if missing) [1 = T itself]
  --count N            send exactly N messages (produce), or stop once N were received (consume)
  --json               progress on stderr, the summary as one JSON object on stdout
  --grpc HOST:PORT     produce/consume through a 5.x gRPC endpoint (rmqd's grpcServerPort or Java's proxy)
                       instead of the remoting protocol; -n still creates the topic. consume receives and
                       acks as a SimpleConsumer of --group; --async --inflight N runs N requests per channel
ceilings of the machine, without a broker:
  echo-server          length-prefixed TCP echo on 127.0.0.1:--port (runs until killed)
  echo                 --threads connections, each a synchronous --size byte request/response loop
  disk                 one thread: append --size bytes to a file in --dir, fdatasync, repeat";

/// What the benchmark does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Produce,
    Consume,
    /// Producer at a fixed rate and consumer in one process; latency is receive time minus born time.
    E2e,
    /// TCP echo server for the loopback ceiling.
    EchoServer,
    /// Synchronous request/response against `echo-server`: the loopback ceiling.
    Echo,
    /// Append + fdatasync loop: the flush ceiling of a disk.
    Disk,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Produce => "produce",
            Mode::Consume => "consume",
            Mode::E2e => "e2e",
            Mode::EchoServer => "echo-server",
            Mode::Echo => "echo",
            Mode::Disk => "disk",
        }
    }

    /// Whether the mode talks to a broker (and so needs a name server and a topic).
    pub fn needs_broker(self) -> bool {
        matches!(self, Mode::Produce | Mode::Consume | Mode::E2e)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchArgs {
    pub mode: Mode,
    pub namesrv: String,
    pub topic: String,
    pub threads: usize,
    pub size_bytes: usize,
    pub duration: Duration,
    pub batch: usize,
    /// In-flight requests per connection: 1 without `--async`.
    pub inflight: usize,
    /// Total messages per second over all producer connections; `None` is as fast as possible.
    pub rate: Option<u64>,
    pub queues: i32,
    pub group: String,
    pub from_start: bool,
    pub json: bool,
    /// Topics the sends are spread over (`T-0`..); 1 means the topic itself.
    pub topics: usize,
    /// Stop after this many messages sent (produce) or received (consume, e2e).
    pub count: Option<u64>,
    /// Echo server address (`echo`).
    pub addr: String,
    /// Listen port (`echo-server`).
    pub port: u16,
    /// Directory of the test file (`disk`).
    pub dir: String,
    /// gRPC endpoint (`--grpc`): produce and consume speak apache.rocketmq.v2 to it.
    pub grpc: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ArgsError {
    #[error("help requested")]
    Help,
    #[error("missing mode: produce, consume or e2e")]
    MissingMode,
    #[error("unknown mode {0:?}: produce, consume or e2e")]
    UnknownMode(String),
    #[error("{0} needs a value")]
    MissingValue(&'static str),
    #[error("{flag}: {value:?} is not a valid number (allowed {min}..={max})")]
    BadNumber {
        flag: &'static str,
        value: String,
        min: u64,
        max: u64,
    },
    #[error("unknown argument {0:?}")]
    Unknown(String),
    #[error("{0} is required")]
    Required(&'static str),
    #[error("--grpc works with produce and consume only")]
    GrpcMode,
}

/// Upper bounds that keep a typo from allocating gigabytes or opening thousands of sockets.
const MAX_THREADS: u64 = 1024;
const MAX_SIZE_BYTES: u64 = 4 << 20;
const MAX_BATCH: u64 = 1024;
const MAX_INFLIGHT: u64 = 4096;
const MAX_QUEUES: u64 = 1024;
const MAX_DURATION_S: u64 = 7 * 24 * 3600;
const MAX_TOPICS: u64 = 100_000;

fn number(flag: &'static str, value: Option<String>, min: u64, max: u64) -> Result<u64, ArgsError> {
    let value = value.ok_or(ArgsError::MissingValue(flag))?;
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ArgsError::BadNumber {
            flag,
            value,
            min,
            max,
        }),
    }
}

impl BenchArgs {
    /// Parses everything after `rmqd bench`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut args = args.into_iter();
        let mode = match args.next().as_deref() {
            None => return Err(ArgsError::MissingMode),
            Some("-h" | "--help" | "help") => return Err(ArgsError::Help),
            Some("produce") => Mode::Produce,
            Some("consume") => Mode::Consume,
            Some("e2e") => Mode::E2e,
            Some("echo-server") => Mode::EchoServer,
            Some("echo") => Mode::Echo,
            Some("disk") => Mode::Disk,
            Some(other) => return Err(ArgsError::UnknownMode(other.to_string())),
        };
        let mut parsed = BenchArgs {
            mode,
            namesrv: String::new(),
            topic: String::new(),
            threads: 4,
            size_bytes: 128,
            duration: Duration::from_secs(10),
            batch: 1,
            inflight: 1,
            rate: None,
            queues: 8,
            group: "rmqd_bench_consumer".to_string(),
            from_start: false,
            json: false,
            topics: 1,
            count: None,
            addr: String::new(),
            port: 0,
            dir: String::new(),
            grpc: None,
        };
        let mut pipelined = false;
        let mut inflight = 64;
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "-n" | "--namesrv" => {
                    parsed.namesrv = args.next().ok_or(ArgsError::MissingValue("-n"))?
                }
                "--grpc" => {
                    parsed.grpc = Some(args.next().ok_or(ArgsError::MissingValue("--grpc"))?)
                }
                "--topic" | "-t" => {
                    parsed.topic = args.next().ok_or(ArgsError::MissingValue("--topic"))?
                }
                "--group" | "-g" => {
                    parsed.group = args.next().ok_or(ArgsError::MissingValue("--group"))?
                }
                "--threads" => {
                    parsed.threads = number("--threads", args.next(), 1, MAX_THREADS)? as usize
                }
                "--size" => {
                    parsed.size_bytes = number("--size", args.next(), 0, MAX_SIZE_BYTES)? as usize
                }
                "--duration" => {
                    let secs = number("--duration", args.next(), 1, MAX_DURATION_S)?;
                    parsed.duration = Duration::from_secs(secs);
                }
                "--batch" => parsed.batch = number("--batch", args.next(), 1, MAX_BATCH)? as usize,
                "--inflight" => {
                    inflight = number("--inflight", args.next(), 1, MAX_INFLIGHT)? as usize
                }
                "--rate" => parsed.rate = Some(number("--rate", args.next(), 1, u64::MAX >> 1)?),
                "--queues" => {
                    parsed.queues = number("--queues", args.next(), 1, MAX_QUEUES)? as i32
                }
                "--topics" => {
                    parsed.topics = number("--topics", args.next(), 1, MAX_TOPICS)? as usize
                }
                "--count" => parsed.count = Some(number("--count", args.next(), 1, u64::MAX >> 1)?),
                "--addr" => parsed.addr = args.next().ok_or(ArgsError::MissingValue("--addr"))?,
                "--port" => parsed.port = number("--port", args.next(), 1, 65535)? as u16,
                "--dir" => parsed.dir = args.next().ok_or(ArgsError::MissingValue("--dir"))?,
                "--async" => pipelined = true,
                "--from-start" => parsed.from_start = true,
                "--json" => parsed.json = true,
                "-h" | "--help" => return Err(ArgsError::Help),
                other => return Err(ArgsError::Unknown(other.to_string())),
            }
        }
        match parsed.mode {
            Mode::EchoServer if parsed.port == 0 => return Err(ArgsError::Required("--port")),
            Mode::Echo if parsed.addr.is_empty() => return Err(ArgsError::Required("--addr")),
            Mode::Disk if parsed.dir.is_empty() => return Err(ArgsError::Required("--dir")),
            Mode::Produce | Mode::Consume => {}
            _ if parsed.grpc.is_some() => return Err(ArgsError::GrpcMode),
            _ => {}
        }
        if parsed.mode.needs_broker() {
            if parsed.namesrv.is_empty() {
                parsed.namesrv =
                    std::env::var("NAMESRV_ADDR").map_err(|_| ArgsError::Required("-n"))?;
            }
            if parsed.topic.is_empty() {
                return Err(ArgsError::Required("--topic"));
            }
        }
        if pipelined {
            parsed.inflight = inflight;
        }
        if parsed.mode == Mode::E2e && parsed.rate.is_none() {
            parsed.rate = Some(1000);
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<BenchArgs, ArgsError> {
        BenchArgs::parse(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn defaults_and_flags() {
        let args = parse("produce -n 127.0.0.1:9876 --topic T").unwrap();
        assert_eq!(args.mode, Mode::Produce);
        assert_eq!((args.threads, args.size_bytes, args.batch), (4, 128, 1));
        assert_eq!(args.inflight, 1, "synchronous without --async");
        assert_eq!(args.rate, None);
        let args = parse(
            "e2e -n a:1 --topic T --threads 2 --size 10 --duration 3 --batch 4 --async --inflight 8 --queues 2 --json --from-start --group G",
        )
        .unwrap();
        assert_eq!(args.mode, Mode::E2e);
        assert_eq!(args.inflight, 8);
        assert_eq!(args.rate, Some(1000), "e2e runs at a fixed rate by default");
        assert_eq!(args.duration, Duration::from_secs(3));
        assert_eq!((args.batch, args.queues, args.size_bytes), (4, 2, 10));
        assert!(args.json && args.from_start);
        assert_eq!(args.group, "G");
        assert_eq!(
            parse("consume -n a:1 --topic T --async").unwrap().inflight,
            64
        );
        let args = parse("produce -n a:1 --topic T --topics 1000 --count 5").unwrap();
        assert_eq!((args.topics, args.count), (1000, Some(5)));
    }

    #[test]
    fn ceiling_modes_need_no_broker() {
        let args = parse("echo --addr 127.0.0.1:9 --threads 64 --size 1024 --duration 2").unwrap();
        assert_eq!(args.mode, Mode::Echo);
        assert_eq!((args.addr.as_str(), args.threads), ("127.0.0.1:9", 64));
        assert_eq!(parse("echo-server --port 7000").unwrap().port, 7000);
        assert_eq!(parse("disk --dir /x").unwrap().dir, "/x");
        assert!(matches!(
            parse("echo-server --port 70000"),
            Err(ArgsError::BadNumber { .. })
        ));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse(""), Err(ArgsError::MissingMode));
        assert_eq!(parse("echo"), Err(ArgsError::Required("--addr")));
        assert_eq!(parse("echo-server"), Err(ArgsError::Required("--port")));
        assert_eq!(
            parse("e2e -n x:1 --topic t --grpc h:1"),
            Err(ArgsError::GrpcMode)
        );
        assert_eq!(parse("disk --size 1"), Err(ArgsError::Required("--dir")));
        assert_eq!(parse("fly"), Err(ArgsError::UnknownMode("fly".into())));
        assert_eq!(parse("produce -n a:1"), Err(ArgsError::Required("--topic")));
        assert!(matches!(
            parse("produce -n a:1 --topic T --threads 0"),
            Err(ArgsError::BadNumber { .. })
        ));
        assert!(matches!(
            parse("produce -n a:1 --topic T --size 1x"),
            Err(ArgsError::BadNumber { .. })
        ));
        assert_eq!(
            parse("produce -n a:1 --topic T --threads"),
            Err(ArgsError::MissingValue("--threads"))
        );
        assert_eq!(
            parse("produce -n a:1 --topic T --bogus"),
            Err(ArgsError::Unknown("--bogus".into()))
        );
    }
}
