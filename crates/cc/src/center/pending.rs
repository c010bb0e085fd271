//! The requests forwarded to the CTI side and not yet forgotten: tag → the client's `requestId`
//! and the object the request acts on, so that the events it causes carry the `requestId` and a
//! refusal becomes an `apiErrors` Update on the right node. Bounded in age and count: an entry
//! lives [`TTL_MS`] and at most [`CAPACITY`] are kept (the oldest go first).

use std::collections::BTreeMap;

use herald_cti::{CallId, RequestTag};

use crate::EpochMs;

/// How long a request is remembered (its events arrive within milliseconds; a CTI side slower
/// than this gets an empty `requestId`).
pub(super) const TTL_MS: EpochMs = 60_000;

/// The most requests remembered at once (2,000 requests/s for a minute fit, with room).
pub(super) const CAPACITY: usize = 150_000;

/// What a request acts on: where its refusal is published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Target {
    /// An agent state change of this agent (`User/{id}`).
    User(String),
    /// A call-control action by this agent on this call (`User/{id}/Dialogs`, source the Dialog).
    Call {
        /// The acting agent.
        agent: String,
        /// The call.
        call: CallId,
    },
    /// A MAKE_CALL by this agent (`User/{id}/Dialogs`, source the node).
    MakeCall(String),
}

/// One remembered request.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    /// When it was forwarded.
    at: EpochMs,
    /// The client's `requestId` (empty when none was sent).
    pub(super) request_id: String,
    /// What it acts on.
    pub(super) target: Target,
}

/// The remembered requests, oldest (lowest tag) first.
#[derive(Debug)]
pub(super) struct PendingRequests {
    next: u64,
    capacity: usize,
    entries: BTreeMap<RequestTag, Pending>,
}

impl Default for PendingRequests {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl PendingRequests {
    /// Keeps at most `capacity` requests (at least one).
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Self { next: 1, capacity: capacity.max(1), entries: BTreeMap::new() }
    }

    /// Remembers a request forwarded at `now` and returns its fresh tag.
    pub(super) fn remember(&mut self, now: EpochMs, request_id: Option<&str>, target: Target) -> RequestTag {
        let tag = RequestTag(self.next);
        self.next += 1;
        while self.entries.len() >= self.capacity {
            self.entries.pop_first();
        }
        self.entries.insert(tag, Pending { at: now, request_id: request_id.unwrap_or_default().to_owned(), target });
        tag
    }

    /// A fresh tag for a request the machine makes on its own behalf (a takeover's restore):
    /// not remembered, so its events carry no `requestId` and a refusal publishes nothing.
    pub(super) fn unremembered(&mut self) -> RequestTag {
        let tag = RequestTag(self.next);
        self.next += 1;
        tag
    }

    /// Forgets requests older than [`TTL_MS`] (tags grow with time, so the oldest come first).
    pub(super) fn expire(&mut self, now: EpochMs) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.get().at.saturating_add(TTL_MS) > now {
                break;
            }
            entry.remove();
        }
    }

    /// The `requestId` an event caused by `tag` carries (empty when unknown or forgotten).
    pub(super) fn request_id(&self, tag: Option<RequestTag>) -> &str {
        tag.and_then(|tag| self.entries.get(&tag)).map_or("", |p| p.request_id.as_str())
    }

    /// Whether `tag` names a remembered request.
    pub(super) fn knows(&self, tag: Option<RequestTag>) -> bool {
        tag.is_some_and(|tag| self.entries.contains_key(&tag))
    }

    /// Removes and returns a refused request.
    pub(super) fn take(&mut self, tag: RequestTag) -> Option<Pending> {
        self.entries.remove(&tag)
    }

    /// How many are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_fresh_and_map_back() {
        let mut p = PendingRequests::default();
        let a = p.remember(0, Some("r1"), Target::User("1001".into()));
        let b = p.remember(0, None, Target::MakeCall("1001".into()));
        assert_ne!(a, b);
        assert_eq!(p.request_id(Some(a)), "r1");
        assert_eq!(p.request_id(Some(b)), "");
        assert!(p.knows(Some(b)));
        assert!(!p.knows(None));
        assert_eq!(p.request_id(None), "");
        assert_eq!(p.take(a).map(|e| e.target), Some(Target::User("1001".into())));
        assert_eq!(p.take(a).map(|e| e.target), None);
        let c = p.unremembered();
        assert!(c > b && !p.knows(Some(c)), "fresh, and not remembered");
        assert!(p.remember(0, None, Target::User("1001".into())) > c);
    }

    #[test]
    fn entries_expire_after_a_minute() {
        let mut p = PendingRequests::default();
        let a = p.remember(1_000, Some("old"), Target::User("1".into()));
        let b = p.remember(30_000, Some("new"), Target::User("2".into()));
        p.expire(60_999);
        assert!(p.knows(Some(a)));
        p.expire(61_000);
        assert!(!p.knows(Some(a)));
        assert!(p.knows(Some(b)));
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn the_count_is_capped_dropping_the_oldest() {
        let mut p = PendingRequests::with_capacity(3);
        let tags: Vec<_> = (0..5).map(|i| p.remember(0, Some(&i.to_string()), Target::User("1".into()))).collect();
        assert_eq!(p.len(), 3);
        assert!(!p.knows(Some(tags[0])));
        assert!(!p.knows(Some(tags[1])));
        assert_eq!(p.request_id(Some(tags[4])), "4");
    }
}
