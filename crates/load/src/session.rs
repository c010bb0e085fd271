//! One logged-in client session over whichever transport a run uses ([`Session`]): how it is
//! established (and subscribed, for the fan-out), the fan-out's publisher, and how it is held
//! the way a desktop holds it.

use std::sync::atomic::{AtomicU64, Ordering};

use herald_xml::Element;
use tokio::sync::watch;

use crate::bosh::BoshClient;
use crate::fanout::Fanout;
use crate::tcp::TcpClient;
use crate::ws::WsClient;
use crate::xmpp::{SaltCache, XmppIo, login};
use crate::{LoadError, Options, Transport};

/// Logs a session in over its transport and, for the fan-out scenario, subscribes it.
pub(crate) async fn establish(
    opts: &Options,
    n: usize,
    user: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
    cache: &SaltCache,
    fanout: Option<&Fanout>,
) -> Result<Session, LoadError> {
    let mut session = match (opts.transport, tls) {
        (Transport::Tcp, Some(tls)) => Session::Tcp(Box::new(TcpClient::connect(opts, n, tls).await?)),
        (Transport::WebSocket, _) => Session::WebSocket(Box::new(WsClient::connect(opts, n).await?)),
        _ => {
            let mut c = BoshClient::connect(opts, n, tls.filter(|_| opts.https)).await?;
            c.create().await?;
            Session::Bosh(c)
        }
    };
    login(&mut session, opts, user, "load", cache).await?;
    if let Some(fanout) = fanout {
        fanout.subscribe(&mut session, opts, user, Some("load"), n).await?;
    }
    Ok(session)
}

/// The fan-out publisher: over TCP when a CA is given, over WebSocket otherwise (either pushes
/// publishes without waiting for each answer).
pub(crate) async fn publisher(opts: &Options, tls: Option<&tokio_rustls::TlsConnector>, cache: &SaltCache) -> Result<Session, LoadError> {
    let mut session = match tls {
        Some(tls) => Session::Tcp(Box::new(TcpClient::connect(opts, opts.sessions, tls).await?)),
        None => Session::WebSocket(Box::new(WsClient::connect(opts, opts.sessions).await?)),
    };
    login(&mut session, opts, &opts.publisher, "load", cache).await?;
    Ok(session)
}

pub(crate) enum Session {
    Bosh(BoshClient),
    Tcp(Box<TcpClient>),
    WebSocket(Box<WsClient>),
}

impl XmppIo for Session {
    async fn send(&mut self, xml: &str) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.send(xml).await,
            Session::Tcp(c) => c.send(xml).await,
            Session::WebSocket(c) => c.send(xml).await,
        }
    }

    async fn next(&mut self) -> Result<Element, LoadError> {
        match self {
            Session::Bosh(c) => c.next().await,
            Session::Tcp(c) => c.next().await,
            Session::WebSocket(c) => c.next().await,
        }
    }

    async fn restart(&mut self) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.restart().await,
            Session::Tcp(c) => c.restart().await,
            Session::WebSocket(c) => c.restart().await,
        }
    }

    async fn send_soon(&mut self, xml: &str) -> Result<(), LoadError> {
        match self {
            Session::Bosh(c) => c.send_soon(xml).await,
            Session::Tcp(c) => c.send_soon(xml).await,
            Session::WebSocket(c) => c.send_soon(xml).await,
        }
    }
}

/// Keeps a session alive as a desktop does (a BOSH long poll always held, a stream read),
/// handing every element the server pushes to `on_element` and counting answered long polls.
pub(crate) async fn hold(
    mut session: Session,
    stop: &mut watch::Receiver<bool>,
    round_trips: &AtomicU64,
    mut on_element: impl FnMut(Element),
) {
    if let Session::Bosh(c) = &mut session {
        c.take_pending().into_iter().for_each(&mut on_element);
        loop {
            tokio::select! {
                polled = c.poll() => match polled {
                    Ok(elements) => {
                        round_trips.fetch_add(1, Ordering::Relaxed);
                        elements.into_iter().for_each(&mut on_element);
                    }
                    Err(_) => return,
                },
                _ = stop.changed() => return,
            }
        }
    }
    loop {
        tokio::select! {
            read = session.next() => match read {
                Ok(el) => on_element(el),
                Err(_) => return,
            },
            _ = stop.changed() => return,
        }
    }
}
