//! The TCP client-to-server listener (port 5222): accepts connections, drives one `C2sStream` per
//! connection, upgrades to TLS on STARTTLS, and carries the machine's outputs out against the core.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::{CloseCause, Control, Core, Origin, SessionEnd, SessionHandle, Transport};
use herald_proto::{LogThrottle, StreamErrorCondition, ns};
use herald_stream::{C2sStream, Output, StreamConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use super::session;
use crate::admission::Admission;
use crate::shutdown::Shutdown;

/// Everything a c2s connection needs, shared by all of them.
pub struct C2sContext {
    /// The routing core.
    pub core: Core,
    /// Stream settings (domain, limits, TLS policy, negotiation timeout).
    pub stream: Arc<StreamConfig>,
    /// TLS for STARTTLS; `None` when TLS is unavailable.
    pub tls: Option<TlsAcceptor>,
    /// Connection slots and per-source limits, shared with the HTTP listeners.
    pub admission: Arc<Admission>,
    /// Longest a write to a client may take before the connection is dropped as stuck.
    pub write_timeout: Duration,
    /// Longest the STARTTLS handshake may take.
    pub tls_handshake_timeout: Duration,
    /// The server's stop signal; every connection holds this context, and so counts as running
    /// until it ends.
    pub shutdown: Shutdown,
}

/// Accepts connections on `listener` until the server stops (the context's `shutdown`); each
/// open connection is then sent `<system-shutdown/>` and closes, and the shutdown's trigger
/// learns that it has ended when its copy of the context is dropped.
pub async fn serve_c2s(listener: TcpListener, ctx: Arc<C2sContext>) {
    tracing::info!(target: "notification", addr = ?listener.local_addr().ok(), "c2s listener started");
    crate::accept::accept_loop(listener, ctx.admission.clone(), ctx.shutdown.clone(), |socket, peer, _permit| {
        handle_connection(socket, peer, ctx.clone())
    })
    .await;
    tracing::info!(target: "notification", "c2s listener stopped");
}

enum Flow {
    UpgradeTls,
    Closed,
}

enum Event {
    Read(std::io::Result<usize>),
    /// The client's byte budget allows reading again.
    Resume,
    Deliver(herald_xml::Element),
    Control(Control),
    Timeout,
    Shutdown,
}

struct Connection {
    ctx: Arc<C2sContext>,
    machine: C2sStream,
    session: Option<SessionHandle>,
    peer: SocketAddr,
    /// When the client last sent anything.
    last_activity: Instant,
    /// Why the connection ended, once known: the session record's name for it, and the core's.
    cause: &'static str,
    core_cause: CloseCause,
    /// Summarises the "over its byte budget" lines of this connection.
    throttle_log: LogThrottle,
    /// Whether the server's stop has been heard (it is acted on once).
    stopping: bool,
    /// The core's order the stream was closed on (an administrator's kick, a reconnect), which
    /// its close is recorded as.
    ordered: Option<herald_core::CloseCause>,
}

async fn handle_connection(mut socket: TcpStream, peer: SocketAddr, ctx: Arc<C2sContext>) {
    let machine = C2sStream::new(ctx.stream.clone(), format!("{:016x}", rand::random::<u64>()), Instant::now());
    let mut conn = Connection {
        ctx,
        machine,
        session: None,
        peer,
        last_activity: Instant::now(),
        cause: "connection-lost",
        core_cause: CloseCause::ConnectionLost,
        throttle_log: LogThrottle::default(),
        stopping: false,
        ordered: None,
    };
    tracing::debug!(target: "notification", %peer, "c2s connection opened");
    if let Flow::UpgradeTls = conn.run(&mut socket).await
        && let Some(acceptor) = conn.ctx.tls.clone()
    {
        match tokio::time::timeout(conn.ctx.tls_handshake_timeout, acceptor.accept(socket)).await {
            Ok(Ok(mut tls)) => {
                conn.machine.tls_established();
                conn.run(&mut tls).await;
            }
            Ok(Err(err)) => tracing::info!(target: "notification", %peer, %err, "TLS handshake failed"),
            Err(_) => tracing::info!(target: "notification", %peer, "TLS handshake timed out"),
        }
    }
    conn.finish().await;
}

impl Connection {
    /// Runs the connection over `io` until it closes or asks for TLS.
    async fn run<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> Flow {
        let shutdown = self.ctx.shutdown.clone();
        let mut buf = vec![0u8; 4096];
        loop {
            if let Some(flow) = self.process_outputs(io).await {
                return flow;
            }
            let deadline = self.machine.poll_timeout();
            // Over its byte budget, the client is not read from until the budget allows: TCP
            // backpressure slows it down, and it costs no one else anything.
            let paused = session::paused_until(&self.machine, &mut self.throttle_log, || self.peer.to_string());
            let event = tokio::select! {
                read = io.read(&mut buf), if paused.is_none() => Event::Read(read),
                () = session::sleep_until_opt(paused) => Event::Resume,
                from_core = session::from_core(&mut self.session) => match from_core {
                    session::FromCore::Stanza(el) => Event::Deliver(el),
                    session::FromCore::Control(ctl) => Event::Control(ctl),
                },
                () = session::sleep_until_opt(deadline) => Event::Timeout,
                () = shutdown.recv(), if !self.stopping => Event::Shutdown,
            };
            match event {
                Event::Read(Ok(0)) | Event::Read(Err(_)) => {
                    match self.machine.jid() {
                        Some(jid) => tracing::info!(target: "notification", peer = %self.peer, %jid, "connection lost"),
                        None => tracing::debug!(target: "notification", peer = %self.peer, "connection lost before binding"),
                    }
                    return Flow::Closed;
                }
                Event::Read(Ok(n)) => {
                    self.last_activity = Instant::now();
                    session::count_request(&self.session);
                    self.machine.handle_input(&buf[..n], self.last_activity);
                }
                Event::Deliver(el) => {
                    if !self.write_stanza(io, &el).await {
                        return Flow::Closed;
                    }
                }
                Event::Control(order) => {
                    let (condition, text, cause) = session::ordered_close(&order);
                    self.ordered = cause;
                    self.machine.close(condition, text)
                }
                Event::Shutdown => {
                    self.stopping = true;
                    self.machine.close(StreamErrorCondition::SystemShutdown, "the server is shutting down");
                }
                Event::Timeout => self.machine.handle_timeout(Instant::now()),
                Event::Resume => {}
            }
        }
    }

    async fn write<S: AsyncWrite + Unpin>(&self, io: &mut S, data: &[u8]) -> bool {
        let write = async {
            io.write_all(data).await?;
            io.flush().await
        };
        matches!(tokio::time::timeout(self.ctx.write_timeout, write).await, Ok(Ok(())))
    }

    async fn write_stanza<S: AsyncWrite + Unpin>(&self, io: &mut S, el: &herald_xml::Element) -> bool {
        let text = el.to_xml_in(ns::CLIENT);
        let written = self.write(io, text.as_bytes()).await;
        if written {
            session::count_sent(&self.session, 1, text.len());
        }
        written
    }

    /// Carries out every pending output; returns how the connection goes on, if it does not.
    async fn process_outputs<S: AsyncRead + AsyncWrite + Unpin>(&mut self, io: &mut S) -> Option<Flow> {
        let core = self.ctx.core.clone();
        let peer = self.peer.to_string();
        let origin = Origin { transport: Transport::Tcp, source: self.peer.ip() };
        while let Some(output) = self.machine.poll_output() {
            match session::apply(&core, &mut self.machine, &mut self.session, output, &peer, origin).await {
                None => {}
                Some(Output::Send(data)) => {
                    if !self.write(io, data.as_bytes()).await {
                        return Some(Flow::Closed);
                    }
                    session::count_sent(&self.session, 1, data.len());
                }
                Some(Output::StartTls) => return Some(Flow::UpgradeTls),
                Some(Output::Close(reason)) => {
                    session::log_close(&peer, &reason);
                    (self.cause, self.core_cause) = session::stream_end(&reason, self.ordered);
                    // Shutting down the writer sends TLS close_notify before the FIN.
                    let _ = tokio::time::timeout(Duration::from_secs(2), io.shutdown()).await;
                    return Some(Flow::Closed);
                }
                Some(_) => {}
            }
        }
        None
    }

    /// Unbinds the session, handing stanzas still queued back to the core.
    async fn finish(self) {
        let jid = self.session.as_ref().map(|s| s.jid.to_string());
        session::record_close("tcp", &self.peer.to_string(), jid.as_deref(), self.cause, self.last_activity);
        let end = SessionEnd { cause: self.core_cause, last_activity: self.last_activity };
        session::finish(&self.ctx.core, self.session, Vec::new(), end).await;
    }
}
