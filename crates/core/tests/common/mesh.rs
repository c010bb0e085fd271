//! Two (or more) in-process cores joined by a small implementation of the `Remote` seam: it
//! locates sessions through each core's public session list and hands forwarded stanzas, in
//! order per node, to the destination core's `deliver_forwarded` on a task of its own.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use herald_core::{Core, CoreConfig, Remote, RemoteSession};
use herald_store::{AccountStore, AnyStore, MemoryStore};
use herald_xml::Element;
use tokio::sync::{mpsc, watch};

/// The nodes' cores and the forwarding queues between them.
#[derive(Default)]
pub(crate) struct Mesh {
    cores: OnceLock<HashMap<String, Core>>,
    queues: OnceLock<HashMap<String, mpsc::UnboundedSender<Element>>>,
    /// Stanzas forwarded and not yet delivered.
    in_flight: OnceLock<watch::Sender<usize>>,
    /// Stanzas forwarded in all.
    pub(crate) forwarded: AtomicUsize,
    /// Directory entries (node, bare, resource) that name no session: a stale directory.
    pub(crate) stale: Mutex<Vec<(String, String, String)>>,
}

/// One node's view of the mesh: its `Remote`.
struct Link {
    node: String,
    mesh: Arc<Mesh>,
}

impl Remote for Link {
    fn locate<'a>(&'a self, bare: &'a str) -> Pin<Box<dyn Future<Output = Vec<RemoteSession>> + Send + 'a>> {
        Box::pin(async move {
            let mut found = Vec::new();
            let cores = self.mesh.cores.get().expect("the mesh is started");
            for (node, core) in cores.iter().filter(|(node, _)| **node != self.node) {
                for info in core.sessions(None).into_iter().filter(|i| i.jid.to_bare().as_str() == bare) {
                    found.push(RemoteSession { node: node.clone(), resource: info.jid.resource().to_string() });
                }
            }
            let stale = self.mesh.stale.lock().unwrap();
            for (node, _, resource) in stale.iter().filter(|(node, b, _)| *node != self.node && b == bare) {
                found.push(RemoteSession { node: node.clone(), resource: resource.clone() });
            }
            found
        })
    }

    fn forward(&self, node: &str, stanza: Element) {
        assert!(stanza.attr("from").is_some() && stanza.attr("to").is_some(), "forwarded without addresses: {}", stanza.to_xml());
        self.mesh.forwarded.fetch_add(1, Ordering::SeqCst);
        self.mesh.in_flight.get().unwrap().send_modify(|n| *n += 1);
        self.mesh.queues.get().unwrap()[node].send(stanza).unwrap();
    }
}

impl Mesh {
    /// Starts one core per node name over one shared store holding `users`, joined by the mesh.
    pub(crate) async fn start(nodes: &[&str], users: &[&str]) -> (Arc<Self>, Vec<Core>) {
        let store = MemoryStore::new();
        for user in users {
            store.create_user(user, &[]).await.unwrap();
        }
        let mesh = Arc::new(Mesh::default());
        let (in_flight, _) = watch::channel(0);
        let _ = mesh.in_flight.set(in_flight);
        let mut cores = Vec::new();
        for node in nodes {
            let mut config = CoreConfig::new("example.com");
            config.remote = Some(Arc::new(Link { node: node.to_string(), mesh: mesh.clone() }));
            cores.push(Core::start(config, AnyStore::Memory(store.clone())).await.unwrap());
        }
        let mut queues = HashMap::new();
        for (node, core) in nodes.iter().zip(&cores) {
            let (tx, mut rx) = mpsc::unbounded_channel::<Element>();
            let (core, mesh) = (core.clone(), mesh.clone());
            tokio::spawn(async move {
                while let Some(stanza) = rx.recv().await {
                    core.deliver_forwarded(stanza).await;
                    mesh.in_flight.get().unwrap().send_modify(|n| *n -= 1);
                }
            });
            queues.insert(node.to_string(), tx);
        }
        let _ = mesh.queues.set(queues);
        let _ = mesh.cores.set(nodes.iter().map(|n| n.to_string()).zip(cores.iter().cloned()).collect());
        (mesh, cores)
    }

    /// Waits (at most five seconds) until every forwarded stanza has been delivered, including
    /// those forwarded while delivering.
    pub(crate) async fn settle(&self) {
        let mut rx = self.in_flight.get().unwrap().subscribe();
        tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|n| *n == 0)).await.expect("forwarded stanzas delivered in time").unwrap();
    }

    /// Stanzas forwarded so far.
    pub(crate) fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}
