//! The group-commit writer: one task takes every queued job, commits the store changes of all
//! jobs waiting at that moment in one call to the store, then either delivers the batch's
//! notifications in order or, when the commit failed, rolls the batch's memory changes back.
//! Each job's requester learns the outcome through a oneshot channel. In a cluster, each
//! committed batch (its ops and notifications) is handed to the replicator first, once, in
//! commit order; a rolled-back batch never is.

use std::sync::{Arc, Weak};

use herald_store::PubSubOp;
use tokio::sync::{mpsc, oneshot};

use crate::delivery::Notification;
use crate::error::PubSubError;
use crate::persistence::NodeStore;
use crate::replication::{Replicated, WireNotification};
use crate::undo::Undo;
use crate::{PubSub, Shared};

/// The most jobs one commit takes.
const MAX_BATCH: usize = 512;

/// One operation's store changes, what to deliver once they are committed, and how to take its
/// memory changes back if they are not.
pub(crate) struct Job {
    ops: Vec<PubSubOp>,
    notification: Option<Notification>,
    undo: Option<Undo>,
    done: Option<oneshot::Sender<Result<(), PubSubError>>>,
}

/// Commits queued jobs in batches until the service is gone.
pub(crate) async fn run(shared: Weak<Shared>, store: Arc<dyn NodeStore>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut ops: Vec<PubSubOp> = Vec::new();
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        ops.clear();
        for job in &mut batch {
            ops.append(&mut job.ops);
        }
        let result = if ops.is_empty() { Ok(()) } else { store.apply(&ops).await.map_err(|e| PubSubError::Storage(Arc::new(e))) };
        let service = shared.upgrade().map(|shared| PubSub { shared });
        // Committed: the other nodes get the batch before anyone here learns the outcome, so
        // what a requester does next reaches them after it.
        if let (Ok(()), Some(service)) = (&result, &service)
            && service.shared.replicator.is_some()
        {
            let notifications = batch.iter().filter_map(|j| j.notification.as_ref()).map(WireNotification::of).collect();
            service.replicate(Replicated { ops: std::mem::take(&mut ops), notifications });
        }
        if let Err(e) = &result {
            tracing::error!(target: "notification", error = %e, "pubsub changes could not be stored; they are rolled back and the requesters get an error");
            if let Some(service) = &service {
                let mut nodes = service.nodes();
                for undo in batch.iter_mut().rev().filter_map(|j| j.undo.take()) {
                    undo.apply(&mut nodes);
                }
            }
        }
        for job in batch {
            if let (Ok(()), Some(notification), Some(service)) = (&result, &job.notification, &service) {
                service.shared.delivery.deliver(notification);
            }
            if let Some(done) = job.done {
                let _ = done.send(result.clone());
            }
        }
    }
}

impl PubSub {
    /// Queues changes and waits until they are committed (and their notifications delivered).
    /// When the commit fails, `undo` has been applied before this returns the error.
    pub(crate) async fn commit(
        &self,
        ops: Vec<PubSubOp>,
        notification: Option<Notification>,
        undo: Option<Undo>,
    ) -> Result<(), PubSubError> {
        self.enqueue(ops, notification, undo)?.wait().await
    }

    /// Queues changes now; the returned [`Committing`] tells when they are committed. Jobs are
    /// committed and delivered in the order they were queued.
    pub(crate) fn enqueue(
        &self,
        ops: Vec<PubSubOp>,
        notification: Option<Notification>,
        undo: Option<Undo>,
    ) -> Result<Committing, PubSubError> {
        let (done, committed) = oneshot::channel();
        if let Err(refused) = self.shared.writer.send(Job { ops, notification, undo, done: Some(done) }) {
            // Not queued: take the memory change back here.
            if let Some(undo) = refused.0.undo {
                undo.apply(&mut self.nodes());
            }
            return Err(PubSubError::WriterStopped);
        }
        Ok(Committing(committed))
    }

    /// Waits until every pubsub change queued so far is committed (used at shutdown).
    pub async fn flush(&self) {
        let _ = self.commit(Vec::new(), None, None).await;
    }
}

/// Changes queued to the writer, not yet known to be committed ([`PubSub::publish_queued`]).
#[must_use = "the outcome of the commit is only known by waiting"]
pub struct Committing(oneshot::Receiver<Result<(), PubSubError>>);

impl Committing {
    /// Waits until the changes are committed and their notifications delivered, or rolled back.
    pub async fn wait(self) -> Result<(), PubSubError> {
        self.0.await.unwrap_or(Err(PubSubError::WriterStopped))
    }
}
