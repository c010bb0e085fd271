//! The simulator's link to the web services: dropping it (silent or closed) and restoring it
//! with a snapshot of the CTI side's whole state, queue statistics and a heartbeat. While the
//! link is down the ACD goes on and whatever it would report is discarded (`Simulator::push`),
//! requests are ignored and heartbeats stop.

use super::timers::Timer;
use super::{SimLink, Simulator};
use crate::{CtiEvent, EpochMs};

impl Simulator {
    /// Moves the link to `link` at `now` (timers due by then already fired); see
    /// [`Simulator::set_link`].
    pub(super) fn switch_link(&mut self, now: EpochMs, link: SimLink) {
        let was = self.link;
        if was == link {
            return;
        }
        self.link = link;
        match link {
            SimLink::Up => {
                let snapshot = self.snapshot();
                self.push(snapshot);
                self.push(CtiEvent::Heartbeat);
                self.report_all_stats();
                self.arm_heartbeat(now);
            }
            SimLink::Silent | SimLink::Closed => {
                if was == SimLink::Up {
                    // Whatever was sent but not read is gone with the connection.
                    self.events.clear();
                }
                self.timers.cancel(self.heartbeat.take());
                if link == SimLink::Closed {
                    // The adapter's own report, not the CTI side's: it goes out on a dead link.
                    self.events.push_back(CtiEvent::LinkLost);
                }
            }
        }
    }

    /// Schedules the next heartbeat one interval after `from` (none when heartbeats are off or
    /// the link is down), replacing any scheduled one.
    pub(super) fn arm_heartbeat(&mut self, from: EpochMs) {
        self.timers.cancel(self.heartbeat.take());
        if self.cfg.heartbeat_interval_ms > 0 && self.link == SimLink::Up {
            self.heartbeat = Some(self.timers.add(from.saturating_add(self.cfg.heartbeat_interval_ms), Timer::Heartbeat));
        }
    }

    /// The CTI side's whole state: every agent in the order it became known, every live call
    /// (including calls kept for an agent's wrap-up) in id order.
    pub(super) fn snapshot(&self) -> CtiEvent {
        CtiEvent::Snapshot {
            agents: self.agents.iter().map(|a| a.snapshot()).collect(),
            calls: self.calls.values().map(|c| c.snapshot()).collect(),
        }
    }

    /// Reports every queue's statistics now, changed or not: the web services may have missed
    /// reports while the link was down.
    fn report_all_stats(&mut self) {
        self.dirty.clear();
        for q in 0..self.queues.len() {
            let stats = self.compute_stats(q);
            if let Some(queue) = self.queues.get_mut(q) {
                queue.reported = Some(stats.clone());
            }
            self.push(CtiEvent::QueueStats(stats));
        }
    }
}
