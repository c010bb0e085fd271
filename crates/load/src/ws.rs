//! The WebSocket side (RFC 7395): one `ws://` connection per session with the `xmpp`
//! subprotocol, one element per text message.

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use herald_xml::{Element, Limits, parse_document};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::xmpp::XmppIo;
use crate::{LoadError, Options};

const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// One WebSocket session.
pub(crate) struct WsClient {
    ws: WebSocketStream<TcpStream>,
    domain: String,
    pending: VecDeque<Element>,
}

fn protocol_error(e: impl std::fmt::Display) -> LoadError {
    LoadError::Protocol(e.to_string())
}

impl WsClient {
    /// Connects session `n` and opens the stream.
    pub(crate) async fn connect(opts: &Options, n: usize) -> Result<Self, LoadError> {
        let tcp = opts.connect(n, opts.http_port).await?;
        let mut request = format!("ws://{}:{}{}", opts.host, opts.http_port, opts.ws_path).into_client_request().map_err(protocol_error)?;
        request.headers_mut().insert("sec-websocket-protocol", "xmpp".parse().map_err(protocol_error)?);
        let (ws, _) = tokio_tungstenite::client_async(request, tcp).await.map_err(protocol_error)?;
        let mut client = Self { ws, domain: opts.domain.clone(), pending: VecDeque::new() };
        client.restart().await?;
        Ok(client)
    }
}

impl XmppIo for WsClient {
    async fn send(&mut self, xml: &str) -> Result<(), LoadError> {
        self.ws.send(Message::Text(xml.into())).await.map_err(protocol_error)
    }

    async fn next(&mut self) -> Result<Element, LoadError> {
        loop {
            if let Some(el) = self.pending.pop_front() {
                return Ok(el);
            }
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let el = parse_document(text.as_bytes(), Limits { max_stanza_bytes: 4 << 20, ..Limits::default() })
                        .map_err(protocol_error)?;
                    match (el.ns.as_str(), el.name.as_str()) {
                        (NS_FRAMING, "open") => {}
                        (NS_FRAMING, "close") => return Err(LoadError::Protocol("stream closed by the server".into())),
                        _ => self.pending.push_back(el),
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(protocol_error(e)),
                None => return Err(LoadError::Protocol("connection closed".into())),
            }
        }
    }

    async fn restart(&mut self) -> Result<(), LoadError> {
        let open = format!("<open xmlns='{NS_FRAMING}' to='{}' version='1.0'/>", self.domain);
        self.send(&open).await
    }

    async fn send_soon(&mut self, xml: &str) -> Result<(), LoadError> {
        self.send(xml).await
    }
}
