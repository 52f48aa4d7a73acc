//! CloudTrail: the calls behind a failure (docs/cloudtrail.md). What to search for (the window of a failing
//! stack), and — in the stages that use it — which event explains which failure.

pub mod record;
pub mod sources;

use chrono::{DateTime, Duration, Utc};

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
    (a - BEFORE, b + AFTER)
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
    }
}
