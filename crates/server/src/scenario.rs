//! The scenario file: the contact center Herald starts with (deployment type, teams, queues,
//! reason codes, users and numbered user ranges, the simulator's timings), in TOML. [`load`]
//! reads and validates it (the sample in `scenario/sample.toml` when none is configured);
//! [`apply_first_start`] writes it to the store once, on the first start, so that what an
//! operator changes afterwards survives restarts. The simulator reads its own section
//! ([`SimulatorSpec`]) and the queues' arrival rates from the loaded [`Scenario`] at every start.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use anyhow::{Context, bail};
use herald_cc::{ReasonCategory, Role, WrapUpMode};
use herald_store::{Store, StoredCcUser, StoredQueue, StoredReasonCode, StoredTeam};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::users;

/// The sample scenario, used when none is configured.
pub const SAMPLE: &str = include_str!("../scenario/sample.toml");

/// Most users in one `[[user_ranges]]` entry.
const MAX_RANGE: u64 = 1_000_000;

/// An id written as a string or as a non-negative integer (`id = 1` and `id = "1"` are the same
/// team): Finesse's ids are numbers, and TOML would otherwise make the operator quote them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(
    /// The id as text.
    pub String,
);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                if v.is_empty() {
                    return Err(E::custom("an id must not be empty"));
                }
                Ok(Id(v.to_owned()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                Ok(Id(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                u64::try_from(v).map(|v| Id(v.to_string())).map_err(|_| E::custom("an id must not be negative"))
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// Which Cisco deployment Herald presents itself as (`SystemInfo/deploymentType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
pub enum DeploymentType {
    /// Unified Contact Center Enterprise.
    #[default]
    #[serde(rename = "UCCE")]
    Ucce,
    /// Unified Contact Center Express.
    #[serde(rename = "UCCX")]
    Uccx,
}

impl DeploymentType {
    /// The name in `SystemInfo`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ucce => "UCCE",
            Self::Uccx => "UCCX",
        }
    }
}

/// `[contact_center]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ContactCenterSpec {
    /// `UCCE` (default) or `UCCX`.
    #[serde(default)]
    pub deployment_type: DeploymentType,
}

/// `[[teams]]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    /// The team id.
    pub id: Id,
    /// Its name.
    pub name: String,
}

/// `[[queues]]`: a queue, the teams that take its calls, and the simulator's arrivals on it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The queue id.
    pub id: Id,
    /// Its name.
    pub name: String,
    /// The teams whose agents take its calls.
    #[serde(default)]
    pub teams: Vec<Id>,
    /// The number callers dial (the simulated calls' DNIS).
    #[serde(default)]
    pub dialed_number: Option<Id>,
    /// Simulated arrivals per hour (0: none).
    #[serde(default)]
    pub calls_per_hour: f64,
}

/// A reason code's category in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
pub enum CategorySpec {
    /// `NOT_READY`.
    #[serde(rename = "NOT_READY")]
    NotReady,
    /// `LOGOUT`.
    #[serde(rename = "LOGOUT")]
    Logout,
}

impl CategorySpec {
    /// The contact center's category.
    pub fn category(self) -> ReasonCategory {
        match self {
            Self::NotReady => ReasonCategory::NotReady,
            Self::Logout => ReasonCategory::Logout,
        }
    }
}

/// `[[reason_codes]]`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonCodeSpec {
    /// The database id (`reasonCodeId`).
    pub id: u32,
    /// `NOT_READY` or `LOGOUT`.
    pub category: CategorySpec,
    /// The code, 1–65535.
    pub code: u32,
    /// The label, at most 40 characters.
    pub label: String,
    /// Offered to every team (default true).
    #[serde(default = "yes")]
    pub for_all: bool,
    /// A system code, never listed by the API (default false).
    #[serde(default)]
    pub system: bool,
}

fn yes() -> bool {
    true
}

/// A user's role in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RoleSpec {
    /// An agent.
    #[default]
    Agent,
    /// A supervisor.
    Supervisor,
}

impl RoleSpec {
    /// The contact center's role.
    pub fn role(self) -> Role {
        match self {
            Self::Agent => Role::Agent,
            Self::Supervisor => Role::Supervisor,
        }
    }
}

/// `[[users]]`: one agent or supervisor with its account's password.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The login id (the JID localpart).
    pub login_id: Id,
    /// The account's password (used only when the account does not exist yet).
    pub password: String,
    /// `agent` (default) or `supervisor`.
    #[serde(default)]
    pub role: RoleSpec,
    /// The user's own team.
    #[serde(default)]
    pub team: Option<Id>,
    /// The extension.
    #[serde(default)]
    pub extension: Option<Id>,
    /// First name.
    #[serde(default)]
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// The teams a supervisor supervises (default: its own team).
    #[serde(default)]
    pub supervises: Vec<Id>,
    /// Wrap-up after incoming calls (default `OPTIONAL`).
    #[serde(default)]
    pub wrap_up_incoming: Option<String>,
    /// Wrap-up after outgoing calls (default `NOT_ALLOWED`).
    #[serde(default)]
    pub wrap_up_outgoing: Option<String>,
}

/// `[[user_ranges]]`: `count` users `<prefix><start>`, `<prefix><start+1>`, … (load tests).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRangeSpec {
    /// Login id prefix (may be empty).
    #[serde(default)]
    pub prefix: String,
    /// The first number.
    pub start: u64,
    /// How many users.
    pub count: u64,
    /// The password of every one of them.
    pub password: String,
    /// `agent` (default) or `supervisor` (supervising its team).
    #[serde(default)]
    pub role: RoleSpec,
    /// Their team.
    #[serde(default)]
    pub team: Option<Id>,
}

/// `[simulator]`: timings of the built-in CTI simulator.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSpec {
    /// Seed of its random choices (none: a random seed at each start).
    pub seed: Option<u64>,
    /// Talk time, `[min, max]` seconds.
    pub talk_time_secs: [u64; 2],
    /// Wrap-up (WORK) time, seconds.
    pub wrap_up_secs: u64,
    /// Ring-no-answer time, seconds.
    pub ring_no_answer_secs: u64,
    /// How long an outside party takes to answer an outbound call, `[min, max]` seconds.
    pub outside_answer_secs: [u64; 2],
    /// Interval of queue statistics, seconds.
    pub stats_interval_secs: u64,
}

impl Default for SimulatorSpec {
    /// Talk 30–180 s, wrap-up 15 s, ring-no-answer 15 s, outside answer 2–6 s, statistics every
    /// 10 s, random seed. (Its heartbeats follow `[cti] heartbeat_secs`.)
    fn default() -> Self {
        Self {
            seed: None,
            talk_time_secs: [30, 180],
            wrap_up_secs: 15,
            ring_no_answer_secs: 15,
            outside_answer_secs: [2, 6],
            stats_interval_secs: 10,
        }
    }
}

/// A whole scenario file, validated.
#[derive(Clone, Debug, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// `[contact_center]`.
    #[serde(default)]
    pub contact_center: ContactCenterSpec,
    /// `[[teams]]`.
    #[serde(default)]
    pub teams: Vec<TeamSpec>,
    /// `[[queues]]`.
    #[serde(default)]
    pub queues: Vec<QueueSpec>,
    /// `[[reason_codes]]`.
    #[serde(default)]
    pub reason_codes: Vec<ReasonCodeSpec>,
    /// `[[users]]`.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// `[[user_ranges]]`.
    #[serde(default)]
    pub user_ranges: Vec<UserRangeSpec>,
    /// `[simulator]`.
    #[serde(default)]
    pub simulator: SimulatorSpec,
}

/// One user the scenario creates (from `[[users]]` or a range), with its password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioUser {
    /// The contact-center user (login id not yet normalised).
    pub user: StoredCcUser,
    /// The account's password.
    pub password: String,
}

/// Reads and validates the scenario at `path`; `None` reads the embedded sample.
pub fn load(path: Option<&Path>) -> anyhow::Result<Scenario> {
    match path {
        None => parse(SAMPLE).context("the embedded sample scenario"),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the scenario file {}", path.display()))?;
            parse(&text).with_context(|| format!("in the scenario file {}", path.display()))
        }
    }
}

/// Parses and validates scenario text.
pub fn parse(text: &str) -> anyhow::Result<Scenario> {
    let scenario: Scenario = toml::from_str(text)?;
    scenario.validate()?;
    Ok(scenario)
}

/// The login id of number `n` of a range.
fn range_login(prefix: &str, n: u64) -> String {
    format!("{prefix}{n}")
}

impl Scenario {
    /// Checks what the types cannot: unique ids, teams that exist, reason codes unique by
    /// (code, category) and (label, category) with codes 1–65535 and labels of at most 40
    /// characters, known wrap-up modes, sane simulator timings. Errors name the entry and field.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut teams = HashSet::new();
        for (i, t) in self.teams.iter().enumerate() {
            if !teams.insert(&t.id) {
                bail!("teams[{i}].id: team id {} appears twice", t.id);
            }
        }
        let known_team = |field: String, id: &Id| -> anyhow::Result<()> {
            if teams.contains(id) { Ok(()) } else { bail!("{field}: no team has id {id}") }
        };
        let mut queues = HashSet::new();
        for (i, q) in self.queues.iter().enumerate() {
            if !queues.insert(&q.id) {
                bail!("queues[{i}].id: queue id {} appears twice", q.id);
            }
            for (j, t) in q.teams.iter().enumerate() {
                known_team(format!("queues[{i}].teams[{j}]"), t)?;
            }
            if !(q.calls_per_hour.is_finite() && q.calls_per_hour >= 0.0) {
                bail!("queues[{i}].calls_per_hour: must be a number of calls, 0 or more");
            }
        }
        self.validate_reason_codes()?;
        let mut logins = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if !logins.insert(u.login_id.0.to_lowercase()) {
                bail!("users[{i}].login_id: login id {} appears twice", u.login_id);
            }
            if u.password.is_empty() {
                bail!("users[{i}].password: must not be empty");
            }
            if let Some(team) = &u.team {
                known_team(format!("users[{i}].team"), team)?;
            }
            for (j, t) in u.supervises.iter().enumerate() {
                known_team(format!("users[{i}].supervises[{j}]"), t)?;
            }
            if u.role == RoleSpec::Agent && !u.supervises.is_empty() {
                bail!("users[{i}].supervises: only a supervisor supervises teams (role = \"supervisor\")");
            }
            for (field, mode) in [("wrap_up_incoming", &u.wrap_up_incoming), ("wrap_up_outgoing", &u.wrap_up_outgoing)] {
                if let Some(mode) = mode
                    && WrapUpMode::parse(mode).is_none()
                {
                    bail!("users[{i}].{field}: {mode:?} is not REQUIRED, REQUIRED_WITH_WRAP_UP_DATA, OPTIONAL or NOT_ALLOWED");
                }
            }
        }
        for (i, r) in self.user_ranges.iter().enumerate() {
            if r.password.is_empty() {
                bail!("user_ranges[{i}].password: must not be empty");
            }
            if let Some(team) = &r.team {
                known_team(format!("user_ranges[{i}].team"), team)?;
            }
            if r.count > MAX_RANGE {
                bail!("user_ranges[{i}].count: at most {MAX_RANGE} users per range");
            }
            for n in r.start..r.start + r.count {
                let login = range_login(&r.prefix, n);
                if !logins.insert(login.to_lowercase()) {
                    bail!("user_ranges[{i}]: login id {login} is also given elsewhere");
                }
            }
        }
        let s = &self.simulator;
        for (field, [min, max]) in [("talk_time_secs", s.talk_time_secs), ("outside_answer_secs", s.outside_answer_secs)] {
            if min > max {
                bail!("simulator.{field}: the minimum {min} is above the maximum {max}");
            }
        }
        if s.stats_interval_secs == 0 {
            bail!("simulator.stats_interval_secs: must be at least 1");
        }
        Ok(())
    }

    fn validate_reason_codes(&self) -> anyhow::Result<()> {
        let mut ids = HashSet::new();
        let mut codes = HashMap::new();
        let mut labels = HashMap::new();
        for (i, r) in self.reason_codes.iter().enumerate() {
            if !ids.insert(r.id) {
                bail!("reason_codes[{i}].id: reason code id {} appears twice", r.id);
            }
            if !(1..=65535).contains(&r.code) {
                bail!("reason_codes[{i}].code: {} is not in 1–65535", r.code);
            }
            let label_len = r.label.chars().count();
            if label_len == 0 || label_len > 40 {
                bail!("reason_codes[{i}].label: must have 1 to 40 characters, {:?} has {label_len}", r.label);
            }
            let category = r.category.category().name();
            if let Some(other) = codes.insert((r.code, r.category), i) {
                bail!("reason_codes[{i}].code: code {} is already used by reason_codes[{other}] in {category}", r.code);
            }
            if let Some(other) = labels.insert((r.label.clone(), r.category), i) {
                bail!("reason_codes[{i}].label: label {:?} is already used by reason_codes[{other}] in {category}", r.label);
            }
        }
        Ok(())
    }

    /// Every user the scenario names, `[[users]]` first then the ranges, as the store keeps
    /// them (login ids as written; extensions of range users are their login ids when these
    /// are all digits).
    pub fn all_users(&self) -> Vec<ScenarioUser> {
        let mut all = Vec::with_capacity(self.users.len());
        for u in &self.users {
            let team_id = u.team.as_ref().map(|t| t.0.clone());
            let supervised_teams = match (u.role, u.supervises.is_empty(), &team_id) {
                (RoleSpec::Supervisor, true, Some(team)) => vec![team.clone()],
                _ => u.supervises.iter().map(|t| t.0.clone()).collect(),
            };
            all.push(ScenarioUser {
                user: StoredCcUser {
                    login_id: u.login_id.0.clone(),
                    login_name: u.login_id.0.clone(),
                    first_name: u.first_name.clone(),
                    last_name: u.last_name.clone(),
                    extension: u.extension.as_ref().map(|e| e.0.clone()),
                    role: crate::directory::role_name(u.role.role()).into(),
                    team_id,
                    supervised_teams,
                    wrap_up_incoming: u.wrap_up_incoming.clone().unwrap_or_else(|| WrapUpMode::Optional.name().into()),
                    wrap_up_outgoing: u.wrap_up_outgoing.clone().unwrap_or_else(|| WrapUpMode::NotAllowed.name().into()),
                },
                password: u.password.clone(),
            });
        }
        for r in &self.user_ranges {
            let team_id = r.team.as_ref().map(|t| t.0.clone());
            for n in r.start..r.start.saturating_add(r.count) {
                let login = range_login(&r.prefix, n);
                let numeric = login.bytes().all(|b| b.is_ascii_digit());
                all.push(ScenarioUser {
                    user: StoredCcUser {
                        login_name: login.clone(),
                        first_name: "Agent".into(),
                        last_name: login.clone(),
                        extension: numeric.then(|| login.clone()),
                        role: crate::directory::role_name(r.role.role()).into(),
                        supervised_teams: if r.role == RoleSpec::Supervisor { team_id.iter().cloned().collect() } else { Vec::new() },
                        team_id: team_id.clone(),
                        wrap_up_incoming: WrapUpMode::Optional.name().into(),
                        wrap_up_outgoing: WrapUpMode::NotAllowed.name().into(),
                        login_id: login,
                    },
                    password: r.password.clone(),
                });
            }
        }
        all
    }
}

/// Writes `scenario` to the store unless a scenario was applied before: teams, queues, reason
/// codes, the accounts that do not exist yet (existing ones keep their passwords) and every
/// contact-center user, then marks it applied. Later starts change nothing, so an operator's
/// edits survive. Passwords become SCRAM credentials on every core at once, and accounts and
/// users are written in one transaction each, so thousands of agents take seconds. Returns
/// whether it applied the scenario.
pub async fn apply_first_start<S: Store>(store: &S, domain: &str, scenario: &Scenario) -> anyhow::Result<bool> {
    if store.cc_scenario_applied().await? {
        return Ok(false);
    }
    // Login ids first: a bad one refuses the scenario before anything is written.
    let mut all = scenario.all_users();
    for u in &mut all {
        u.user.login_id = users::normalise_login_id(&u.user.login_id, domain)?;
    }
    for t in &scenario.teams {
        store.cc_put_team(&StoredTeam { id: t.id.0.clone(), name: t.name.clone() }).await?;
    }
    for q in &scenario.queues {
        store
            .cc_put_queue(&StoredQueue { id: q.id.0.clone(), name: q.name.clone(), teams: q.teams.iter().map(|t| t.0.clone()).collect() })
            .await?;
    }
    for r in &scenario.reason_codes {
        let code = u16::try_from(r.code).with_context(|| format!("reason code {}: code {} is not in 1–65535", r.id, r.code))?;
        store
            .cc_put_reason_code(&StoredReasonCode {
                id: r.id,
                category: r.category.category().name().into(),
                code,
                label: r.label.clone(),
                for_all: r.for_all,
                system: r.system,
            })
            .await?;
    }
    let existing: HashSet<String> = store.list_users().await?.into_iter().collect();
    let new: Vec<(String, String)> =
        all.iter().filter(|u| !existing.contains(&u.user.login_id)).map(|u| (u.user.login_id.clone(), u.password.clone())).collect();
    let accounts = users::derive_credentials(new).await?;
    let created = store.cc_create_accounts(&accounts).await?;
    let cc_users: Vec<StoredCcUser> = all.into_iter().map(|u| u.user).collect();
    store.cc_put_users(&cc_users).await?;
    store.cc_mark_scenario_applied().await?;
    tracing::info!(
        target: "notification",
        teams = scenario.teams.len(),
        queues = scenario.queues.len(),
        reason_codes = scenario.reason_codes.len(),
        users = cc_users.len(),
        accounts_created = created,
        "scenario applied (first start)"
    );
    Ok(true)
}

#[cfg(test)]
mod tests;
