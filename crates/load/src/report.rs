//! What a run reports: the figures of every scenario ([`Report`], with the fan-out's and the
//! soak's), and their renderings as a markdown table and as JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::Options;
use crate::agent_figures::AgentFigures;
use crate::fanout::FanoutFigures;
use crate::measure::{LogBalance, ProcSample};

/// The outcome of a run, with the server-side figures.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sessions asked for.
    pub sessions: usize,
    /// Sessions that logged in.
    pub logged_in: usize,
    /// Sessions that failed (the first error is in `first_error`).
    pub failed: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Time from the first login attempt to the last login.
    pub login_time: Duration,
    /// Server sample before the run.
    pub before: Option<ProcSample>,
    /// Server sample when every login was done.
    pub after_logins: Option<ProcSample>,
    /// Highest RSS seen while sessions were held.
    pub peak_rss_kib: u64,
    /// Server sample at the end of the hold.
    pub end: Option<ProcSample>,
    /// BOSH long polls answered while the sessions were held.
    pub round_trips: u64,
    /// The fan-out figures, for that scenario.
    pub fanout: Option<FanoutFigures>,
    /// The soak's figures, for that scenario.
    pub soak: Option<SoakFigures>,
    /// The agents scenario's figures.
    pub agents: Option<AgentFigures>,
}

impl Report {
    /// Logins per second.
    pub fn logins_per_sec(&self) -> f64 {
        self.logged_in as f64 / self.login_time.as_secs_f64().max(1e-9)
    }

    /// Server memory added per logged-in session, KiB.
    pub fn kib_per_session(&self) -> Option<f64> {
        let (b, a) = (self.before?, self.after_logins?);
        Some(a.rss_kib.saturating_sub(b.rss_kib) as f64 / self.logged_in.max(1) as f64)
    }

    /// Server CPU per login, ms.
    pub fn cpu_ms_per_login(&self) -> Option<f64> {
        let (b, a) = (self.before?, self.after_logins?);
        Some(a.cpu.saturating_sub(b.cpu).as_secs_f64() * 1000.0 / self.logged_in.max(1) as f64)
    }

    /// Server CPU while the sessions were held, ms per 1,000 sessions per minute.
    pub fn idle_cpu_ms(&self, hold: Duration) -> Option<f64> {
        let (a, e) = (self.after_logins?, self.end?);
        let minutes = hold.as_secs_f64() / 60.0;
        Some(e.cpu.saturating_sub(a.cpu).as_secs_f64() * 1000.0 / (self.logged_in.max(1) as f64 / 1000.0) / minutes.max(1e-9))
    }

    /// Server CPU per answered long poll while the sessions were held, microseconds.
    pub fn cpu_us_per_round_trip(&self) -> Option<f64> {
        let (a, e) = (self.after_logins?, self.end?);
        (self.round_trips > 0).then(|| e.cpu.saturating_sub(a.cpu).as_secs_f64() * 1e6 / self.round_trips as f64)
    }

    /// The summary figures, once for both renderings: (JSON key, table heading, value when
    /// measured, decimals).
    fn figures(&self, opts: &Options) -> Vec<(&'static str, &'static str, Option<f64>, usize)> {
        let mut figures = vec![
            ("sessions", "sessions", Some(self.sessions as f64), 0),
            ("logged_in", "logged in", Some(self.logged_in as f64), 0),
            ("failed", "failed", Some(self.failed as f64), 0),
            ("login_seconds", "login time s", Some(self.login_time.as_secs_f64()), 2),
            ("logins_per_sec", "logins/s", Some(self.logins_per_sec()), 0),
            ("kib_per_session", "server KiB per session", self.kib_per_session(), 2),
            ("cpu_ms_per_login", "server CPU ms per login", self.cpu_ms_per_login(), 2),
            ("idle_cpu_ms_per_1000_sessions_per_min", "idle CPU ms per 1,000 sessions per min", self.idle_cpu_ms(opts.hold), 2),
        ];
        if self.round_trips > 0 {
            figures.push(("round_trips", "round trips", Some(self.round_trips as f64), 0));
            figures.push(("cpu_us_per_round_trip", "server CPU µs per round trip", self.cpu_us_per_round_trip(), 1));
        }
        if let Some(f) = &self.fanout {
            figures.extend([
                ("nodes", "nodes", Some(f.nodes as f64), 0),
                ("subscriptions", "subscriptions", Some(f.subscriptions as f64), 0),
                ("published", "published", Some(f.published as f64), 0),
                ("acknowledged", "acknowledged", Some(f.acknowledged as f64), 0),
                ("refused", "refused", Some(f.refused as f64), 0),
                ("publish_rate", "publishes/s", Some(f.publish_rate), 0),
                ("expected", "deliveries owed", Some(f.expected as f64), 0),
                ("delivered", "delivered", Some(f.delivered as f64), 0),
                ("lost", "lost", Some(f.lost as f64), 0),
                ("duplicated", "duplicated", Some(f.duplicated as f64), 0),
                ("p50_ms", "p50 ms", Some(f.p50_ms), 2),
                ("p99_ms", "p99 ms", Some(f.p99_ms), 2),
                ("p999_ms", "p99.9 ms", Some(f.p999_ms), 2),
                ("max_ms", "max ms", Some(f.max_ms), 2),
                ("cpu_ms_per_1000_deliveries", "server CPU ms per 1,000 deliveries", f.cpu_ms_per_1000, 2),
            ]);
        }
        if let Some(soak) = &self.soak {
            figures.extend(soak.figures());
        }
        if let Some(agents) = &self.agents {
            figures.extend(agents.figures());
        }
        figures
    }

    /// The report as a markdown table (header, separator, one row).
    pub fn to_table(&self, opts: &Options) -> String {
        let figures = self.figures(opts);
        let heading: Vec<&str> = figures.iter().map(|f| f.1).collect();
        let values: Vec<String> = figures.iter().map(|(_, _, v, d)| v.map_or("-".to_owned(), |v| format!("{v:.d$}"))).collect();
        format!("| {} |\n|{}\n| {} |", heading.join(" | "), "---:|".repeat(figures.len()), values.join(" | "))
    }

    /// The report as one JSON object.
    pub fn to_json(&self, opts: &Options) -> String {
        let mut fields = vec![format!("\"scenario\":\"{:?}\"", opts.scenario), format!("\"transport\":\"{:?}\"", opts.transport)];
        for (key, _, value, decimals) in self.figures(opts) {
            fields.push(format!("\"{key}\":{}", value.map_or("null".to_owned(), |v| format!("{v:.decimals$}"))));
        }
        for (key, sample) in [("server_rss_kib_before", self.before), ("server_rss_kib_after_logins", self.after_logins)] {
            fields.push(format!("\"{key}\":{}", sample.map_or(0, |s| s.rss_kib)));
        }
        fields.push(format!("\"server_rss_kib_peak\":{}", self.peak_rss_kib));
        if let Some(soak) = &self.soak {
            fields.push(format!("\"errors_by_kind\":{}", soak.errors_json()));
        }
        format!("{{{}}}", fields.join(","))
    }
}

/// What a soak measured.
#[derive(Clone, Debug, Default)]
pub struct SoakFigures {
    /// How long the desktops churned after the first logins.
    pub churn: Duration,
    /// Successful logins, first ones included.
    pub logins: u64,
    /// Departures by terminate.
    pub terminates: u64,
    /// Departures by kill.
    pub kills: u64,
    /// Messages sent to other desktops' accounts.
    pub messages_sent: u64,
    /// Messages of this run received (live, or from offline storage at a later login).
    pub messages_received: u64,
    /// The publisher's figures (nothing is owed: subscribers come and go).
    pub publishing: FanoutFigures,
    /// Failures by kind ([`LoadError::kind`]); the desktop logs in again after each.
    pub errors: BTreeMap<String, u64>,
    /// Server samples when the first logins were done, half-way through the churn, and at its end.
    pub start: Option<ProcSample>,
    /// Half-way.
    pub middle: Option<ProcSample>,
    /// End of the churn.
    pub end: Option<ProcSample>,
    /// After every client stopped and the server ended their sessions.
    pub drained: Option<ProcSample>,
    /// How long the server took, after the clients stopped, to come down to nothing live.
    pub drain_time: Duration,
    /// Client connections the server still held at the end.
    pub connections_left: Option<usize>,
    /// What the server's log said at the end (when it was given).
    pub log: Option<LogBalance>,
}

impl SoakFigures {
    /// Every failure.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// RSS at the end of the churn against the middle, percent (positive: grew).
    pub fn rss_growth_percent(&self) -> Option<f64> {
        let (m, e) = (self.middle?, self.end?);
        Some((e.rss_kib as f64 - m.rss_kib as f64) * 100.0 / (m.rss_kib.max(1) as f64))
    }

    /// The server's CPU over the churn, percent of one core.
    pub fn cpu_percent(&self) -> Option<f64> {
        let (s, e) = (self.start?, self.end?);
        Some(e.cpu.saturating_sub(s.cpu).as_secs_f64() * 100.0 / self.churn.as_secs_f64().max(1e-9))
    }

    /// (JSON key, table heading, value when measured, decimals), as [`Report`] renders them.
    pub(crate) fn figures(&self) -> Vec<(&'static str, &'static str, Option<f64>, usize)> {
        let rss = |s: Option<ProcSample>| s.map(|s| s.rss_kib as f64 / 1024.0);
        let p = &self.publishing;
        vec![
            ("churn_seconds", "churn s", Some(self.churn.as_secs_f64()), 0),
            ("logins", "logins", Some(self.logins as f64), 0),
            ("terminates", "terminates", Some(self.terminates as f64), 0),
            ("kills", "kills", Some(self.kills as f64), 0),
            ("messages_sent", "messages sent", Some(self.messages_sent as f64), 0),
            ("messages_received", "messages received", Some(self.messages_received as f64), 0),
            ("published", "published", Some(p.published as f64), 0),
            ("acknowledged", "acknowledged", Some(p.acknowledged as f64), 0),
            ("refused", "refused", Some(p.refused as f64), 0),
            ("delivered", "deliveries", Some(p.delivered as f64), 0),
            ("duplicated", "duplicated", Some(p.duplicated as f64), 0),
            ("delivery_p99_ms", "delivery p99 ms", Some(p.p99_ms), 1),
            ("errors", "errors", Some(self.error_count() as f64), 0),
            ("rss_start_mib", "RSS start MiB", rss(self.start), 1),
            ("rss_middle_mib", "RSS middle MiB", rss(self.middle), 1),
            ("rss_end_mib", "RSS end MiB", rss(self.end), 1),
            ("rss_growth_percent", "RSS end vs middle %", self.rss_growth_percent(), 1),
            ("rss_drained_mib", "RSS drained MiB", rss(self.drained), 1),
            ("cpu_percent", "server CPU % of a core", self.cpu_percent(), 1),
            ("drain_seconds", "drain s", Some(self.drain_time.as_secs_f64()), 1),
            ("connections_left", "connections left", self.connections_left.map(|c| c as f64), 0),
            ("sessions_leaked", "sessions leaked", self.log.map(|l| l.live() as f64), 0),
        ]
    }

    /// The failures by kind as a JSON object.
    pub(crate) fn errors_json(&self) -> String {
        let fields: Vec<String> = self.errors.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", fields.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_growth_and_cpu_are_computed_from_the_samples() {
        let at = |rss_kib, cpu_ms| Some(ProcSample { rss_kib, cpu: Duration::from_millis(cpu_ms) });
        let figures = SoakFigures {
            churn: Duration::from_secs(10),
            start: at(900, 1_000),
            middle: at(1_000, 3_000),
            end: at(1_050, 6_000),
            ..SoakFigures::default()
        };
        assert_eq!(figures.rss_growth_percent(), Some(5.0));
        assert_eq!(figures.cpu_percent(), Some(50.0));
        assert_eq!(SoakFigures::default().rss_growth_percent(), None);
    }
}
