//! The GETs: each resource rendered by [`crate::documents`] in its REST case, after the caller's
//! reach is checked (before any 404 where the id names a user).

use herald_cti::CallSnapshot;
use herald_xml::Element;

use crate::authz;
use crate::directory::{ReasonCategory, ReasonCodeRecord, UserRecord};
use crate::documents::{self, Case};
use crate::path::Resource;
use crate::{ApiError, EpochMs};

use super::ContactCenter;

impl ContactCenter {
    /// The document a GET of `resource` by `caller` answers with.
    pub(super) fn get(&self, now: EpochMs, caller: &UserRecord, resource: Resource) -> Result<Element, ApiError> {
        let dir = &self.directory;
        let other_active = |agent: &str| self.has_active_call(agent);
        match resource {
            Resource::User(id) => {
                let target = self.reach_user(caller, &id, false)?;
                Ok(documents::user(dir, target, &self.view(&target.login_id), Case::Rest))
            }
            Resource::UserDialogs(id) => {
                let target = self.reach_user(caller, &id, true)?;
                let calls = self.calls_of(&target.login_id);
                Ok(documents::dialogs(&calls, &other_active, Case::Rest))
            }
            Resource::UserReasonCodes(id, category) => {
                self.reach_user(caller, &id, false)?;
                self.reason_code_list(category.as_deref())
            }
            Resource::UserReasonCode(id, code) => {
                self.reach_user(caller, &id, false)?;
                self.reason_code(&code).map(documents::reason_code)
            }
            Resource::UserQueues(id) => {
                let target = self.reach_user(caller, &id, false)?;
                let list: Vec<_> = dir.user_queues(target).map(|q| (q, self.queue_stats.get(&q.id))).collect();
                Ok(documents::queues(&list, Case::Rest))
            }
            Resource::Dialog(id) => {
                let call = self.call(&id)?;
                authz::read_dialog(dir, caller, call)?;
                Ok(documents::dialog(call, &other_active))
            }
            Resource::Team(id) => {
                authz::team(caller, &id)?;
                let team = dir.team(&id).ok_or_else(|| ApiError::not_found(id.as_str()))?;
                Ok(documents::team(dir, team, &|member| self.view(member)))
            }
            Resource::Queue(id) => {
                let queue = dir.queue(&id).ok_or_else(|| ApiError::not_found(id.as_str()))?;
                authz::queue(dir, caller, &id)?;
                Ok(documents::queue(queue, self.queue_stats.get(&id)))
            }
            Resource::ReasonCodes(category) => self.reason_code_list(category.as_deref()),
            Resource::ReasonCode(code) => self.reason_code(&code).map(documents::reason_code),
            Resource::SystemInfo => Ok(self.system_info_document(now)),
            Resource::UserClientLog(_) => Err(ApiError::method_not_allowed("GET")),
        }
    }

    /// The user `id` names (login id in any case, or — for Dialogs — an extension) if `caller`
    /// reaches it; refused alike whether it exists or not.
    pub(super) fn reach_user(&self, caller: &UserRecord, id: &str, by_extension: bool) -> Result<&UserRecord, ApiError> {
        let target = if by_extension { self.directory.user_or_extension(id) } else { self.directory.user(id) };
        authz::user(caller, target, id)?;
        target.ok_or_else(|| ApiError::not_found(id))
    }

    /// A call by its id in a path (not a number, or unknown: 404).
    pub(super) fn call(&self, id: &str) -> Result<&CallSnapshot, ApiError> {
        id.parse().ok().and_then(|id| self.calls.get(&id)).ok_or_else(|| ApiError::not_found(id))
    }

    /// The calls in an agent's Dialogs collection.
    pub(super) fn calls_of(&self, login_id: &str) -> Vec<&CallSnapshot> {
        self.dialogs_of.get(login_id).into_iter().flatten().filter_map(|id| self.calls.get(id)).collect()
    }

    /// `<ReasonCodes>`: every code but system ones, of `category` when given (unknown: 400).
    fn reason_code_list(&self, category: Option<&str>) -> Result<Element, ApiError> {
        let category = match category {
            None | Some("") => None,
            Some(name) => Some(ReasonCategory::parse(name).ok_or_else(|| ApiError::invalid_input("Invalid category", name))?),
        };
        let codes: Vec<&ReasonCodeRecord> =
            self.directory.reason_codes().filter(|r| !r.system && category.is_none_or(|c| r.category == c)).collect();
        Ok(documents::reason_codes(&codes))
    }

    /// A listed reason code by its id in a path (system codes are not served).
    fn reason_code(&self, id: &str) -> Result<&ReasonCodeRecord, ApiError> {
        id.parse().ok().and_then(|id| self.directory.reason_code(id)).filter(|r| !r.system).ok_or_else(|| ApiError::not_found(id))
    }
}
