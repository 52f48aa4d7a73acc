//! CloudTrail events from saved output: `aws cloudtrail lookup-events` (each element's `CloudTrailEvent` is the
//! record as a JSON string) and a trail's log file (`{"Records": [...]}`). Record by record, as every shape: one
//! that cannot be read is a coverage note with its place, the rest are read. Only events with an `errorCode` are
//! kept; the others are counted as read (docs/input-formats.md#cloudtrail).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::super::cli_shapes::{CliTrailLookupEvent, Raw};
use super::ingest::Ctx;
use crate::evidence::{SourceRef, TrailEvent, TrailLookup};

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
                started_operations: Vec::new(),
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
    let record = match serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| e.to_string())
        .and_then(|v| {
            if v.is_object() {
                Ok(v)
            } else {
                Err("not an object".to_owned())
            }
        }) {
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
    match cx.parse::<serde_json::Value>(raw, &pointer) {
        Some(r) if r.is_object() => keep(cx, raw, pointer, r, Vec::new(), Fallback::default()),
        Some(_) => cx.skip(raw, &pointer, "a CloudTrail record is an object"),
        None => {}
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
    mut r: serde_json::Value,
    names: Vec<String>,
    fallback: Fallback,
) {
    // What `lookup-events` prints beside the record stands in for what the record lacks.
    if let Some(o) = r.as_object_mut() {
        let fill =
            |o: &mut serde_json::Map<String, serde_json::Value>, k: &str, v: Option<String>| {
                if o.get(k).and_then(|x| x.as_str()).is_none_or(str::is_empty) {
                    if let Some(v) = v {
                        o.insert(k.to_owned(), v.into());
                    }
                }
            };
        fill(o, "eventID", fallback.event_id);
        fill(o, "eventSource", fallback.event_source);
        fill(o, "eventName", fallback.event_name);
        fill(o, "eventTime", fallback.event_time.map(|t| t.to_rfc3339()));
    }
    // One reader of a record, live and saved (trail::record).
    let Some(mut event) = TrailEvent::from_record(&r) else {
        cx.skip(
            raw,
            &pointer,
            "a CloudTrail event needs eventID, eventSource and eventName",
        );
        return;
    };
    cx.loaded.evidence.trail_events_read += 1;
    let kept = event.error_code.is_some();
    if let (Some(a), Some(reg), Some(t)) = (&event.account, &event.region, event.event_time) {
        cx.trail.saw(a, reg, t, kept);
    }
    if !kept {
        return;
    }
    for n in names {
        if !event.resources.contains(&n) {
            event.resources.push(n);
        }
    }
    event.source = Some(SourceRef {
        file: cx.file.to_owned(),
        pointer,
    });
    cx.loaded.evidence.trail_events.push(event);
}
