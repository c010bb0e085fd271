//! Building blocks every rule shares: a verdict with the time it is about, the user filter.

use crate::{Query, Verdict, VerdictKind};

/// A verdict with the time it is about, for ordering.
pub(crate) type Timed = (u64, Verdict);

/// Builds a verdict.
pub(crate) fn verdict(kind: VerdictKind, subject: &str, summary: String, evidence: Vec<String>) -> Verdict {
    Verdict { kind, subject: subject.to_owned(), summary, evidence }
}

/// Whether the query selects this user.
pub(crate) fn wanted(query: &Query, user: &str) -> bool {
    query.user.as_deref().is_none_or(|u| u == user)
}
