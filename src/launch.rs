//! Starting and stopping the roles of one process: binds the listeners, opens the broker, and drains on
//! SIGTERM (stop accepting, unregister, answer parked requests, close connections, persist and flush).
//!
//! A listen port of 0 binds an ephemeral port (tests); the broker then has no VIP channel, whose port
//! Java derives as `listenPort - 2`.

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::config::{BrokerConfig, NamesrvConfig};
use crate::metrics::ExporterType;
use crate::namesrv::NameServer;
use crate::remoting::{self, Shutdown};

/// Java's listen backlog (`serverSocketBacklog`); tokio's default of 128 drops SYNs when many clients
/// connect at once, each costing the client a 1 s retransmit.
const LISTEN_BACKLOG: u32 = 1024;

/// The roles running in this process and the handle that stops their listeners.
pub struct Running {
    pub broker: Option<Arc<Broker>>,
    pub namesrv: Option<Arc<NameServer>>,
    /// The broker's listen port (the one bound, when 0 was configured).
    pub broker_port: Option<u16>,
    pub namesrv_port: Option<u16>,
    /// The `/metrics` port when `metricsExporterType=PROM` (the one bound, when 0 was configured).
    pub metrics_port: Option<u16>,
    listeners: Shutdown,
    /// The `/metrics` listener task, aborted at stop.
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    /// The HA listener's port on a master (the one bound, when 0 was configured).
    pub ha_port: Option<u16>,
    /// Stops the HA listener and its connections, or the slave's HA client.
    ha_stop: tokio_util::sync::CancellationToken,
    /// The gRPC endpoint's port (`grpcServerPort`; the one bound, when 0), None when disabled.
    pub grpc_port: Option<u16>,
    /// Stops the gRPC endpoint.
    grpc_stop: tokio_util::sync::CancellationToken,
    grpc_task: Option<tokio::task::JoinHandle<()>>,
}

fn bind(port: u16, what: &str) -> anyhow::Result<TcpListener> {
    let listen = || -> std::io::Result<TcpListener> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([0, 0, 0, 0], port)))?;
        socket.listen(LISTEN_BACKLOG)
    };
    listen().with_context(|| format!("cannot listen on port {port} for the {what}"))
}

/// The gRPC listener: `grpcServerPort` (none when negative). Java's default port (8081) taken by another
/// process is a warning, not a failed start; a configured port must bind.
fn bind_grpc(config: &BrokerConfig) -> anyhow::Result<Option<TcpListener>> {
    let Some(port) = config.grpc_port() else {
        return Ok(None);
    };
    match bind(port, "gRPC endpoint") {
        Ok(listener) => Ok(Some(listener)),
        Err(e) if config.grpc_server_port.is_none() => {
            tracing::warn!(error = %e, "gRPC endpoint not started (set grpcServerPort)");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn bound_port(listener: &TcpListener) -> anyhow::Result<u16> {
    Ok(listener.local_addr()?.port())
}

impl Running {
    fn new() -> Self {
        Running {
            broker: None,
            namesrv: None,
            broker_port: None,
            namesrv_port: None,
            metrics_port: None,
            listeners: Shutdown::default(),
            metrics_task: None,
            ha_port: None,
            ha_stop: Default::default(),
            grpc_port: None,
            grpc_stop: Default::default(),
            grpc_task: None,
        }
    }

    /// The name server alone (like `mqnamesrv`).
    pub async fn namesrv(config: NamesrvConfig) -> anyhow::Result<Self> {
        let mut running = Running::new();
        running.start_namesrv(config)?;
        Ok(running)
    }

    /// The broker alone (like `mqbroker`).
    pub async fn broker(config: BrokerConfig) -> anyhow::Result<Self> {
        let mut running = Running::new();
        running.start_broker(config)?;
        Ok(running)
    }

    /// Name server and broker in one process; the broker registers with the embedded name server first,
    /// then with any other configured one.
    pub async fn standalone(
        mut broker: BrokerConfig,
        namesrv: NamesrvConfig,
    ) -> anyhow::Result<Self> {
        let mut running = Running::new();
        let port = running.start_namesrv(namesrv)?;
        let embedded = format!("127.0.0.1:{port}");
        broker.namesrv_addr = Some(match broker.namesrv_addr.take() {
            Some(extra) if !extra.split(';').any(|a| a.trim() == embedded) => {
                format!("{embedded};{extra}")
            }
            _ => embedded,
        });
        running.start_broker(broker)?;
        Ok(running)
    }

    fn start_namesrv(&mut self, config: NamesrvConfig) -> anyhow::Result<u16> {
        let listener = bind(config.listen_port, "name server")?;
        let port = bound_port(&listener)?;
        let tls = config.tls.server()?;
        let ns = NameServer::open(&NamesrvConfig {
            listen_port: port,
            ..config.clone()
        })?;
        ns.spawn_expiry();
        let tls_mode = config.tls.effective_mode();
        tracing::info!(port, ?tls_mode, "name server listening");
        tokio::spawn(remoting::serve(
            listener,
            ns.clone(),
            tls,
            self.listeners.clone(),
        ));
        self.namesrv = Some(ns);
        self.namesrv_port = Some(port);
        Ok(port)
    }

    fn start_broker(&mut self, mut config: BrokerConfig) -> anyhow::Result<()> {
        let main_listener = bind(config.listen_port, "broker")?;
        let vip_listener = match config.listen_port {
            0 => None,
            port => {
                let vip = port
                    .checked_sub(2)
                    .context("listenPort must be at least 2")?;
                Some((bind(vip, "broker VIP channel")?, vip))
            }
        };
        // Worked out before listen_port takes the bound port: an ephemeral broker port (0) means an
        // ephemeral HA port, not bound + 1, which another process may hold (and so for gRPC).
        let ha_port = config.ha_port();
        let grpc_listener = bind_grpc(&config)?;
        config.listen_port = bound_port(&main_listener)?;
        let ha_listener = match crate::ha::is_master(&config) {
            true => {
                let listener = bind(ha_port, "HA")?;
                config.ha_listen_port = Some(bound_port(&listener)?);
                Some(listener)
            }
            false => None,
        };
        let started = Instant::now();
        let tls = config.tls.server()?;
        let tls_mode = config.tls.effective_mode();
        let broker = Broker::open(config)?;
        broker.start();
        let serve = |listener| {
            remoting::serve(
                listener,
                broker.clone(),
                tls.clone(),
                self.listeners.clone(),
            )
        };
        tokio::spawn(serve(main_listener));
        let vip_port = vip_listener.map(|(listener, port)| {
            tokio::spawn(serve(listener));
            port
        });
        tracing::info!(
            port = broker.config.listen_port,
            vip_port,
            ?tls_mode,
            store = %broker.config.store.root_dir.display(),
            namesrv = ?broker.config.namesrv_addr,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "broker started"
        );
        self.broker_port = Some(broker.config.listen_port);
        self.start_ha(&broker, ha_listener);
        self.start_grpc(&broker, grpc_listener)?;
        self.start_metrics(&broker)?;
        self.broker = Some(broker);
        Ok(())
    }

    /// The 5.x gRPC endpoint in local mode (`crate::grpc`) on its own listener.
    fn start_grpc(
        &mut self,
        broker: &Arc<Broker>,
        listener: Option<TcpListener>,
    ) -> anyhow::Result<()> {
        let Some(listener) = listener else {
            return Ok(());
        };
        let port = bound_port(&listener)?;
        let acceptor = crate::grpc::tls::acceptor(&broker.config.tls)?;
        let endpoint = crate::grpc::GrpcEndpoint::new(broker.clone(), port);
        let tls = acceptor.is_some();
        tracing::info!(
            port,
            tls,
            "gRPC endpoint (MessagingService, local mode) listening"
        );
        let stop = self.grpc_stop.clone();
        let serve = crate::grpc::server::serve(endpoint, listener, acceptor, stop);
        self.grpc_task = Some(tokio::spawn(serve));
        self.grpc_port = Some(port);
        Ok(())
    }

    /// A master serves its commit log on the HA listener; a slave runs the HA client towards its master.
    fn start_ha(&mut self, broker: &Arc<Broker>, listener: Option<TcpListener>) {
        let stop = self.ha_stop.clone();
        if let (Some(master), Some(listener)) = (&broker.ha_master, listener) {
            self.ha_port = broker.config.ha_listen_port;
            tracing::info!(port = self.ha_port, "HA listening for slaves");
            tokio::spawn(crate::ha::master::serve(listener, master.clone(), stop));
            return;
        }
        if crate::ha::is_master(&broker.config) {
            return;
        }
        let sink = crate::ha::store_sink(&broker.store);
        let woken = Arc::downgrade(broker);
        let arrived: crate::ha::slave::Arrived = Arc::new(move |topic, queue_id| {
            if let Some(broker) = woken.upgrade() {
                broker.message_arrived(topic, queue_id);
            }
        });
        // The master's HA address: `haMasterAddress`, else `haServerAddr` from REGISTER_BROKER's answer.
        tokio::spawn(crate::ha::slave::run(
            broker.masters.ha_addr(),
            sink,
            broker.config.ha.clone(),
            arrived,
            broker.ha_client.clone(),
            stop,
        ));
    }

    /// `BrokerMetricsManager.init`: PROM serves `/metrics` on `metricsPromExporterHost` (blank: brokerIP1)
    /// and `metricsPromExporterPort`; OTLP_GRPC and LOG are accepted but not served by rmqd.
    fn start_metrics(&mut self, broker: &Arc<Broker>) -> anyhow::Result<()> {
        let config = &broker.config;
        match config.metrics_exporter_type {
            ExporterType::Disable => return Ok(()),
            ExporterType::Prom => {}
            other => {
                tracing::warn!(
                    exporter = other.java_name(),
                    "metricsExporterType is not served by rmqd (only PROM is): no metrics exported"
                );
                return Ok(());
            }
        }
        let host = match config.metrics_prom_exporter_host.trim() {
            "" => config.broker_ip1.as_str(),
            host => host,
        };
        let port = config.metrics_prom_exporter_port;
        let addr = (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .with_context(|| format!("metricsPromExporterHost {host:?} is not an address"))?;
        let listener = std::net::TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr} for /metrics"))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let bound = bound_port(&listener)?;
        tracing::info!(%addr, port = bound, "metrics (Prometheus) listening on /metrics");
        let source = broker.clone();
        let render: crate::metrics::http::Render = Arc::new(move || source.render_metrics());
        self.metrics_task = Some(tokio::spawn(crate::metrics::http::serve(listener, render)));
        self.metrics_port = Some(bound);
        Ok(())
    }

    /// The orderly stop (SIGTERM): no new connections; the broker leaves the name servers and answers
    /// its parked requests; connections close once their queued answers are out (each at most 1 s), at
    /// most `timeout` in all; then offsets and configs are persisted (the name server's kvConfig.json
    /// too) and the store flushed, whatever time is left.
    pub async fn stop(self, timeout: Duration) {
        let started = Instant::now();
        tracing::info!(
            timeout_ms = timeout.as_millis() as u64,
            "shutting down: no new connections"
        );
        self.listeners.stop_accepting();
        self.ha_stop.cancel();
        self.grpc_stop.cancel();
        if let Some(task) = &self.metrics_task {
            task.abort();
        }
        if let Some(broker) = &self.broker {
            let leaving = broker.stop_serving();
            if tokio::time::timeout(timeout / 2, leaving).await.is_err() {
                tracing::warn!("name servers did not answer the unregistration in time");
            }
        }
        self.listeners.close_connections();
        let left = timeout.saturating_sub(started.elapsed());
        if tokio::time::timeout(left, self.listeners.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = self.listeners.open_connections(),
                "connections still open at the shutdown timeout, leaving them"
            );
        } else {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "connections closed"
            );
        }
        if let Some(task) = self.grpc_task {
            // Open Telemetry streams would hold a graceful stop forever: give them a moment, then leave.
            let _ = tokio::time::timeout(Duration::from_secs(1), task).await;
        }
        if let Some(broker) = &self.broker {
            broker.shutdown().await;
        }
        if let Some(namesrv) = &self.namesrv {
            namesrv.shutdown();
        }
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "shutdown complete"
        );
    }
}
