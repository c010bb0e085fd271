//! The pubsub nodes the configuration needs (SPEC.md §2): each user's `User/{id}`,
//! `User/{id}/Dialogs`, `User/{id}/ClientLog` and `User/{id}/Queues`, each team's
//! `Team/{id}/Users`, each queue's `Queue/{id}`, and `SystemInfo`, with their whitelists and the
//! subscriptions the server makes itself (an agent to its User and Dialogs nodes and to
//! SystemInfo).

use std::collections::{BTreeSet, HashMap};

use crate::directory::{Directory, Role, UserRecord};

use super::{API, NodePlan};

/// Every node, in a stable order (users, teams, queues, SystemInfo).
pub(super) fn plan(dir: &Directory) -> Vec<NodePlan> {
    let mut plans = Vec::new();
    let supervisors = supervisors_by_team(dir);
    for user in dir.users() {
        let members = owner_and_supervisors(&supervisors, user);
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

/// Each team's supervisors (sorted, without repeats), found in one pass over the users: asking
/// the directory per user would read every user for each one, minutes of CPU at 100,000.
fn supervisors_by_team(dir: &Directory) -> HashMap<&str, BTreeSet<&str>> {
    let mut by_team: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for supervisor in dir.users().filter(|u| u.role == Role::Supervisor) {
        for team in &supervisor.supervised_teams {
            by_team.entry(team.as_str()).or_default().insert(supervisor.login_id.as_str());
        }
    }
    by_team
}

/// The user first, then the supervisors of the user's own team (sorted, without repeats).
fn owner_and_supervisors(supervisors: &HashMap<&str, BTreeSet<&str>>, user: &UserRecord) -> Vec<String> {
    let theirs = user.team_id.as_deref().and_then(|team| supervisors.get(team));
    let others = theirs.into_iter().flatten().filter(|s| **s != user.login_id).map(|s| (*s).to_owned());
    std::iter::once(user.login_id.clone()).chain(others).collect()
}
