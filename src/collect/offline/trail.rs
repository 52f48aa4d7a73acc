//! CloudTrail events from saved output: `aws cloudtrail lookup-events` (each element's `CloudTrailEvent` is the
//! record as a JSON string) and a trail's log file (`{"Records": [...]}`). Record by record, as every shape: one
//! that cannot be read is a coverage note with its place, the rest are read. Only events with an `errorCode` are
//! kept; the others are counted as read (docs/input-formats.md#cloudtrail).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::super::cli_shapes::{CliTrailLookupEvent, CliTrailRecord, Raw};
use super::ingest::Ctx;
use crate::evidence::{SourceRef, TrailEvent, TrailLookup};

/// The most string values of `requestParameters` kept per event, and the longest kept: names and ARNs are short,
/// policy documents inside parameters are not what a failure names.
const MAX_PARAMETERS: usize = 32;
const MAX_PARAMETER_LEN: usize = 512;
/// How deep `requestParameters` is walked.
const MAX_DEPTH: usize = 8;

/// The first and last event time of an account and Region, and the events kept.
type Seen = (DateTime<Utc>, DateTime<Utc>, usize);

/// What one file's CloudTrail records covered, per account and Region: the span of their times and the events kept.
#[derive(Debug, Default)]
pub(super) struct Span {
    places: BTreeMap<(String, String), Seen>,
    /// A listing cut short (`NextToken`): the search did not reach its end.
    pub(super) cut: bool,
}

impl Span {
    fn saw(&mut self, account: &str, region: &str, time: DateTime<Utc>, kept: bool) {
        let e = self
            .places
            .entry((account.to_owned(), region.to_owned()))
            .or_insert((time, time, 0));
        e.0 = e.0.min(time);
        e.1 = e.1.max(time);
        e.2 += usize::from(kept);
    }

    /// The searches a file stands for: a saved `lookup-events` does not say which window it asked for, so each
    /// account and Region it holds events of counts as searched over the span of those events.
    pub(super) fn lookups(self) -> Vec<TrailLookup> {
        let complete = !self.cut;
        self.places
            .into_iter()
            .map(|((account, region), (start, end, events))| TrailLookup {
                account,
                region,
                start,
                end,
                attribute: None,
                pages: 1,
                events,
                complete,
            })
            .collect()
    }
}

/// One element of `lookup-events`' `Events`.
pub(super) fn lookup_event<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    let Some(e) = cx.parse::<CliTrailLookupEvent>(raw, &pointer) else {
        return;
    };
    let Some(text) = e.cloud_trail_event.as_deref() else {
        cx.skip(
            raw,
            &pointer,
            "no CloudTrailEvent (the record, which holds the error); keep it in the --query",
        );
        return;
    };
    let record = match serde_json::from_str::<CliTrailRecord>(text) {
        Ok(r) => r,
        Err(err) => {
            cx.skip(
                raw,
                &pointer,
                format!("CloudTrailEvent is not a CloudTrail record: {err}"),
            );
            return;
        }
    };
    let names: Vec<String> = e
        .resources
        .iter()
        .filter_map(|r| r.resource_name.clone())
        .collect();
    let fallback = Fallback {
        event_id: e.event_id,
        event_name: e.event_name,
        event_source: e.event_source,
        event_time: e.event_time,
    };
    keep(cx, raw, pointer, record, names, fallback);
}

/// One record of a log file (or a bare record).
pub(super) fn record<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    if let Some(r) = cx.parse::<CliTrailRecord>(raw, &pointer) {
        keep(cx, raw, pointer, r, Vec::new(), Fallback::default());
    }
}

/// What `lookup-events` prints beside the record, used when the record lacks it.
#[derive(Default)]
struct Fallback {
    event_id: Option<String>,
    event_name: Option<String>,
    event_source: Option<String>,
    event_time: Option<DateTime<Utc>>,
}

fn keep<'t>(
    cx: &mut Ctx<'t, '_>,
    raw: Raw<'t>,
    pointer: String,
    r: CliTrailRecord,
    names: Vec<String>,
    fallback: Fallback,
) {
    let (Some(event_id), Some(event_source), Some(event_name)) = (
        r.event_id.or(fallback.event_id),
        r.event_source.or(fallback.event_source),
        r.event_name.or(fallback.event_name),
    ) else {
        cx.skip(
            raw,
            &pointer,
            "a CloudTrail event needs eventID, eventSource and eventName",
        );
        return;
    };
    cx.loaded.evidence.trail_events_read += 1;
    let identity = r.user_identity.unwrap_or_default();
    let account = r.recipient_account_id.or(identity.account_id);
    let event_time = r.event_time.or(fallback.event_time);
    let kept = r.error_code.as_deref().is_some_and(|c| !c.is_empty());
    if let (Some(a), Some(reg), Some(t)) = (&account, &r.aws_region, event_time) {
        cx.trail.saw(a, reg, t, kept);
    }
    if !kept {
        return;
    }
    let mut resources: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && s.len() <= MAX_PARAMETER_LEN && !resources.iter().any(|r| r == s) {
            resources.push(s.to_owned());
        }
    };
    for a in r.resources.iter().filter_map(|x| x.arn.as_deref()) {
        add(a);
    }
    for n in &names {
        add(n);
    }
    let mut params = Vec::new();
    if let Some(p) = &r.request_parameters {
        strings(p, 0, &mut params);
    }
    // Namespaces (`xmlns`) and endpoints are no resource a failure names.
    for p in params
        .into_iter()
        .filter(|p| !p.starts_with("http://") && !p.starts_with("https://"))
    {
        add(p);
    }
    cx.loaded.evidence.trail_events.push(TrailEvent {
        event_id,
        event_time,
        event_source,
        event_name,
        account,
        region: r.aws_region,
        error_code: r.error_code,
        error_message: r.error_message,
        principal_arn: identity.arn,
        session_issuer_arn: identity
            .session_context
            .and_then(|c| c.session_issuer)
            .and_then(|i| i.arn),
        invoked_by: identity.invoked_by,
        source_ip: r.source_ip_address,
        resources,
        source: Some(SourceRef {
            file: cx.file.to_owned(),
            pointer,
        }),
    });
}

/// The string values of a JSON value, depth first, bounded in number and depth.
fn strings<'v>(v: &'v serde_json::Value, depth: usize, out: &mut Vec<&'v str>) {
    if depth > MAX_DEPTH || out.len() >= MAX_PARAMETERS {
        return;
    }
    match v {
        serde_json::Value::String(s) => out.push(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, depth + 1, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, depth + 1, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_strings_are_bounded_in_number_and_depth() {
        let many: Vec<serde_json::Value> = (0..100).map(|i| format!("n{i}").into()).collect();
        let v = serde_json::json!({"a": many});
        let mut out = Vec::new();
        strings(&v, 0, &mut out);
        assert_eq!(out.len(), MAX_PARAMETERS);
        let mut deep = serde_json::json!("bottom");
        for _ in 0..20 {
            deep = serde_json::json!([deep]);
        }
        let mut out = Vec::new();
        strings(&deep, 0, &mut out);
        assert!(out.is_empty());
    }
}
