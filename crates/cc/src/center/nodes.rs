//! The pubsub nodes the configuration needs (SPEC.md §2): each user's `User/{id}`,
//! `User/{id}/Dialogs`, `User/{id}/ClientLog` and `User/{id}/Queues`, each team's
//! `Team/{id}/Users`, each queue's `Queue/{id}`, and `SystemInfo`, with their whitelists and the
//! subscriptions the server makes itself (an agent to its User and Dialogs nodes and to
//! SystemInfo).

use std::collections::BTreeSet;

use crate::directory::{Directory, UserRecord};

use super::{API, NodePlan};

/// Every node, in a stable order (users, teams, queues, SystemInfo).
pub(super) fn plan(dir: &Directory) -> Vec<NodePlan> {
    let mut plans = Vec::new();
    for user in dir.users() {
        let members = owner_and_supervisors(dir, user);
        let own = vec![user.login_id.clone()];
        let id = &user.login_id;
        plans.push(NodePlan { node: format!("{API}/User/{id}"), open: false, members: members.clone(), subscribers: own.clone() });
        plans.push(NodePlan { node: format!("{API}/User/{id}/Dialogs"), open: false, members: members.clone(), subscribers: own });
        plans.push(NodePlan { node: format!("{API}/User/{id}/ClientLog"), open: false, members: members.clone(), subscribers: Vec::new() });
        plans.push(NodePlan { node: format!("{API}/User/{id}/Queues"), open: false, members, subscribers: Vec::new() });
    }
    for team in dir.teams() {
        let members = dir.team_supervisors(&team.id).map(|u| u.login_id.clone()).collect();
        plans.push(NodePlan { node: format!("{API}/Team/{}/Users", team.id), open: false, members, subscribers: Vec::new() });
    }
    for queue in dir.queues() {
        let mut members = BTreeSet::new();
        for team in &queue.teams {
            members.extend(dir.team_members(team).map(|u| u.login_id.clone()));
            members.extend(dir.team_supervisors(team).map(|u| u.login_id.clone()));
        }
        plans.push(NodePlan {
            node: format!("{API}/Queue/{}", queue.id),
            open: false,
            members: members.into_iter().collect(),
            subscribers: Vec::new(),
        });
    }
    let everyone = dir.users().map(|u| u.login_id.clone()).collect();
    plans.push(NodePlan { node: format!("{API}/SystemInfo"), open: true, members: Vec::new(), subscribers: everyone });
    plans
}

/// The user first, then the supervisors of the user's own team (sorted, without repeats).
fn owner_and_supervisors(dir: &Directory, user: &UserRecord) -> Vec<String> {
    let supervisors: BTreeSet<&str> = user
        .team_id
        .as_deref()
        .map(|team| dir.team_supervisors(team).map(|s| s.login_id.as_str()).filter(|s| *s != user.login_id).collect())
        .unwrap_or_default();
    std::iter::once(user.login_id.clone()).chain(supervisors.into_iter().map(str::to_owned)).collect()
}
