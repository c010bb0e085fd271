//! XMPP over WebSocket (RFC 7395) end to end over `wss://`: subprotocol negotiation, login,
//! exchange with a TCP client, close handshake, bad input, size limit, redirection and shutdown.

use herald_testkit::{RawClient, TestServer, WsClient};

const PW: &str = "agent-pw";

async fn server(adjust: impl FnOnce(&mut herald::Config)) -> anyhow::Result<TestServer> {
    let server = TestServer::start_with(adjust).await?;
    for user in ["alice", "bob", "eve"] {
        server.add_user(user, PW).await?;
    }
    Ok(server)
}

async fn connect(server: &TestServer) -> anyhow::Result<WsClient> {
    WsClient::connect(server, Some("xmpp")).await?.map_err(|status| anyhow::anyhow!("upgrade refused with {status}"))
}

#[tokio::test]
async fn subprotocol_xmpp_is_required() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    assert_eq!(WsClient::connect(&server, None).await?.err(), Some(400));
    assert_eq!(WsClient::connect(&server, Some("chat")).await?.err(), Some(400));
    assert!(WsClient::connect(&server, Some("xmpp")).await?.is_ok());
    Ok(())
}

#[tokio::test]
async fn login_exchange_and_close_handshake() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = connect(&server).await?;
    let jid = bob.login("localhost", "bob", PW, "ws").await?;
    assert_eq!(jid, "bob@localhost/ws");
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    alice.send("<message to='bob@localhost/ws' type='chat'><body>to websocket</body></message>").await?;
    let got = bob.recv_until("to websocket").await?;
    assert!(got.starts_with("<message xmlns='jabber:client'"), "every message declares its namespace: {got}");
    bob.send("<message xmlns='jabber:client' to='alice@localhost/tcp' type='chat'><body>from websocket</body></message>").await?;
    assert!(alice.read_until("</message>").await?.contains("from='bob@localhost/ws'"));
    bob.send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>").await?;
    assert!(bob.recv_until("<close").await?.contains("urn:ietf:params:xml:ns:xmpp-framing"));
    assert_eq!(bob.recv().await?, None, "the server then closes the connection");
    Ok(())
}

#[tokio::test]
async fn shutdown_closes_streams_with_system_shutdown() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = connect(&server).await?;
    bob.login("localhost", "bob", PW, "ws").await?;
    let closing = tokio::spawn(async move {
        let error = bob.recv_until("stream:error").await?;
        let close = bob.recv_until("<close").await?;
        anyhow::Ok((error, close, bob.recv().await?))
    });
    let started = std::time::Instant::now();
    server.stop().await?;
    // The stream's task ended with it: the server did not wait out its shutdown grace (10 s).
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "stopping took {:?}", started.elapsed());
    let (error, close, after) = closing.await??;
    assert!(error.contains("<system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"), "{error}");
    assert!(close.contains("urn:ietf:params:xml:ns:xmpp-framing"), "{close}");
    assert_eq!(after, None, "the server then closes the connection");
    Ok(())
}

#[tokio::test]
async fn invalid_characters_end_only_that_stream() -> anyhow::Result<()> {
    let server = server(|_| {}).await?;
    let mut bob = connect(&server).await?;
    bob.login("localhost", "bob", PW, "ws").await?;
    let mut eve = connect(&server).await?;
    eve.login("localhost", "eve", PW, "ws").await?;
    eve.send("<message xmlns='jabber:client' to='bob@localhost'><body>\u{1}</body></message>").await?;
    assert!(eve.recv_until("stream:error").await?.contains("<not-well-formed"));
    assert!(eve.recv_until("<close").await.is_ok());
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    alice.send("<message to='bob@localhost/ws'><body>still here</body></message>").await?;
    bob.recv_until("still here").await?;
    Ok(())
}

#[tokio::test]
async fn oversized_message_closes_only_that_connection() -> anyhow::Result<()> {
    let server = server(|c| c.websocket.max_message_bytes = 16 * 1024).await?;
    let mut bob = connect(&server).await?;
    bob.login("localhost", "bob", PW, "ws").await?;
    let mut eve = connect(&server).await?;
    eve.login("localhost", "eve", PW, "ws").await?;
    let _ = eve.send(&format!("<message xmlns='jabber:client' to='bob@localhost'><body>{}</body></message>", "x".repeat(64 * 1024))).await;
    assert_eq!(eve.recv().await?, None);
    let mut alice = RawClient::login(&server, "alice", PW, "tcp").await?;
    alice.send("<message to='bob@localhost/ws'><body>unaffected</body></message>").await?;
    bob.recv_until("unaffected").await?;
    Ok(())
}

#[tokio::test]
async fn see_other_uri_redirects_new_streams() -> anyhow::Result<()> {
    let server = server(|c| c.websocket.see_other_uri = Some("wss://fin2.example:7443/ws/".into())).await?;
    let mut c = connect(&server).await?;
    c.send("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>").await?;
    let close = c.recv_until("<close").await?;
    assert_eq!(close, "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://fin2.example:7443/ws/'/>");
    Ok(())
}

#[tokio::test]
async fn idle_connections_are_pinged() -> anyhow::Result<()> {
    let server = server(|c| c.websocket.ping_interval_secs = 1).await?;
    let mut bob = connect(&server).await?;
    bob.login("localhost", "bob", PW, "ws").await?;
    bob.next_ping().await?;
    bob.next_ping().await?;
    Ok(())
}
