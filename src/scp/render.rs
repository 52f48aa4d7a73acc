//! Text for `scp check` and `scp fix`. Control characters and bidirectional overrides from the input are removed
//! (`text::sanitize_lines`), so a policy cannot drive or disguise the terminal.

use std::fmt::Write as _;

use super::condition::Tri;
use super::eval::{Evaluation, Verdict};
use super::fix::{Expect, Fix, ProofCase};
use super::request::Request;

fn verdict_word(v: &Verdict) -> &'static str {
    match v {
        Verdict::Allowed | Verdict::NotAffected { .. } => "ALLOWED",
        Verdict::ExplicitDeny { .. } | Verdict::ImplicitDeny { .. } => "DENIED",
        Verdict::CannotEvaluate { .. } => "CANNOT EVALUATE",
    }
}

fn request_lines(out: &mut String, r: &Request) {
    let _ = writeln!(
        out,
        "  principal  {} (as aws:PrincipalArn)",
        r.principal_arn
    );
    if let Some(s) = &r.session_arn {
        let _ = writeln!(
            out,
            "             from session {s} (role path unknown, taken as none)"
        );
    }
    let _ = writeln!(out, "  action     {}", r.action);
    if let Some(res) = &r.resource {
        let _ = writeln!(out, "  resource   {res}");
    }
    if let Some(a) = r.target_account() {
        let _ = writeln!(out, "  account    {a}");
    }
    for (k, v) in &r.context {
        let _ = writeln!(out, "  context    {k} = {}", v.join(", "));
    }
}

fn tri_word(t: Tri, effect: &str) -> String {
    match t {
        Tri::Yes if effect == "Deny" => "APPLIES (denies)".into(),
        Tri::Yes => "applies (allows)".into(),
        Tri::No => "does not apply".into(),
        Tri::Unknown => "cannot tell".into(),
    }
}

/// `scp check` output.
pub fn write_check(ev: &Evaluation, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(render_check(ev).as_bytes())
}

/// `scp fix` output.
pub fn write_fix(fix: &Fix, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(render_fix(fix).as_bytes())
}

fn render_check(ev: &Evaluation) -> String {
    let mut out = String::new();
    out.push_str("Request\n");
    request_lines(&mut out, &ev.request);
    let _ = writeln!(
        out,
        "\nVerdict: {} — {}",
        verdict_word(&ev.verdict),
        ev.summary
    );
    if !ev.levels.is_empty() {
        out.push_str("\nLevels (root first)\n");
    }
    for l in &ev.levels {
        let allow = match l.scp_allow {
            Tri::Yes => format!("yes, by {}", l.allowed_by.join(", ")),
            Tri::No => "NO: nothing at this level allows the request".into(),
            Tri::Unknown => "cannot tell".into(),
        };
        let _ = writeln!(out, "  {}. {}  — SCP Allow: {allow}", l.index + 1, l.name);
        let mut last: Option<(usize, usize)> = None;
        for s in ev.statements.iter().filter(|s| s.policy.level == l.index) {
            if last != Some((s.policy.level, s.policy.index)) {
                let _ = writeln!(out, "     {} [{}]", s.policy.display, s.policy.label);
                last = Some((s.policy.level, s.policy.index));
            }
            let _ = writeln!(
                out,
                "       {} {:?}: {}",
                s.effect,
                s.statement,
                tri_word(s.applies, &s.effect)
            );
            for r in &s.reasons {
                let _ = writeln!(out, "         - {r}");
            }
            for c in &s.conditions {
                let _ = writeln!(out, "         - {} {}: {}", c.operator, c.key, c.why);
            }
        }
    }
    if ev.denied_by.len() > 1 {
        out.push_str("\nAlso denied by\n");
        for d in ev.denied_by.iter().skip(1) {
            let _ = writeln!(
                out,
                "  - {} statement {:?} (level {})",
                d.policy.display, d.statement, d.policy.level_name
            );
        }
    }
    if !ev.notes.is_empty() {
        out.push_str("\nNotes\n");
        for n in &ev.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    crate::text::sanitize_lines(&out)
}

fn proof_line(out: &mut String, c: &ProofCase) {
    let mark = match (c.ok, c.applicable) {
        (false, _) => "FAIL",
        (true, false) => "n/a ",
        (true, true) => "ok  ",
    };
    let want = if c.expect == Expect::Allowed {
        "allowed"
    } else {
        "denied"
    };
    let _ = writeln!(out, "  {mark}  {}", c.description);
    let _ = writeln!(
        out,
        "        {} {} — expect {want}",
        c.request.principal_arn, c.request.action
    );
    let _ = writeln!(out, "        before: {}", c.before.summary());
    let _ = writeln!(out, "        after:  {}", c.after.summary());
    if !c.applicable {
        out.push_str(
            "        (was not denied before the patch, so the patch cannot have opened it)\n",
        );
    }
}

/// `scp fix` output: the patch, why, the diff, the whole patched document and the proof.
fn render_fix(fix: &Fix) -> String {
    let mut out = String::new();
    if !fix.proven {
        out.push_str("NO PATCH OFFERED: the proof below failed.\n\n");
    }
    out.push_str("Request\n");
    request_lines(&mut out, &fix.request);
    let _ = writeln!(out, "  before     {}", fix.before.summary());
    out.push_str("\nExempt (aws:PrincipalArn)\n");
    for v in &fix.added_values {
        let _ = writeln!(out, "  + {v}");
    }
    out.push_str("\nWhy\n");
    for w in &fix.why {
        let _ = writeln!(out, "  - {w}");
    }
    if !fix.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in &fix.warnings {
            let _ = writeln!(out, "  ! {w}");
        }
    }
    if fix.proven {
        for p in &fix.patches {
            let stmts: Vec<String> = p
                .changes
                .iter()
                .map(|c| format!("{:?}", c.statement))
                .collect();
            let _ = writeln!(
                out,
                "\nPatch of {} (level {}), statement {}",
                p.policy.display,
                p.policy.level_name,
                stmts.join(", ")
            );
            out.push_str(&p.diff);
            let _ = writeln!(out, "\nPatched document of {}:", p.policy.display);
            out.push_str(&p.patched_text);
            if let Some(cmd) = &p.apply_command {
                let _ = writeln!(out, "Apply with: {cmd}");
            }
        }
    }
    out.push_str("\nProof (each request evaluated before and after the patch)\n");
    for c in &fix.proof {
        proof_line(&mut out, c);
    }
    for n in &fix.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    let _ = writeln!(out, "\nProven: {}", if fix.proven { "yes" } else { "NO" });
    crate::text::sanitize_lines(&out)
}
