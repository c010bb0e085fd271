//! The accept loop every listener shares: at most `max_connections` at once (further clients
//! wait in the kernel's backlog), back-off when accepting fails (out of file descriptors), and a
//! clean stop when the server shuts down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// Accepts connections until `shutdown` turns true and spawns `handle` for each; the connection
/// slot is released when `handle`'s future ends.
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, max_connections: usize, mut shutdown: watch::Receiver<bool>, mut handle: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(max_connections));
    loop {
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => permit.expect("semaphore never closed"),
            _ = shutdown.changed() => break,
        };
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(target: "notification", %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = socket.set_nodelay(true);
        let connection = handle(socket, peer);
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
}
