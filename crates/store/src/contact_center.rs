//! Contact-center configuration: which accounts are agents or supervisors of which teams, the
//! queues teams take calls from, the not-ready and logout reason codes, and whether the scenario
//! file was applied already (it is applied on first start only, so an operator's later edits
//! survive restarts). Plain data: the store checks that a contact-center user has an account and
//! nothing more; the meaning of the values is the contact-center layer's.

use std::future::Future;

use crate::{RosterItem, StoreError, StoredCredential};

/// A contact-center user (agent or supervisor), keyed by its account's username.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredCcUser {
    /// The login id: the account's username (JID localpart).
    pub login_id: String,
    /// `loginName` shown by the web services.
    pub login_name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The extension the user usually signs in on.
    pub extension: Option<String>,
    /// `agent` or `supervisor`.
    pub role: String,
    /// The user's own team.
    pub team_id: Option<String>,
    /// The teams a supervisor supervises, in the order given.
    pub supervised_teams: Vec<String>,
    /// Wrap-up mode after incoming calls (`OPTIONAL`, `REQUIRED`, …).
    pub wrap_up_incoming: String,
    /// Wrap-up mode after outgoing calls.
    pub wrap_up_outgoing: String,
}

/// A team.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredTeam {
    /// Its id (`Team/{id}`).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A queue (skill group).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredQueue {
    /// Its id (`Queue/{id}`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The teams whose agents take its calls, in the order given.
    pub teams: Vec<String>,
}

/// A reason code.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct StoredReasonCode {
    /// Its database id (`ReasonCode/{id}`).
    pub id: u32,
    /// `NOT_READY` or `LOGOUT`.
    pub category: String,
    /// The code the CTI side knows it by.
    pub code: u16,
    /// Its label.
    pub label: String,
    /// Offered to every team.
    pub for_all: bool,
    /// A system code, never listed by the web services.
    pub system: bool,
}

/// The contact center's persistent configuration. Puts insert or replace by key; lists are in
/// key order. Deleting an account ([`crate::AccountStore::delete_user`]) deletes its
/// contact-center user, and with it the teams it supervised stop naming it.
pub trait ContactCenterStore: Send + Sync {
    /// Inserts or replaces a contact-center user; its account must exist
    /// ([`StoreError::NoSuchUser`] otherwise).
    fn cc_put_user(&self, user: &StoredCcUser) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// [`Self::cc_put_user`] for many users in one transaction (thousands of agents at first
    /// start): all or nothing, the first user without an account named in the error.
    fn cc_put_users(&self, users: &[StoredCcUser]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Creates, in one transaction, each account `(username, credentials)` that does not exist
    /// yet (existing ones keep their credentials): the scenario's thousands of agents at first
    /// start, without a transaction each. Returns how many were created.
    fn cc_create_accounts(&self, accounts: &[(String, Vec<StoredCredential>)]) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Every contact-center user, by login id.
    fn cc_users(&self) -> impl Future<Output = Result<Vec<StoredCcUser>, StoreError>> + Send;
    /// Inserts or replaces a team.
    fn cc_put_team(&self, team: &StoredTeam) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every team, by id.
    fn cc_teams(&self) -> impl Future<Output = Result<Vec<StoredTeam>, StoreError>> + Send;
    /// Inserts or replaces a queue.
    fn cc_put_queue(&self, queue: &StoredQueue) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every queue, by id.
    fn cc_queues(&self) -> impl Future<Output = Result<Vec<StoredQueue>, StoreError>> + Send;
    /// Inserts or replaces a reason code.
    fn cc_put_reason_code(&self, code: &StoredReasonCode) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every reason code, by id.
    fn cc_reason_codes(&self) -> impl Future<Output = Result<Vec<StoredReasonCode>, StoreError>> + Send;
    /// Whether the scenario file was applied (on a first start).
    fn cc_scenario_applied(&self) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Records that the scenario file was applied: later starts leave the configuration alone.
    fn cc_mark_scenario_applied(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Inserts or replaces many roster items, each `(owner, item)`, in one transaction: the
    /// web-services user and every agent in each other's rosters, for thousands of agents. All
    /// or nothing; an owner without an account is [`StoreError::NoSuchUser`].
    fn cc_put_roster_items(&self, items: &[(String, RosterItem)]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Every roster item naming `contact`, as `(owner, item)` by owner: who has the
    /// web-services user in their roster already, in one read.
    fn cc_roster_items_naming(&self, contact: &str) -> impl Future<Output = Result<Vec<(String, RosterItem)>, StoreError>> + Send;
}
