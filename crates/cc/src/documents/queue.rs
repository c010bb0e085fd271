//! Queues (skill groups) as documents: `<Queue>` with its statistics and the `Queues` list of a
//! user. A queue nobody is assigned to, or whose statistics are not known yet, reports -1 for
//! every count and an empty oldest-call time, as Finesse does.

use herald_cti::QueueStats;
use herald_xml::Element;

use super::{Case, leaf, node, parent, time_or_empty};
use crate::directory::QueueRecord;
use crate::path::BASE;

/// `<Queue>` with statistics (`None`: not assigned / unknown ⇒ -1 everywhere).
pub fn queue(queue: &QueueRecord, stats: Option<&QueueStats>) -> Element {
    let count = |f: fn(&QueueStats) -> u32| stats.map_or_else(|| "-1".to_owned(), |s| f(s).to_string());
    let statistics = parent(
        "statistics",
        [
            leaf("agentsBusyOther", &count(|s| s.agents_busy_other)),
            leaf("agentsLoggedOn", &count(|s| s.agents_logged_on)),
            leaf("agentsNotReady", &count(|s| s.agents_not_ready)),
            leaf("agentsReady", &count(|s| s.agents_ready)),
            leaf("agentsTalkingInbound", &count(|s| s.agents_talking_inbound)),
            leaf("agentsTalkingInternal", &count(|s| s.agents_talking_internal)),
            leaf("agentsTalkingOutbound", &count(|s| s.agents_talking_outbound)),
            leaf("agentsWrapUpNotReady", &count(|s| s.agents_wrap_up_not_ready)),
            leaf("agentsWrapUpReady", &count(|s| s.agents_wrap_up_ready)),
            leaf("callsInQueue", &count(|s| s.calls_in_queue)),
            leaf("startTimeOfLongestCallInQueue", &time_or_empty(stats.and_then(|s| s.longest_since))),
        ],
    );
    parent("Queue", [leaf("name", &queue.name), statistics, leaf("uri", &format!("{BASE}/Queue/{}", queue.id))])
}

/// `<Queues>` (REST) or `<queues>` (notification).
pub fn queues(list: &[(&QueueRecord, Option<&QueueStats>)], case: Case) -> Element {
    let mut e = node(case.pick("Queues", "queues"));
    for (q, stats) in list {
        e.push_child(queue(q, *stats));
    }
    e
}
