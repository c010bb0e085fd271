//! Calls as documents: `<Dialog>` (the same element in REST bodies and notifications), the
//! `Dialogs` collection, and the actions each participant may take, which the desktop turns
//! into enabled buttons. Call data (numbers, call variables, wrap-up reason) comes from the CTI
//! side and is cleared of characters outside XML 1.0 here.

use herald_cti::{CallSnapshot, Participant, ParticipantState};
use herald_xml::Element;

use super::{Case, leaf, node, parent, timestamp};
use crate::path::BASE;

/// The actions a participant in `state` may take (finesse-domain.md §1.5);
/// `other_call_active`: the agent has another active call (TRANSFER/CONFERENCE from HELD).
pub fn participant_actions(state: ParticipantState, other_call_active: bool) -> Vec<&'static str> {
    match state {
        ParticipantState::Initiating | ParticipantState::Initiated => vec!["UPDATE_CALL_DATA", "DROP"],
        ParticipantState::Alerting => vec!["ANSWER"],
        ParticipantState::Active => vec!["HOLD", "DROP", "UPDATE_CALL_DATA", "CONSULT_CALL", "SEND_DTMF"],
        ParticipantState::Held => {
            let mut actions = vec!["RETRIEVE", "DROP", "UPDATE_CALL_DATA"];
            if other_call_active {
                actions.extend(["TRANSFER", "CONFERENCE"]);
            }
            actions
        }
        ParticipantState::Failed => vec!["DROP"],
        ParticipantState::WrapUp => vec!["UPDATE_CALL_DATA"],
        ParticipantState::Dropped | ParticipantState::Accepted => Vec::new(),
    }
}

/// `/finesse/api/Dialog/{id}`.
fn dialog_uri(id: u64) -> String {
    format!("{BASE}/Dialog/{id}")
}

/// One `<Participant>`: agents (on an agent device) get their actions and
/// `mediaAddressType` AGENT_DEVICE; outside parties neither.
fn participant(p: &Participant, other_call_active: &dyn Fn(&str) -> bool) -> Element {
    let (actions, address_type) = match &p.agent {
        Some(agent) => (participant_actions(p.state, other_call_active(agent)), "AGENT_DEVICE"),
        None => (Vec::new(), ""),
    };
    parent(
        "Participant",
        [
            parent("actions", actions.into_iter().map(|a| leaf("action", a))),
            leaf("mediaAddress", &p.address),
            leaf("mediaAddressType", address_type),
            leaf("startTime", &timestamp(p.start)),
            leaf("state", p.state.name()),
            leaf("stateCause", p.cause.map(|c| c.name()).unwrap_or("")),
            leaf("stateChangeTime", &timestamp(p.state_changed)),
        ],
    )
}

/// `<mediaProperties>`: the call's data, in the alphabetical order of Finesse's payloads
/// (upper-case `DNIS` first).
fn media_properties(call: &CallSnapshot) -> Element {
    let variables = call.variables.iter().map(|(name, value)| parent("CallVariable", [leaf("name", name), leaf("value", value)]));
    let (queue_name, queue_number) = call.queue.as_ref().map(|q| (q.name.as_str(), q.id.as_str())).unwrap_or(("", ""));
    parent(
        "mediaProperties",
        [
            leaf("DNIS", &call.dialed_number),
            leaf("callKeyCallId", ""),
            leaf("callKeyPrefix", ""),
            leaf("callKeySequenceNum", ""),
            leaf("callType", call.call_type.name()),
            parent("callvariables", variables),
            leaf("dialedNumber", &call.dialed_number),
            leaf("mediaId", "1"),
            leaf("outboundClassification", ""),
            leaf("queueName", queue_name),
            leaf("queueNumber", queue_number),
            leaf("wrapUpReason", call.wrap_up_reason.as_deref().unwrap_or("")),
        ],
    )
}

/// `<Dialog>` (both cases); `other_call_active(agent)` as for [`participant_actions`].
pub fn dialog(call: &CallSnapshot, other_call_active: &dyn Fn(&str) -> bool) -> Element {
    let associated = call.associated.map(dialog_uri).unwrap_or_default();
    parent(
        "Dialog",
        [
            leaf("associatedDialogUri", &associated),
            leaf("fromAddress", &call.from),
            leaf("id", &call.id.to_string()),
            media_properties(call),
            leaf("mediaType", "Voice"),
            parent("participants", call.participants.iter().map(|p| participant(p, other_call_active))),
            leaf("secondaryId", ""),
            leaf("state", call.state.name()),
            leaf("toAddress", &call.to),
            leaf("uri", &dialog_uri(call.id)),
        ],
    )
}

/// `<Dialogs>` (REST) or `<dialogs>` (notification) holding these dialogs.
pub fn dialogs(calls: &[&CallSnapshot], other_call_active: &dyn Fn(&str) -> bool, case: Case) -> Element {
    let mut e = node(case.pick("Dialogs", "dialogs"));
    for call in calls {
        e.push_child(dialog(call, other_call_active));
    }
    e
}
