//! The accept loop every listener shares: connection slots taken from the server's one
//! [`Admission`] (further clients wait in the kernel's backlog), connections beyond a source
//! address's share closed at once, back-off when accepting fails (out of file descriptors), and
//! a clean stop when the server shuts down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::admission::{Admission, ConnectionPermit};
use crate::shutdown::Shutdown;
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections until the server stops and spawns `handle` for each; the connection
/// slot and the source's count are given back when `handle`'s future ends and every other holder
/// of the permit it is handed has dropped it (an upgraded WebSocket keeps it for its life).
pub(crate) async fn accept_loop<F, Fut>(listener: TcpListener, admission: Arc<Admission>, shutdown: Shutdown, mut handle: F)
where
    F: FnMut(TcpStream, SocketAddr, Arc<ConnectionPermit>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let slot = tokio::select! {
            slot = admission.slot() => slot,
            () = shutdown.recv() => break,
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
            () = shutdown.recv() => break,
        };
        // Over its source's share: closed without a word (a refusal costs nothing to send).
        let Some(permit) = admission.admit(peer.ip(), slot) else { continue };
        let permit = Arc::new(permit);
        let _ = socket.set_nodelay(true);
        let connection = handle(socket, peer, permit.clone());
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
}
