//! The raw HTTP baseline server for `bench/run`: plain hyper answering every request with an
//! empty 200 on the given loopback address, until SIGTERM or Ctrl-C.
//!
//! Usage: `raw-http 127.0.0.1:28280`

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:28280".into()).parse()?;
    anyhow::ensure!(addr.ip().is_loopback(), "the baseline listens on loopback only");
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(4096)?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    herald_load::serve_http_baseline(listener, shutdown).await?;
    Ok(())
}
