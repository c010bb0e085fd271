//! Who and what the contact center knows: users (agents and supervisors), teams, queues and
//! reason codes, as configured (scenario file, `herald user add`) and kept by the store. Plain
//! data with lookups; it changes only when the configuration does.

use std::collections::BTreeMap;

/// A user's role. Supervisors are agents too (Finesse lists both roles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// An agent.
    Agent,
    /// A supervisor of the teams in [`UserRecord::supervised_teams`].
    Supervisor,
}

/// How wrap-up works after a call (`settings/wrapUpOnIncoming`, `wrapUpOnOutgoing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WrapUpMode {
    /// WORK is entered after every call.
    Required,
    /// WORK, and wrap-up data must be given.
    RequiredWithWrapUpData,
    /// The agent may enter WORK.
    #[default]
    Optional,
    /// No wrap-up.
    NotAllowed,
}

impl WrapUpMode {
    /// The name in documents.
    pub fn name(self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
            Self::RequiredWithWrapUpData => "REQUIRED_WITH_WRAP_UP_DATA",
            Self::Optional => "OPTIONAL",
            Self::NotAllowed => "NOT_ALLOWED",
        }
    }

    /// Parses [`Self::name`].
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Required, Self::RequiredWithWrapUpData, Self::Optional, Self::NotAllowed].into_iter().find(|m| m.name() == s)
    }
}

/// A user of the contact center. The login id is also the XMPP localpart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// The login id, normalised (lower case, as a JID localpart).
    pub login_id: String,
    /// `loginName` (defaults to the login id).
    pub login_name: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// The extension the agent usually signs in on (also names the agent in
    /// `User/{extension}/Dialogs`).
    pub extension: Option<String>,
    /// Agent or supervisor.
    pub role: Role,
    /// The agent's own team.
    pub team_id: Option<String>,
    /// The teams a supervisor supervises (empty for agents).
    pub supervised_teams: Vec<String>,
    /// Wrap-up after incoming calls.
    pub wrap_up_incoming: WrapUpMode,
    /// Wrap-up after outgoing calls.
    pub wrap_up_outgoing: WrapUpMode,
}

impl UserRecord {
    /// A plain agent with no names, team or extension.
    pub fn agent(login_id: &str) -> Self {
        Self {
            login_id: login_id.to_owned(),
            login_name: login_id.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            extension: None,
            role: Role::Agent,
            team_id: None,
            supervised_teams: Vec::new(),
            wrap_up_incoming: WrapUpMode::Optional,
            wrap_up_outgoing: WrapUpMode::NotAllowed,
        }
    }
}

/// A team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamRecord {
    /// The id (`Team/{id}`).
    pub id: String,
    /// The name.
    pub name: String,
}

/// A queue (a skill group, CSQ).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueRecord {
    /// The id (`Queue/{id}`).
    pub id: String,
    /// The name.
    pub name: String,
    /// The teams whose agents take this queue's calls.
    pub teams: Vec<String>,
}

/// A reason code's category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReasonCategory {
    /// NOT_READY reasons.
    NotReady,
    /// LOGOUT reasons.
    Logout,
}

impl ReasonCategory {
    /// The name in documents and in `?category=`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NotReady => "NOT_READY",
            Self::Logout => "LOGOUT",
        }
    }

    /// Parses [`Self::name`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NOT_READY" => Some(Self::NotReady),
            "LOGOUT" => Some(Self::Logout),
            _ => None,
        }
    }
}

/// A reason code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReasonCodeRecord {
    /// The database id (`reasonCodeId`, `ReasonCode/{id}`).
    pub id: u32,
    /// NOT_READY or LOGOUT.
    pub category: ReasonCategory,
    /// The code sent to the CTI side (1–65535).
    pub code: u16,
    /// The label (≤ 40 characters).
    pub label: String,
    /// Offered to every team.
    pub for_all: bool,
    /// A system code (255 forced logout, …): never listed by the API.
    pub system: bool,
}

/// Everything configured, indexed.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    users: BTreeMap<String, UserRecord>,
    extensions: BTreeMap<String, String>,
    teams: BTreeMap<String, TeamRecord>,
    queues: BTreeMap<String, QueueRecord>,
    reason_codes: BTreeMap<u32, ReasonCodeRecord>,
}

impl Directory {
    /// Adds or replaces a user (login id lower-cased).
    pub fn put_user(&mut self, mut user: UserRecord) {
        user.login_id = user.login_id.to_lowercase();
        if let Some(old) = self.users.get(&user.login_id).and_then(|u| u.extension.clone()) {
            self.extensions.remove(&old);
        }
        if let Some(ext) = &user.extension {
            self.extensions.insert(ext.clone(), user.login_id.clone());
        }
        self.users.insert(user.login_id.clone(), user);
    }

    /// Adds or replaces a team.
    pub fn put_team(&mut self, team: TeamRecord) {
        self.teams.insert(team.id.clone(), team);
    }

    /// Adds or replaces a queue.
    pub fn put_queue(&mut self, queue: QueueRecord) {
        self.queues.insert(queue.id.clone(), queue);
    }

    /// Adds or replaces a reason code.
    pub fn put_reason_code(&mut self, code: ReasonCodeRecord) {
        self.reason_codes.insert(code.id, code);
    }

    /// A user by login id (any case).
    pub fn user(&self, login_id: &str) -> Option<&UserRecord> {
        self.users.get(login_id).or_else(|| self.users.get(&login_id.to_lowercase()))
    }

    /// A user named by login id or by configured extension (Cisco's sample posts MAKE_CALL to
    /// `User/{extension}/Dialogs`).
    pub fn user_or_extension(&self, id: &str) -> Option<&UserRecord> {
        self.user(id).or_else(|| self.extensions.get(id).and_then(|login| self.users.get(login)))
    }

    /// Every user, by login id.
    pub fn users(&self) -> impl Iterator<Item = &UserRecord> {
        self.users.values()
    }

    /// A team.
    pub fn team(&self, id: &str) -> Option<&TeamRecord> {
        self.teams.get(id)
    }

    /// Every team.
    pub fn teams(&self) -> impl Iterator<Item = &TeamRecord> {
        self.teams.values()
    }

    /// The members (agents and supervisors whose own team it is) of a team.
    pub fn team_members<'a>(&'a self, team: &'a str) -> impl Iterator<Item = &'a UserRecord> + 'a {
        self.users.values().filter(move |u| u.team_id.as_deref() == Some(team))
    }

    /// The supervisors of a team.
    pub fn team_supervisors<'a>(&'a self, team: &'a str) -> impl Iterator<Item = &'a UserRecord> + 'a {
        self.users.values().filter(move |u| u.role == Role::Supervisor && u.supervised_teams.iter().any(|t| t == team))
    }

    /// A queue.
    pub fn queue(&self, id: &str) -> Option<&QueueRecord> {
        self.queues.get(id)
    }

    /// Every queue.
    pub fn queues(&self) -> impl Iterator<Item = &QueueRecord> {
        self.queues.values()
    }

    /// The queues a user takes calls from (those served by the user's team) or supervises.
    pub fn user_queues<'a>(&'a self, user: &'a UserRecord) -> impl Iterator<Item = &'a QueueRecord> + 'a {
        self.queues.values().filter(move |q| {
            q.teams.iter().any(|t| user.team_id.as_deref() == Some(t.as_str()) || user.supervised_teams.iter().any(|s| s == t))
        })
    }

    /// A reason code by id.
    pub fn reason_code(&self, id: u32) -> Option<&ReasonCodeRecord> {
        self.reason_codes.get(&id)
    }

    /// A reason code by category and code (what the CTI side reports).
    pub fn reason_code_by_code(&self, category: ReasonCategory, code: u16) -> Option<&ReasonCodeRecord> {
        self.reason_codes.values().find(|r| r.category == category && r.code == code)
    }

    /// Every reason code, by id.
    pub fn reason_codes(&self) -> impl Iterator<Item = &ReasonCodeRecord> {
        self.reason_codes.values()
    }
}
