//! XMPP over WebSocket (RFC 7395) at `/ws/`: subprotocol `xmpp` required, one element per text
//! message, server pings to keep idle connections alive, `see-other-uri` redirection, and the
//! same c2s machine as every other transport.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_core::{CloseCause, Origin, SessionEnd, SessionHandle, Transport};
use herald_proto::{LogThrottle, StreamErrorCondition};
use herald_stream::{C2sStream, NS_FRAMING, Output, StreamConfig};

use super::context::{AppState, HttpContext};
use super::session::{self, FromCore};
use crate::admission::ConnectionPermit;

/// `GET /ws/`: the upgrade, refused unless the client offers the `xmpp` subprotocol.
pub(crate) async fn upgrade(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(permit): Extension<Arc<ConnectionPermit>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let offered = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("xmpp")));
    if !offered {
        return (StatusCode::BAD_REQUEST, "XMPP over WebSocket requires the subprotocol 'xmpp' (RFC 7395)\n").into_response();
    }
    // A browser names the page that opened the socket; only the configured origins may (RFC
    // 6455 §10.2: the server must check it, CORS does not apply to WebSocket). Clients that are
    // not browsers send no Origin and are not affected.
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().ok().and_then(|o| crate::http::allowed_origin(&app.ctx.cors_origins, o));
        if allowed.is_none() {
            tracing::info!(target: "notification", origin = ?origin, "WebSocket upgrade refused: origin not in http.cors_origins");
            return (StatusCode::FORBIDDEN, "this origin may not open XMPP over WebSocket here (http.cors_origins)\n").into_response();
        }
    }
    let max = app.ctx.websocket.max_message_bytes;
    ws.protocols(["xmpp"]).max_message_size(max).max_frame_size(max).on_upgrade(move |socket| async move {
        // The connection's place under the limits, held for as long as the WebSocket lives.
        let _permit = permit;
        run(app.ctx, app.listener.websocket.clone(), socket, peer).await
    })
}

async fn run(ctx: Arc<HttpContext>, config: Arc<StreamConfig>, mut socket: WebSocket, peer: SocketAddr) {
    let source = peer.ip();
    if let Some(uri) = &ctx.websocket.see_other_uri {
        // Answer the client's <open/> with a redirection and end the connection.
        let _ = socket.recv().await;
        let mut close = format!("<close xmlns='{NS_FRAMING}' see-other-uri='");
        herald_xml::escape_attr(&mut close, uri);
        close.push_str("'/>");
        let _ = socket.send(Message::Text(close.into())).await;
        let _ = socket.send(Message::Close(None)).await;
        return;
    }
    let mut machine = C2sStream::new(config, format!("{:016x}", rand::random::<u64>()), Instant::now());
    let mut handle: Option<SessionHandle> = None;
    // The server's stop is heard once: the machine closes, and the loop ends on its output.
    let mut stopping = false;
    let mut ping = tokio::time::interval(ctx.websocket.ping_interval);
    ping.tick().await;
    let label = "websocket";
    let peer = peer.to_string();
    let mut ordered = None;
    let mut last_activity = Instant::now();
    let mut cause = "connection-lost";
    let mut core_cause = CloseCause::ConnectionLost;
    let origin = Origin { transport: Transport::WebSocket, source };
    let mut throttle_log = LogThrottle::default();
    'connection: loop {
        while let Some(output) = machine.poll_output() {
            match session::apply(&ctx.core, &mut machine, &mut handle, output, &peer, origin).await {
                Some(Output::Send(text)) => {
                    let bytes = text.len();
                    let sent = socket.send(Message::Text(text.into())).await;
                    if sent.is_err() {
                        break 'connection;
                    }
                    session::count_sent(&handle, 1, bytes);
                }
                Some(Output::Close(reason)) => {
                    session::log_close(label, &reason);
                    (cause, core_cause) = session::stream_end(&reason, ordered);
                    let _ = socket.send(Message::Close(None)).await;
                    break 'connection;
                }
                _ => {}
            }
        }
        // Over its byte budget, the client's next message is not read until the budget allows.
        let paused = session::paused_until(&machine, &mut throttle_log, || machine.stream_id().to_owned());
        tokio::select! {
            () = session::sleep_until_opt(paused) => {}
            message = socket.recv(), if paused.is_none() => match message {
                Some(Ok(Message::Text(text))) => {
                    last_activity = Instant::now();
                    session::count_request(&handle);
                    machine.handle_frame(text.as_bytes(), last_activity);
                }
                Some(Ok(Message::Binary(_))) => machine.close(StreamErrorCondition::BadFormat, "XMPP over WebSocket uses text messages"),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    last_activity = Instant::now();
                    session::count_request(&handle);
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
            },
            from_core = session::from_core(&mut handle) => match from_core {
                FromCore::Stanza(el) => {
                    let text = el.to_xml();
                    let bytes = text.len();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                    session::count_sent(&handle, 1, bytes);
                }
                FromCore::Control(order) => {
                    let (condition, text, cause) = session::ordered_close(&order);
                    ordered = cause;
                    machine.close(condition, text);
                }
            },
            () = session::sleep_until_opt(machine.poll_timeout()) => machine.handle_timeout(Instant::now()),
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
            () = ctx.shutdown.recv(), if !stopping => {
                stopping = true;
                machine.close(StreamErrorCondition::SystemShutdown, "the server is shutting down");
            }
        }
    }
    let jid = handle.as_ref().map(|h| h.jid.to_string());
    session::record_close("websocket", machine.stream_id(), jid.as_deref(), cause, last_activity);
    session::finish(&ctx.core, handle, Vec::new(), SessionEnd { cause: core_cause, last_activity }).await;
}
