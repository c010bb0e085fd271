//! The agent documents: the full `User` (REST and the User node's `<user>`), the summary user
//! a `Team` lists and `Team/{id}/Users` publishes, and the `Team` itself. Children are in the
//! alphabetical order of Finesse's payloads (captured 12.5 notifications); every field is
//! present even when empty, since clients read them by name and some crash on a missing one.

use herald_xml::Element;

use super::{Case, bool_name, leaf, node, parent, reason_code_uri, time_or_empty};
use crate::directory::{Directory, ReasonCodeRecord, Role, TeamRecord, UserRecord};
use crate::model::AgentView;
use crate::path::BASE;

/// `/finesse/api/User/{id}`.
fn user_uri(user: &UserRecord) -> String {
    format!("{BASE}/User/{}", user.login_id)
}

/// `/finesse/api/User/{id}/Dialogs`.
fn dialogs_uri(user: &UserRecord) -> String {
    format!("{BASE}/User/{}/Dialogs", user.login_id)
}

/// The reason code the view names, when the directory knows it.
fn applied_reason<'a>(dir: &'a Directory, view: &AgentView) -> Option<&'a ReasonCodeRecord> {
    view.reason_code_id.and_then(|id| dir.reason_code(id))
}

/// `pendingState`: the name, or empty.
fn pending(view: &AgentView) -> &'static str {
    view.pending.map(|s| s.name()).unwrap_or("")
}

/// `<User>` (REST) or `<user>` (User node notification): every field clients read.
pub fn user(dir: &Directory, user: &UserRecord, view: &AgentView, case: Case) -> Element {
    let mut e = node(case.pick("User", "user"));
    e.push_child(leaf("dialogs", &dialogs_uri(user)));
    e.push_child(leaf("extension", view.extension.as_deref().unwrap_or("")));
    e.push_child(leaf("firstName", &user.first_name));
    e.push_child(leaf("lastName", &user.last_name));
    e.push_child(leaf("loginId", &user.login_id));
    e.push_child(leaf("loginName", &user.login_name));
    e.push_child(leaf("mediaType", "1"));
    e.push_child(leaf("pendingState", pending(view)));
    if let Some(code) = applied_reason(dir, view) {
        e.push_child(parent(
            "ReasonCode",
            [
                leaf("category", code.category.name()),
                leaf("uri", &reason_code_uri(code)),
                leaf("code", &code.code.to_string()),
                leaf("label", &code.label),
                leaf("forAll", bool_name(code.for_all)),
                leaf("systemCode", bool_name(code.system)),
                leaf("id", &code.id.to_string()),
            ],
        ));
    }
    e.push_child(leaf("reasonCodeId", &view.reason_code_id.map_or_else(|| "-1".to_owned(), |id| id.to_string())));
    let mut roles = vec![leaf("role", "Agent")];
    if user.role == Role::Supervisor {
        roles.push(leaf("role", "Supervisor"));
    }
    e.push_child(parent("roles", roles));
    e.push_child(parent(
        "settings",
        [leaf("wrapUpOnIncoming", user.wrap_up_incoming.name()), leaf("wrapUpOnOutgoing", user.wrap_up_outgoing.name())],
    ));
    e.push_child(leaf("state", view.state.name()));
    e.push_child(leaf("stateChangeTime", &time_or_empty(view.state_changed)));
    let team_id = user.team_id.as_deref().unwrap_or("");
    let team_name = user.team_id.as_deref().and_then(|t| dir.team(t)).map(|t| t.name.as_str()).unwrap_or("");
    e.push_child(leaf("teamId", team_id));
    e.push_child(leaf("teamName", team_name));
    let supervised = if user.role == Role::Supervisor { user.supervised_teams.as_slice() } else { &[] };
    e.push_child(parent(
        "teams",
        supervised.iter().map(|id| {
            let name = dir.team(id).map(|t| t.name.as_str()).unwrap_or("");
            // Order as in captured 12.5 payloads: id, name, uri.
            parent("Team", [leaf("id", id), leaf("name", name), leaf("uri", &format!("{BASE}/Team/{id}"))])
        }),
    ));
    e.push_child(leaf("uri", &user_uri(user)));
    e
}

/// The summary `<User>` inside `<Team><users>` (REST) or `<user>` on `Team/{id}/Users`.
pub fn team_member(dir: &Directory, user: &UserRecord, view: &AgentView, case: Case) -> Element {
    let mut e = node(case.pick("User", "user"));
    e.push_child(leaf("dialogs", &dialogs_uri(user)));
    e.push_child(leaf("extension", view.extension.as_deref().unwrap_or("")));
    e.push_child(leaf("firstName", &user.first_name));
    e.push_child(leaf("lastName", &user.last_name));
    e.push_child(leaf("loginId", &user.login_id));
    e.push_child(leaf("pendingState", pending(view)));
    if let Some(code) = applied_reason(dir, view) {
        e.push_child(parent(
            "reasonCode",
            [
                leaf("category", code.category.name()),
                leaf("code", &code.code.to_string()),
                leaf("id", &code.id.to_string()),
                leaf("label", &code.label),
                leaf("uri", &reason_code_uri(code)),
            ],
        ));
    }
    e.push_child(leaf("state", view.state.name()));
    e.push_child(leaf("stateChangeTime", &time_or_empty(view.state_changed)));
    e.push_child(leaf("uri", &user_uri(user)));
    e
}

/// `<Team>` with its members' summaries; `view_of` gives each member's state.
pub fn team(dir: &Directory, team: &TeamRecord, view_of: &dyn Fn(&str) -> AgentView) -> Element {
    let users = dir.team_members(&team.id).map(|u| team_member(dir, u, &view_of(&u.login_id), Case::Rest));
    parent(
        "Team",
        [leaf("id", &team.id), leaf("name", &team.name), leaf("uri", &format!("{BASE}/Team/{}", team.id)), parent("users", users)],
    )
}
