//! CloudTrail: the calls behind a failure (docs/cloudtrail.md). What to search for (the window of a failing
//! stack), and the enrichment stage ([`enrich`], after classification, before the graph): which event explains
//! which failure, and whether its message decides the failure's classification.

mod enrich;
mod matching;

pub use enrich::enrich;

pub mod record;
pub mod sources;

use chrono::{DateTime, Duration, Utc};
use schemars::JsonSchema;
use serde::Serialize;

/// The CloudTrail event attached to a failure: the call that failed, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrailEvidence {
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub error_code: Option<String>,
    /// As CloudTrail recorded it (for an SCP deny it names the policy type).
    pub error_message: Option<String>,
    /// `userIdentity.arn`: who made the call (for the StackSets execution role, its STS session).
    pub principal_arn: Option<String>,
    pub event_time: Option<DateTime<Utc>>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// What ties it to the failure: `resource` (a name or ARN the failure names), `action` (the action its
    /// message names), `service` (its resource type's service).
    pub matched_on: Vec<String>,
    /// Whether its `errorMessage` decided the failure's classification (more specific than the status reason).
    pub decided: bool,
    /// What the status reason alone was decided by, when the event's message decided instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason_matched_by: Option<String>,
}

/// Whether CloudTrail could be searched for a failure's window (docs/cloudtrail.md#looked-or-could-not-look).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SearchState {
    /// Searched to the end of the window.
    Looked,
    /// Searched, but a page bound or a cut listing stopped it: events may be missing.
    Incomplete,
    /// Not searched: no search of that account and Region is in the evidence.
    CouldNotLook,
}

/// What the CloudTrail search of a failure's window found.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrailSearch {
    pub account: String,
    /// The failure's Region, and us-east-1 where global services' events are.
    pub regions: Vec<String>,
    /// The window (docs/cloudtrail.md#window).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub state: SearchState,
    /// Events with an error in the window, made on CloudFormation's behalf.
    pub events: usize,
    /// Whether one of them was matched to the failure.
    pub matched: bool,
    /// Why it could not look or is incomplete: the coverage note that says so, or what to collect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How long before a stack's first failure event its failing call may have been made: a resource handler
/// retries and stabilises for minutes before CloudFormation writes the failure (docs/cloudtrail.md#window).
pub const BEFORE: Duration = Duration::minutes(5);
/// How long after the last failure event to look: rollback calls, and clocks that disagree by seconds.
pub const AFTER: Duration = Duration::minutes(2);
/// CloudTrail delivers most events within about 5 minutes of the call, and some later: a search of a window
/// that ended less than this long ago may miss events (docs/cloudtrail.md#delivery).
pub const DELIVERY_DELAY: Duration = Duration::minutes(15);

/// The window to search for the calls behind failures between `first` and `last`.
pub fn window(first: DateTime<Utc>, last: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let (a, b) = if first <= last {
        (first, last)
    } else {
        (last, first)
    };
    // Checked: a timestamp at the edge of the representable range (a bundle may hold one) saturates.
    (
        a.checked_sub_signed(BEFORE)
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        b.checked_add_signed(AFTER)
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

/// Whether a search that ended at `end` may still be missing events at `now` (CloudTrail delivers late).
pub fn may_be_incomplete(end: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - end < DELIVERY_DELAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_spans_the_failures_with_margins() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let (a, b) = window(t("2025-03-10T05:12:45Z"), t("2025-03-10T05:10:42Z"));
        assert_eq!(a, t("2025-03-10T05:05:42Z"));
        assert_eq!(b, t("2025-03-10T05:14:45Z"));
        assert!(may_be_incomplete(b, t("2025-03-10T05:20:00Z")));
        assert!(!may_be_incomplete(b, t("2025-03-10T06:00:00Z")));
        // At the edge of the range the window saturates instead of overflowing.
        let (a, b) = window(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        assert_eq!((a, b), (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC));
    }
}
