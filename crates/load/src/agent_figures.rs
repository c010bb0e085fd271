//! What the agents scenario measured, and its rows in the run's report.

use std::collections::BTreeMap;

use crate::fanout::FanoutFigures;

/// The agents scenario's figures.
#[derive(Clone, Debug, Default)]
pub struct AgentFigures {
    /// Desktops asked for.
    pub desktops: usize,
    /// Desktops logged in over XMPP.
    pub logged_in: usize,
    /// Desktops signed in through REST (LOGIN and NOT_READY both confirmed by their Updates).
    pub signed_in: usize,
    /// Desktops logged in over XMPP whose REST sign-in failed.
    pub sign_in_failed: usize,
    /// Time from the first login to the last sign-in.
    pub sign_in_seconds: f64,
    /// State changes attempted in the measured phase.
    pub attempted: u64,
    /// Answered 202.
    pub accepted: u64,
    /// Accepted, and their Update arrived at the agent's desktop.
    pub seen: u64,
    /// Accepted, then refused by an `apiErrors` Update.
    pub refused: u64,
    /// Accepted, and no Update within 10 s.
    pub lost: u64,
    /// Not accepted: another status than 202, or the request failed.
    pub errors: u64,
    /// Errors by kind (`http-<status>`, `io`, `timeout`, …).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Changes due while every agent still had one in flight (not sent).
    pub not_sent: u64,
    /// Achieved change rate, per second.
    pub rate: f64,
    /// Request-to-Update latency, median, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Server CPU per accepted change, microseconds (utime + stime over the measured phase).
    pub cpu_us_per_change: Option<f64>,
    /// REST connections opened.
    pub rest_connections: usize,
    /// The bare pubsub publish baseline, when measured.
    pub baseline: Option<FanoutFigures>,
    /// Why the baseline could not be measured.
    pub baseline_error: Option<String>,
    /// The failover, in a run with failover ports.
    pub failover: Option<FailoverFigures>,
}

impl AgentFigures {
    /// Records the baseline run.
    pub(crate) fn set_baseline(&mut self, baseline: FanoutFigures) {
        self.baseline = Some(baseline);
    }

    /// Server CPU per bare publish to one subscriber, microseconds (each publish is one delivery);
    /// `None` when nothing was delivered (the figure would mean nothing).
    pub fn baseline_cpu_us_per_publish(&self) -> Option<f64> {
        let baseline = self.baseline.as_ref().filter(|b| b.delivered > 0)?;
        // Milliseconds per 1,000 deliveries are microseconds per delivery.
        baseline.cpu_ms_per_1000
    }

    /// CPU per change over CPU per bare publish (the target is at most 2).
    pub fn cpu_ratio(&self) -> Option<f64> {
        let (change, publish) = (self.cpu_us_per_change?, self.baseline_cpu_us_per_publish()?);
        (publish > 0.0).then(|| change / publish)
    }

    /// The figures one per line (a two-column markdown table), then the errors by kind and why
    /// the baseline is missing, if it is: easier to read than the report's one wide row.
    pub fn summary(&self) -> String {
        let mut out = String::from("| agents | |\n|---|---:|\n");
        for (_, heading, value, decimals) in self.figures() {
            let value = value.map_or("-".to_owned(), |v| format!("{v:.decimals$}"));
            out.push_str(&format!("| {heading} | {value} |\n"));
        }
        if !self.errors_by_kind.is_empty() {
            out.push_str(&format!("errors by kind: {:?}\n", self.errors_by_kind));
        }
        if let Some(error) = &self.baseline_error {
            out.push_str(&format!("baseline not measured: {error}\n"));
        }
        out
    }

    /// (JSON key, table heading, value when measured, decimals), as the report renders them.
    pub(crate) fn figures(&self) -> Vec<(&'static str, &'static str, Option<f64>, usize)> {
        let b = self.baseline.as_ref();
        let mut rows = vec![
            ("desktops", "desktops", Some(self.desktops as f64), 0),
            ("xmpp_logged_in", "logged in (XMPP)", Some(self.logged_in as f64), 0),
            ("signed_in", "signed in (REST)", Some(self.signed_in as f64), 0),
            ("sign_in_failed", "sign-in failed", Some(self.sign_in_failed as f64), 0),
            ("sign_in_seconds", "sign-in s", Some(self.sign_in_seconds), 1),
            ("changes", "changes", Some(self.attempted as f64), 0),
            ("accepted", "202", Some(self.accepted as f64), 0),
            ("seen", "Updates seen", Some(self.seen as f64), 0),
            ("refused", "refused (apiErrors)", Some(self.refused as f64), 0),
            ("lost", "lost", Some(self.lost as f64), 0),
            ("errors", "errors (non-202)", Some(self.errors as f64), 0),
            ("not_sent", "not sent (agent busy)", Some(self.not_sent as f64), 0),
            ("change_rate", "changes/s", Some(self.rate), 0),
            ("p50_ms", "p50 ms", Some(self.p50_ms), 2),
            ("p99_ms", "p99 ms", Some(self.p99_ms), 2),
            ("p999_ms", "p99.9 ms", Some(self.p999_ms), 2),
            ("max_ms", "max ms", Some(self.max_ms), 2),
            ("cpu_us_per_change", "server CPU µs per change", self.cpu_us_per_change, 1),
            ("baseline_published", "baseline publishes", b.map(|b| b.acknowledged as f64), 0),
            ("baseline_rate", "baseline publishes/s", b.map(|b| b.publish_rate), 0),
            ("baseline_lost", "baseline lost", b.map(|b| b.lost as f64), 0),
            ("baseline_p99_ms", "baseline p99 ms", b.map(|b| b.p99_ms), 2),
            ("baseline_cpu_us_per_publish", "server CPU µs per bare publish", self.baseline_cpu_us_per_publish(), 1),
            ("cpu_ratio", "CPU ratio change/publish", self.cpu_ratio(), 2),
        ];
        if let Some(f) = &self.failover {
            rows.extend([
                ("failover_sessions_lost", "failover: sessions lost", Some(f.sessions_lost as f64), 0),
                ("failover_back", "failover: desktops back", Some(f.back as f64), 0),
                ("failover_caught_up", "failover: desktops caught up", Some(f.caught_up as f64), 0),
                ("failover_failed", "failover: desktops not back", Some(f.failed as f64), 0),
                ("failover_all_back_secs", "failover: s until all back", Some(f.all_back_secs), 2),
                ("failover_all_caught_up_secs", "failover: s until all caught up", Some(f.all_caught_up_secs), 2),
                ("failover_missed_items", "failover: items caught up from history", Some(f.missed_items as f64), 0),
                ("failover_accepted", "failover: changes accepted (whole run)", Some(f.accepted as f64), 0),
                ("failover_unseen_at_settle", "failover: changes unseen when all were back", Some(f.unseen_at_settle as f64), 0),
                ("failover_late", "failover: … seen live within 10 s more", Some(f.audit.late as f64), 0),
                ("failover_in_history", "failover: … kept in the history, never delivered", Some(f.audit.in_history as f64), 0),
                ("failover_not_in_history", "failover: … not in the history (lost)", Some(f.audit.not_in_history as f64), 0),
                ("failover_not_audited", "failover: … history not read", Some(f.audit.not_audited as f64), 0),
                ("failover_duplicated", "failover: items seen twice", Some(f.duplicated as f64), 0),
            ]);
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_sets_cpu_per_change_against_cpu_per_publish() {
        let mut figures = AgentFigures { cpu_us_per_change: Some(90.0), ..AgentFigures::default() };
        assert_eq!(figures.cpu_ratio(), None, "no baseline, no ratio");
        figures.set_baseline(FanoutFigures { cpu_ms_per_1000: Some(60.0), delivered: 100, ..FanoutFigures::default() });
        assert_eq!(figures.baseline_cpu_us_per_publish(), Some(60.0));
        assert_eq!(figures.cpu_ratio(), Some(1.5));
        figures.set_baseline(FanoutFigures { cpu_ms_per_1000: Some(0.0), delivered: 100, ..FanoutFigures::default() });
        assert_eq!(figures.cpu_ratio(), None, "a baseline that cost nothing gives no ratio");
        figures.set_baseline(FanoutFigures { cpu_ms_per_1000: Some(6_000.0), delivered: 0, lost: 100, ..FanoutFigures::default() });
        assert_eq!(figures.baseline_cpu_us_per_publish(), None, "a baseline that delivered nothing measures nothing");
        assert_eq!(figures.cpu_ratio(), None);
    }

    #[test]
    fn the_summary_has_a_row_per_figure_and_says_what_is_missing() {
        let figures = AgentFigures {
            seen: 12,
            p99_ms: 3.456,
            errors_by_kind: BTreeMap::from([("http-401".to_owned(), 2)]),
            baseline_error: Some("node creation refused".into()),
            ..AgentFigures::default()
        };
        let summary = figures.summary();
        assert!(summary.contains("| Updates seen | 12 |"));
        assert!(summary.contains("| p99 ms | 3.46 |"));
        assert!(summary.contains("| CPU ratio change/publish | - |"));
        assert!(summary.contains("\"http-401\": 2"));
        assert!(summary.contains("baseline not measured: node creation refused"));
    }
}

/// The failover figures (zero when no session was lost).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailoverFigures {
    /// Desktops whose session died.
    pub sessions_lost: usize,
    /// Desktops logged in again on another node.
    pub back: usize,
    /// Desktops that also got their node's history after their last item.
    pub caught_up: usize,
    /// Desktops that never came back (every attempt failed, or the history query did).
    pub failed: usize,
    /// From the first session lost to the last desktop back, seconds.
    pub all_back_secs: f64,
    /// From the first session lost to the last desktop caught up, seconds.
    pub all_caught_up_secs: f64,
    /// Items the desktops got from the history (published while they were away).
    pub missed_items: u64,
    /// Changes accepted with 202 over the whole run (sign-ins included).
    pub accepted: u64,
    /// Accepted changes whose Update the agent's desktop had not seen, live or from the history,
    /// when every desktop was back and caught up (and the last change's loss bound had passed).
    pub unseen_at_settle: u64,
    /// What became of those.
    pub audit: FailoverAudit,
    /// Items a desktop saw more than once.
    pub duplicated: u64,
}

/// What became of the accepted changes unseen when a failover run settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailoverAudit {
    /// Their Update reached the desktop live within one more loss bound.
    pub late: u64,
    /// The User node's history keeps their Update, which the desktop never received.
    pub in_history: u64,
    /// The history does not have their Update: the server lost it.
    pub not_in_history: u64,
    /// Their agent's history could not be read (or was beyond the audit's bound).
    pub not_audited: u64,
}
