//! Named leases: one holder at a time (`P:lease:{name}`, `PX lease`), taken with `SET NX PX`
//! semantics and renewed only by its holder, both in one script run at each refresh; released
//! at leave so another node takes it at its next refresh instead of waiting for the TTL.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use crate::{ClusterError, Inner, lock};

/// Renews the lease when this node holds it, takes it when nobody does (adding its name to
/// `P:leases`, KEYS[2], ARGV[3]); returns the holder.
const ACQUIRE_OR_RENEW: &str = "local holder = redis.call('GET', KEYS[1]) \
    if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return ARGV[1] end \
    if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) redis.call('SADD', KEYS[2], ARGV[3]) return ARGV[1] end \
    return holder";

/// Deletes the lease only while this node holds it.
const RELEASE_IF_MINE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

impl Inner {
    /// Starts contending for `name` (at once: the refresh task is woken).
    pub(crate) fn contend(&self, name: &str) -> watch::Receiver<bool> {
        let receiver = lock(&self.leases).entry(name.to_owned()).or_insert_with(|| watch::channel(false).0).subscribe();
        self.wake_refresh.notify_one();
        receiver
    }

    /// The holder of `name` at the last refresh; a name asked about for the first time is
    /// followed from the next refresh on (woken at once).
    pub(crate) fn holder(&self, name: &str) -> Option<String> {
        let mut holders = lock(&self.holders);
        if let Some(holder) = holders.get(name) {
            return holder.clone();
        }
        holders.insert(name.to_owned(), None);
        drop(holders);
        self.wake_refresh.notify_one();
        None
    }

    /// Takes or renews the leases this node contends for and reads the holders of the others.
    pub(crate) async fn refresh_leases(&self) -> redis::RedisResult<()> {
        let mut names: Vec<String> = lock(&self.leases).keys().cloned().collect();
        let contended = names.len();
        let followed: Vec<String> = lock(&self.holders).keys().filter(|name| !names.contains(name)).cloned().collect();
        names.extend(followed);
        if names.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (index, name) in names.iter().enumerate() {
            if index < contended {
                pipe.cmd("EVAL")
                    .arg(ACQUIRE_OR_RENEW)
                    .arg(2)
                    .arg(self.keys.lease(name))
                    .arg(self.keys.leases())
                    .arg(self.node_id())
                    .arg(self.settings.lease.as_millis() as u64)
                    .arg(name);
            } else {
                pipe.get(self.keys.lease(name));
            }
        }
        let mut conn = self.conn.clone();
        // Redis sets the TTL after this instant: a local deadline counted from here ends first.
        let sent_at = Instant::now();
        let holders: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        let mut confirmed = lock(&self.leases_confirmed);
        *confirmed = Some(sent_at);
        let leases = lock(&self.leases);
        let mut known = lock(&self.holders);
        for (name, holder) in names.into_iter().zip(holders) {
            if let Some(held) = leases.get(&name) {
                let mine = holder.as_deref() == Some(self.node_id());
                held.send_if_modified(|was| std::mem::replace(was, mine) != mine);
            }
            known.insert(name, holder);
        }
        Ok(())
    }

    /// When this node must stop believing it holds its leases unless renewed before: the send
    /// time of the last successful renewal + lease − lease / 6 (before any other node can take
    /// them, whatever the clocks' drift within that margin).
    fn local_lease_deadline(&self, confirmed: Option<Instant>) -> Option<Instant> {
        confirmed.map(|at| at + self.settings.lease - self.settings.lease / 6)
    }

    /// Stops believing this node holds any lease (its key is another run's now).
    pub(crate) fn give_up_leases(&self) {
        for held in lock(&self.leases).values() {
            held.send_if_modified(|was| std::mem::replace(was, false));
        }
    }

    /// Deletes the leases this node holds (leave).
    pub(crate) async fn release_leases(&self) -> Result<(), ClusterError> {
        let names: Vec<String> = lock(&self.leases).keys().cloned().collect();
        if names.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for name in &names {
            pipe.cmd("EVAL").arg(RELEASE_IF_MINE).arg(1).arg(self.keys.lease(name)).arg(self.node_id()).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(|e| self.redis_error(e))
    }
}

/// Gives the leases up at their local deadline unless a renewal came before: a holder cut off
/// from Redis (or stalled in a refresh) stops acting as holder before another node can take
/// over. Runs beside the refresh task, on its own timer.
pub(crate) async fn run_lease_watchdog(inner: Arc<Inner>) {
    let recheck = inner.settings.lease / 6;
    loop {
        let deadline = {
            let confirmed = lock(&inner.leases_confirmed);
            let deadline = inner.local_lease_deadline(*confirmed);
            if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                // Under the lock, so a renewal confirmed meanwhile is not undone.
                inner.give_up_leases();
            }
            deadline.filter(|deadline| *deadline > Instant::now())
        };
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
            None => tokio::time::sleep(recheck).await,
        }
    }
}
