//! What was looked for behind a vague root cause — one no specific rule explains (no rule, or only an error
//! code, handler code, status, wording or envelope decided) — and what was found: the CloudTrail events of its
//! window, the stack's hook results and the stack's other failures; and whether the engine looked and found nothing or could not look, with
//! the permission to add (docs/cloudtrail.md#looked-or-could-not-look).

use std::collections::HashMap;

use serde::Serialize;

use crate::classify::Failure;
use crate::trail::SearchState;
use crate::vocabulary::{confidence, FailureId};

/// One place looked in.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Finding {
    /// `cloudtrail`, `hooks` or `stack-events`.
    #[schemars(extend("enum" = ["cloudtrail", "hooks", "stack-events"]))]
    pub source: &'static str,
    /// `found`, `nothing-found`, `incomplete` (looked, but not to the end) or `could-not-look`.
    #[schemars(extend("enum" = ["found", "nothing-found", "incomplete", "could-not-look"]))]
    pub outcome: &'static str,
    /// One line for people.
    pub text: String,
    /// The permission whose absence kept the engine from looking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<&'static str>,
}

/// What lets the engine read CloudTrail in a member account.
const LOOKUP_PERMISSION: &str = "cloudtrail:LookupEvents to the member role";

/// Whether no specific rule explains the failure: it was decided below the specific rules' tier.
pub(super) fn vague(f: &Failure) -> bool {
    f.class.rule.is_none() || f.class.confidence < confidence::class::RULE
}

/// The failures of each stack, built once.
pub(super) struct Stacks<'f> {
    by_stack: HashMap<&'f str, Vec<FailureId>>,
    /// Per stack: its failed hook invocations (a failure sighted on a hook's status).
    hooks: HashMap<&'f str, Vec<FailureId>>,
}

impl<'f> Stacks<'f> {
    pub(super) fn new(failures: &'f [Failure]) -> Self {
        let mut by_stack: HashMap<&str, Vec<FailureId>> = HashMap::new();
        let mut hooks: HashMap<&str, Vec<FailureId>> = HashMap::new();
        for f in failures {
            if let Some(s) = f.stack_id.as_deref() {
                by_stack.entry(s).or_default().push(f.id);
                if f.sources.iter().any(|x| x.kind == "hook") {
                    hooks.entry(s).or_default().push(f.id);
                }
            }
        }
        Stacks { by_stack, hooks }
    }
}

/// What was looked for behind `f`, when it is vague; empty otherwise.
pub(super) fn looked_for(f: &Failure, stacks: &Stacks<'_>) -> Vec<Finding> {
    if !vague(f) {
        return Vec::new();
    }
    vec![cloudtrail(f), hooks(f, stacks), stack_events(f, stacks)]
}

/// The stack's hook results: a hook that failed on the stack may be what the vague message hides (a hook's
/// failure often reaches the resource only as "The following hook(s)/validations failed").
fn hooks(f: &Failure, stacks: &Stacks<'_>) -> Finding {
    let Some(stack) = f
        .stack_id
        .as_deref()
        .filter(|s| stacks.by_stack.contains_key(s))
    else {
        return Finding {
            source: "hooks",
            outcome: "could-not-look",
            text: "hook results: the stack's events are not in the evidence (collect describe-stack-events or \
                   describe-events of the failed stack)"
                .into(),
            permission: None,
        };
    };
    let ids: Vec<String> = stacks
        .hooks
        .get(stack)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|&&j| j != f.id)
        .map(|j| j.to_string())
        .collect();
    match ids.len() {
        0 => Finding {
            source: "hooks",
            outcome: "nothing-found",
            text: "hook results: no hook failed on this stack".into(),
            permission: None,
        },
        n => Finding {
            source: "hooks",
            outcome: "found",
            text: format!(
                "hook results: {n} failed hook invocation{} on this stack ({})",
                if n == 1 { "" } else { "s" },
                crate::text::shorten(&ids, 5, 4, "failures")
            ),
            permission: None,
        },
    }
}

fn cloudtrail(f: &Failure) -> Finding {
    let Some(s) = &f.trail_search else {
        return Finding {
            source: "cloudtrail",
            outcome: "could-not-look",
            text: "CloudTrail: not searched, the failure has no account, Region or time".into(),
            permission: None,
        };
    };
    let place = format!(
        "{} {} {}–{}",
        s.account,
        s.regions.join("+"),
        s.start.format("%H:%M:%S"),
        s.end.format("%H:%M:%S UTC")
    );
    let events = match s.events {
        0 => "no event with an error in the window".to_owned(),
        1 => "1 event with an error in the window".to_owned(),
        n => format!("{n} events with an error in the window"),
    };
    let matched = if s.matched {
        match &f.trail {
            Some(t) => format!(
                ", {} {} matched{}",
                t.event_name,
                t.error_code.as_deref().unwrap_or(""),
                if t.decided { " and decided" } else { "" }
            ),
            None => ", one matched".into(),
        }
    } else if s.events > 0 {
        ", none matched".into()
    } else {
        String::new()
    };
    let (outcome, permission, tail) = match s.state {
        SearchState::Looked if s.matched => ("found", None, String::new()),
        SearchState::Looked => ("nothing-found", None, String::new()),
        SearchState::Incomplete => (
            "incomplete",
            None,
            s.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default(),
        ),
        SearchState::CouldNotLook => {
            return Finding {
                source: "cloudtrail",
                outcome: "could-not-look",
                text: format!(
                    "CloudTrail ({place}): could not look, {}",
                    s.reason.as_deref().unwrap_or("no search in the evidence")
                ),
                permission: Some(LOOKUP_PERMISSION),
            }
        }
    };
    Finding {
        source: "cloudtrail",
        outcome,
        text: format!("CloudTrail ({place}): {events}{matched}{tail}"),
        permission,
    }
}

fn stack_events(f: &Failure, stacks: &Stacks<'_>) -> Finding {
    let Some(others) = f
        .stack_id
        .as_deref()
        .and_then(|s| stacks.by_stack.get(s))
        .map(|v| v.iter().filter(|&&j| j != f.id).collect::<Vec<_>>())
    else {
        return Finding {
            source: "stack-events",
            outcome: "could-not-look",
            text: "the stack's events: not in the evidence (collect describe-stack-events of the failed stack)"
                .into(),
            permission: None,
        };
    };
    let ids: Vec<String> = others.iter().map(|j| j.to_string()).collect();
    match ids.len() {
        0 => Finding {
            source: "stack-events",
            outcome: "nothing-found",
            text: "the stack's events: no other failure".into(),
            permission: None,
        },
        n => Finding {
            source: "stack-events",
            outcome: "found",
            text: format!(
                "the stack's events: {n} other failure{} ({})",
                if n == 1 { "" } else { "s" },
                crate::text::shorten(&ids, 5, 4, "failures")
            ),
            permission: None,
        },
    }
}
