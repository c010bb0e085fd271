//! The report for people: one line per verdict (`VERDICT  subject: summary`), then each
//! verdict's evidence, indented.

use crate::{Diagnosis, VerdictKind};

/// The verdict's name as the report prints it.
fn label(kind: VerdictKind) -> &'static str {
    match kind {
        VerdictKind::ClientSide => "CLIENT-SIDE",
        VerdictKind::ServerSide => "SERVER-SIDE",
        VerdictKind::ServiceDown => "SERVICE-DOWN",
        VerdictKind::CtiLink => "CTI-LINK",
        VerdictKind::BadInput => "BAD-INPUT",
        VerdictKind::Overload => "OVERLOAD",
        VerdictKind::Kicked => "KICKED",
        VerdictKind::Healthy => "HEALTHY",
    }
}

/// The whole text report.
pub(crate) fn text(d: &Diagnosis) -> String {
    let width = d.verdicts.iter().map(|v| label(v.kind).len()).max().unwrap_or(0);
    let mut out = String::new();
    for v in &d.verdicts {
        out.push_str(&format!("{:width$}  {}: {}\n", label(v.kind), v.subject, v.summary));
    }
    for (i, v) in d.verdicts.iter().enumerate().filter(|(_, v)| !v.evidence.is_empty()) {
        out.push_str(&format!("\n[{}] {} {}\n", i + 1, label(v.kind), v.subject));
        for line in &v.evidence {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Diagnosis, Verdict, VerdictKind};

    #[test]
    fn summaries_first_then_indented_evidence() {
        let d = Diagnosis {
            verdicts: vec![
                Verdict { kind: VerdictKind::CtiLink, subject: "CTI link".into(), summary: "lost".into(), evidence: vec!["line a".into()] },
                Verdict {
                    kind: VerdictKind::ClientSide,
                    subject: "1001".into(),
                    summary: "idle".into(),
                    evidence: vec!["line b".into(), "line c".into()],
                },
            ],
        };
        let text = d.to_text();
        assert_eq!(
            text,
            "CTI-LINK     CTI link: lost\nCLIENT-SIDE  1001: idle\n\n[1] CTI-LINK CTI link\n    line a\n\n[2] CLIENT-SIDE 1001\n    line b\n    line c\n"
        );
        let json: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(json["verdicts"][1]["kind"], "client-side");
        assert_eq!(json["verdicts"][0]["evidence"][0], "line a");
    }
}
