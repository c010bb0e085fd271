//! Rosters: each user's contacts with their subscription states (RFC 6121), which presence
//! routing and the `presence` pubsub access model read.

use std::future::Future;

use crate::StoreError;

/// A roster subscription state (RFC 6121 §2.1.2.5), without the pending flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Subscription {
    /// Neither side sees the other's presence.
    #[default]
    None,
    /// The owner sees the contact's presence.
    To,
    /// The contact sees the owner's presence.
    From,
    /// Both directions.
    Both,
}

impl Subscription {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::To => "to",
            Self::From => "from",
            Self::Both => "both",
        }
    }

    /// Parses [`Subscription::as_str`]; `None` for anything else (a backend reading one back
    /// reports corrupt data rather than guessing).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "to" => Some(Self::To),
            "from" => Some(Self::From),
            "both" => Some(Self::Both),
            _ => None,
        }
    }

    /// Whether the owner receives the contact's presence.
    pub fn has_to(self) -> bool {
        matches!(self, Self::To | Self::Both)
    }

    /// Whether the contact receives the owner's presence.
    pub fn has_from(self) -> bool {
        matches!(self, Self::From | Self::Both)
    }

    /// The state with the `to` direction set or cleared.
    pub fn with_to(self, on: bool) -> Self {
        Self::from_flags(on, self.has_from())
    }

    /// The state with the `from` direction set or cleared.
    pub fn with_from(self, on: bool) -> Self {
        Self::from_flags(self.has_to(), on)
    }

    fn from_flags(to: bool, from: bool) -> Self {
        match (to, from) {
            (true, true) => Self::Both,
            (true, false) => Self::To,
            (false, true) => Self::From,
            (false, false) => Self::None,
        }
    }
}

/// One roster entry of one owner.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct RosterItem {
    /// The contact's bare JID.
    pub contact: String,
    /// Display name chosen by the owner.
    pub name: Option<String>,
    /// Subscription state.
    pub subscription: Subscription,
    /// The owner asked to see the contact's presence and awaits an answer (`ask='subscribe'`).
    pub ask_out: bool,
    /// The contact asked to see the owner's presence and awaits an answer.
    pub pending_in: bool,
    /// Whether the item is in the owner's visible roster (an item created only by an incoming
    /// request is not, RFC 6121 §3.1.3).
    pub visible: bool,
    /// Roster groups.
    pub groups: Vec<String>,
}

/// Each user's roster. Items are keyed by (owner, contact); an owner with no account is refused
/// by backends that keep referential integrity ([`StoreError::NoSuchUser`]).
pub trait RosterStore: Send + Sync {
    /// The owner's whole roster, including invisible pending items.
    fn roster(&self, owner: &str) -> impl Future<Output = Result<Vec<RosterItem>, StoreError>> + Send;
    /// One roster item.
    fn roster_item(&self, owner: &str, contact: &str) -> impl Future<Output = Result<Option<RosterItem>, StoreError>> + Send;
    /// Inserts or replaces one roster item.
    fn put_roster_item(&self, owner: &str, item: &RosterItem) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes one roster item; false if absent.
    fn delete_roster_item(&self, owner: &str, contact: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The number of items in the owner's roster (invisible pending items included).
    fn roster_len(&self, owner: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
