//! The presence monitor and the presence-driven logout (finesse-domain.md §5): each agent's
//! available desktop resources, one grace timer per agent whose last resource went away, the
//! decision when the grace ends (already out, held while the link is down or a UCCX agent is on
//! a call, LOGOUT or NOT_READY with reason code 255), and the forced requests whose answering
//! agent event is logged as `DECODED_MESSAGE`.

use std::collections::{BTreeMap, BTreeSet};

use herald_cti::{AgentSnapshot, AgentState, CtiRequest, RequestTag, RequestedState};

use crate::EpochMs;
use crate::watch::{LogoutAction, LogoutMode, WsLog};

use super::pending::{TTL_MS, Target};
use super::{ContactCenter, Effect};

/// The reason code of every presence-driven request.
const FORCED_REASON: u16 = 255;

/// Why a logout waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeldFor {
    /// The CTI link is down: re-decided when it is back.
    LinkDown,
    /// A UCCX agent on a call: re-decided when an event shows it off the call.
    OnCall,
}

impl HeldFor {
    /// The words of the log line.
    fn why(self) -> &'static str {
        match self {
            Self::LinkDown => "CTI link down",
            Self::OnCall => "on a call",
        }
    }
}

/// A grace running, or ended and held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Grace {
    /// When the last resource went away (or the start snapshot found none).
    pub(super) since: EpochMs,
    /// When the grace ends (or ended).
    pub(super) deadline: EpochMs,
}

/// The presence monitor's state.
#[derive(Debug, Default)]
pub(super) struct PresenceWatch {
    /// Each agent's available resources (agents with none are absent).
    resources: BTreeMap<String, BTreeSet<String>>,
    /// Graces running, by agent.
    graces: BTreeMap<String, Grace>,
    /// The same graces by deadline: the next one without a scan.
    deadlines: BTreeSet<(EpochMs, String)>,
    /// Graces that ended but whose logout waits, by agent.
    pub(super) held: BTreeMap<String, (Grace, HeldFor)>,
    /// Forced requests sent and not yet answered: tag → (agent, when sent).
    forced: BTreeMap<RequestTag, (String, EpochMs)>,
    /// Whether the first snapshot (the start's) was seen.
    pub(super) snapshot_seen: bool,
}

impl PresenceWatch {
    /// The earliest grace deadline.
    pub(super) fn next_deadline(&self) -> Option<EpochMs> {
        self.deadlines.first().map(|(d, _)| *d)
    }

    /// Whether `agent` has a grace running or a logout held.
    pub(super) fn watching(&self, agent: &str) -> bool {
        self.graces.contains_key(agent) || self.held.contains_key(agent)
    }

    /// Whether `agent` has an available resource.
    pub(super) fn present(&self, agent: &str) -> bool {
        self.resources.contains_key(agent)
    }

    /// Starts a grace for `agent`.
    fn start(&mut self, agent: &str, grace: Grace) {
        if let Some(old) = self.graces.insert(agent.to_owned(), grace) {
            self.deadlines.remove(&(old.deadline, agent.to_owned()));
        }
        self.deadlines.insert((grace.deadline, agent.to_owned()));
    }

    /// Stops `agent`'s grace, or drops its held logout; what was stopped.
    fn cancel(&mut self, agent: &str) -> Option<Grace> {
        if let Some(grace) = self.graces.remove(agent) {
            self.deadlines.remove(&(grace.deadline, agent.to_owned()));
            return Some(grace);
        }
        self.held.remove(agent).map(|(grace, _)| grace)
    }

    /// Removes and returns the first grace ended by `now`.
    fn pop_due(&mut self, now: EpochMs) -> Option<(String, Grace)> {
        let (deadline, _) = self.deadlines.first()?;
        if *deadline > now {
            return None;
        }
        let (_, agent) = self.deadlines.pop_first()?;
        let grace = self.graces.remove(&agent)?;
        Some((agent, grace))
    }

    /// Forgets forced requests never answered (as the pending requests do).
    fn expire(&mut self, now: EpochMs) {
        while let Some(entry) = self.forced.first_entry() {
            if entry.get().1.saturating_add(TTL_MS) > now {
                break;
            }
            entry.remove();
        }
    }
}

impl ContactCenter {
    /// A presence of `user`'s `resource` (see [`ContactCenter::presence`]).
    pub(super) fn on_presence(&mut self, now: EpochMs, user: &str, resource: &str, available: bool) {
        let Some(agent) = self.directory.user(user).map(|u| u.login_id.clone()) else { return };
        let jid = format!("{agent}@{}/{resource}", self.config.xmpp_domain);
        if available {
            self.watch.resources.entry(agent.clone()).or_default().insert(resource.to_owned());
            self.cancel_grace(now, &agent, jid);
            return;
        }
        let Some(resources) = self.watch.resources.get_mut(&agent) else { return };
        if !resources.remove(resource) {
            return;
        }
        let remaining = resources.len();
        if remaining == 0 {
            self.watch.resources.remove(&agent);
        }
        self.log(WsLog::PresenceUnavailable { agent: agent.clone(), jid: jid.clone(), at: now });
        self.log(WsLog::Unsubscribe { agent: agent.clone(), jid, remaining });
        if remaining == 0 && self.config.presence_logout.enabled {
            self.start_grace(now, &agent);
        }
    }

    /// Starts `agent`'s grace when it is signed in, has no available resource known and is not
    /// watched already (the presence-driven logout enabled): what the first snapshot does, and
    /// a cluster's new leader once it learned who has sessions (issue 15). Whether it started.
    pub fn watch_if_absent(&mut self, now: EpochMs, agent: &str) -> bool {
        let Some(login) = self.directory.user(agent).map(|u| u.login_id.clone()) else { return false };
        let absent = !self.watch.present(&login) && !self.watch.watching(&login);
        if !self.config.presence_logout.enabled || !absent || self.view(&login).state == AgentState::Logout {
            return false;
        }
        self.start_grace(now, &login);
        true
    }

    /// Starts (or restarts) `agent`'s grace at `now`.
    pub(super) fn start_grace(&mut self, now: EpochMs, agent: &str) {
        let deadline = now.saturating_add(self.config.presence_logout.grace_ms);
        self.watch.held.remove(agent);
        self.watch.start(agent, Grace { since: now, deadline });
        let state = self.view(agent).state;
        self.log(WsLog::MonitorStarted { agent: agent.to_owned(), at: now, deadline, state });
    }

    /// The agent is back (`jid`, or empty for a sign-in seen on the CTI side): its grace or held
    /// logout is dropped.
    fn cancel_grace(&mut self, now: EpochMs, agent: &str, jid: String) {
        if let Some(grace) = self.watch.cancel(agent) {
            self.log(WsLog::TimerCancelled { agent: agent.to_owned(), jid, at: now, deadline: grace.deadline });
        }
    }

    /// Every grace ended by `now` is decided.
    pub(super) fn graces_due(&mut self, now: EpochMs) {
        self.watch.expire(now);
        while let Some((agent, grace)) = self.watch.pop_due(now) {
            self.decide(now, &agent, grace);
        }
    }

    /// The grace of `agent` ended (or its held logout is re-decided): no request, a held
    /// logout, or the forced request. Whether a request was sent.
    pub(super) fn decide(&mut self, now: EpochMs, agent: &str, grace: Grace) -> bool {
        self.watch.held.remove(agent);
        let view = self.view(agent);
        if view.state == AgentState::Logout {
            self.log(WsLog::AlreadyLoggedOut { agent: agent.to_owned(), at: now });
            return false;
        }
        let cfg = self.config.presence_logout;
        let on_call = matches!(view.state, AgentState::Talking | AgentState::Hold);
        let held = if !self.in_service {
            Some(HeldFor::LinkDown)
        } else if cfg.mode == LogoutMode::Uccx && on_call {
            Some(HeldFor::OnCall)
        } else {
            None
        };
        if let Some(held) = held {
            self.watch.held.insert(agent.to_owned(), (grace, held));
            self.log(WsLog::LogoutHeld { agent: agent.to_owned(), at: now, why: held.why() });
            return false;
        }
        let action = match cfg.mode {
            LogoutMode::Ucce if !cfg.logout_on_disconnect => LogoutAction::NotReady,
            _ => LogoutAction::Logout,
        };
        self.log(WsLog::PresenceDrivenLogout {
            agent: agent.to_owned(),
            state: view.state,
            action,
            at: now,
            unavailable_since: grace.since,
        });
        self.log(WsLog::MessageToCti {
            agent: agent.to_owned(),
            action,
            reason_code: FORCED_REASON,
            forced: true,
            extension: view.extension.clone(),
            at: now,
        });
        let tag = self.pending.remember(now, None, Target::User(agent.to_owned()));
        self.watch.forced.insert(tag, (agent.to_owned(), now));
        let state = match action {
            LogoutAction::Logout => RequestedState::Logout,
            LogoutAction::NotReady => RequestedState::NotReady,
        };
        self.effects.push_back(Effect::Cti(CtiRequest::AgentState {
            tag,
            agent: agent.to_owned(),
            state,
            reason_code: Some(FORCED_REASON),
            forced: true,
        }));
        true
    }

    /// Re-decides every logout held for `why`; how many requests were sent.
    pub(super) fn release_held(&mut self, now: EpochMs, why: HeldFor) -> usize {
        let agents: Vec<(String, Grace)> =
            self.watch.held.iter().filter(|(_, (_, held))| *held == why).map(|(a, (g, _))| (a.clone(), *g)).collect();
        agents.into_iter().filter(|(agent, grace)| self.decide(now, agent, *grace)).count()
    }

    /// An agent event, mirrored and published, then what it means to the monitor: the answer
    /// to a forced request is logged, a sign-in cancels the grace, a UCCX agent off its call is
    /// logged out.
    pub(super) fn agent_event(&mut self, now: EpochMs, tag: Option<RequestTag>, snapshot: AgentSnapshot) {
        let Some(agent) = self.directory.user(&snapshot.agent).map(|u| u.login_id.clone()) else { return };
        let before = self.view(&agent).state;
        let decoded = WsLog::Decoded {
            agent: agent.clone(),
            state: snapshot.state,
            pending: snapshot.pending,
            reason_code: snapshot.reason_code,
            at: now,
        };
        self.on_agent(tag, snapshot);
        if let Some(tag) = tag
            && self.watch.forced.remove(&tag).is_some()
        {
            self.log(decoded);
        }
        let after = self.view(&agent).state;
        if before == AgentState::Logout && after != AgentState::Logout {
            // Signed in again (here with a resource, or on another node): still alive.
            self.cancel_grace(now, &agent, String::new());
        }
        if let Some((grace, HeldFor::OnCall)) = self.watch.held.get(&agent).copied()
            && !matches!(after, AgentState::Talking | AgentState::Hold)
        {
            self.decide(now, &agent, grace);
        }
    }

    /// A forced request was refused: it is no longer awaited.
    pub(super) fn forced_refused(&mut self, tag: RequestTag) {
        self.watch.forced.remove(&tag);
    }

    /// Queues a web-services log line.
    pub(super) fn log(&mut self, line: WsLog) {
        self.effects.push_back(Effect::Log(line));
    }
}
