//! CloudTrail in each failing account and Region: `LookupEvents` over the window of that account+Region's failures,
//! through the same credentials its stack events were read with, keeping the failed calls CloudFormation made.
//! Why this attribute, this many pages, this pace: docs/cloudtrail-collection.md.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ops::ControlFlow;

use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};

use super::{limits, src, time, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{Evidence, TrailEvent, TrailLookup};
use crate::trail::{self, sources};

/// The one lookup attribute of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Attribute {
    /// Every failure of the account+Region is of resources of this service: its events, reads and writes.
    EventSource(&'static str),
    /// Several services, or one not known: write events only (`ReadOnly=false`).
    WritesOnly,
}

impl Attribute {
    fn sdk(&self) -> Option<LookupAttribute> {
        let (key, value) = match self {
            Attribute::EventSource(s) => (LookupAttributeKey::EventSource, *s),
            Attribute::WritesOnly => (LookupAttributeKey::ReadOnly, "false"),
        };
        LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .ok()
    }

    /// As the bundle records it: `Key=Value`.
    fn shown(&self) -> String {
        match self {
            Attribute::EventSource(s) => format!("EventSource={s}"),
            Attribute::WritesOnly => "ReadOnly=false".into(),
        }
    }
}

/// One search: an account's event history in one Region, over one window, narrowed by one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Search {
    pub account: String,
    pub region: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub attribute: Attribute,
}

/// What a group of failures needs searched: when, and which services' calls.
#[derive(Default)]
struct Group {
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    sources: BTreeSet<&'static str>,
    /// A failed resource whose service's event source is not known.
    unknown: bool,
}

impl Group {
    fn at(&mut self, t: DateTime<Utc>) {
        self.first = Some(self.first.map_or(t, |f| f.min(t)));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
    }
}

/// The searches the failure events of `ev` need: one per account and Region with failing stacks, over
/// `trail::window` of its first and last failure; and, in US East (N. Virginia), one per account whose failed
/// resources are of a global service (IAM, CloudFront), whose calls are recorded there. The attribute is the
/// failed resources' event source when they share one, else `ReadOnly=false`. A stack's own events (its rollback
/// summary, a nested stack's) say which window, not which service.
pub(super) fn searches(ev: &Evidence) -> Vec<Search> {
    let mut groups: BTreeMap<(String, String), Group> = BTreeMap::new();
    for e in &ev.stack_events {
        let (Some(account), Some(region)) = (&e.account, &e.region) else {
            continue;
        };
        let t = e.timestamp;
        let here = groups.entry((account.clone(), region.clone())).or_default();
        here.at(t);
        let Some(ty) = e.resource_type.as_deref() else {
            here.unknown = true;
            continue;
        };
        if ty == "AWS::CloudFormation::Stack" {
            continue;
        }
        match sources::event_source(ty) {
            None => here.unknown = true,
            Some((source, false)) => {
                here.sources.insert(source);
            }
            Some((source, true)) => {
                let global = groups
                    .entry((account.clone(), sources::GLOBAL_REGION.to_owned()))
                    .or_default();
                global.at(t);
                global.sources.insert(source);
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|((account, region), g)| {
            let (start, end) = trail::window(g.first?, g.last?);
            let attribute = match (g.unknown, g.sources.len()) {
                (false, 1) => g
                    .sources
                    .first()
                    .map_or(Attribute::WritesOnly, |s| Attribute::EventSource(s)),
                _ => Attribute::WritesOnly,
            };
            Some(Search {
                account,
                region,
                start,
                end,
                attribute,
            })
        })
        .collect()
}

/// Which of a search's events are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Keep {
    /// The failed calls CloudFormation made (a failing account's search).
    Failures,
    /// The calls that started these StackSet operations (`responseElements.operationId`): who started an operation
    /// that held its stack set (docs/cloudtrail.md#the-lock-holder).
    Started(BTreeSet<String>),
}

/// The searches for who started each operation that holds its stack set (RUNNING, STOPPING, QUEUED): the
/// administrator's own event history in its Region, CloudFormation's write calls around the operation's creation.
pub(super) fn holder_searches(ev: &Evidence, account: &str, region: &str) -> Vec<(Search, Keep)> {
    let mut by_window: BTreeMap<(DateTime<Utc>, DateTime<Utc>), BTreeSet<String>> = BTreeMap::new();
    for o in &ev.operations {
        if !crate::vocabulary::status::holds_lock(&o.status) {
            continue;
        }
        if let Some(created) = o.created {
            by_window
                .entry(trail::window(created, created))
                .or_default()
                .insert(o.operation_id.clone());
        }
    }
    by_window
        .into_iter()
        .map(|((start, end), ids)| {
            (
                Search {
                    account: account.to_owned(),
                    region: region.to_owned(),
                    start,
                    end,
                    attribute: Attribute::EventSource("cloudformation.amazonaws.com"),
                },
                Keep::Started(ids),
            )
        })
        .collect()
}

/// What one search gave.
struct Found {
    events: Vec<TrailEvent>,
    lookup: Option<TrailLookup>,
}

impl Ctx<'_> {
    /// Search CloudTrail for the calls behind the failures in `ev`, and add what was found and every search made.
    /// Searches of different accounts or Regions run side by side within the run's bound on requests in flight;
    /// each search reads its pages one after another.
    pub(super) async fn trail(&self, ev: &mut Evidence) {
        let mut searches: Vec<(Search, Keep)> = searches(ev)
            .into_iter()
            .map(|s| (s, Keep::Failures))
            .collect();
        searches.extend(holder_searches(
            ev,
            &self.caller_account,
            &self.sdk.region(),
        ));
        let roles: Vec<String> = ev
            .stack_sets
            .iter()
            .filter_map(|s| s.execution_role_name.clone())
            .collect();
        self.planned(searches.len());
        let found: Vec<Found> = stream::iter(searches)
            .map(|(s, keep)| self.lookup(s, keep, &roles))
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        let mut seen: HashSet<String> =
            ev.trail_events.iter().map(|e| e.event_id.clone()).collect();
        for f in found {
            for e in f.events {
                if seen.insert(e.event_id.clone()) {
                    ev.trail_events.push(e);
                }
            }
            ev.trail_lookups.extend(f.lookup);
        }
        // Searches finish in any order: the bundle lists them, and their events in time order, by account and Region.
        ev.trail_lookups
            .sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        ev.trail_events.sort_by(|a, b| {
            (&a.account, &a.region, a.event_time, &a.event_id).cmp(&(
                &b.account,
                &b.region,
                b.event_time,
                &b.event_id,
            ))
        });
    }

    /// One search, its pages in sequence (LookupEvents answers about 2 requests a second per account and Region;
    /// the SDK's adaptive retry slows down once throttled). An error is a coverage note, never the run's end.
    async fn lookup(&self, s: Search, keep: Keep, roles: &[String]) -> Found {
        let scope = format!("account {} ({})", s.account, s.region);
        let mut found = Found {
            events: Vec::new(),
            lookup: None,
        };
        let creds = match self.member_credentials(&s.account).await {
            Ok(c) => c,
            Err(reason) => {
                self.gap(
                    scope,
                    format!("cloudtrail:LookupEvents: not searched: {reason}"),
                );
                self.done();
                return found;
            }
        };
        let client = self.sdk.cloudtrail(&s.region, creds.as_ref());
        let mut req = client
            .lookup_events()
            .start_time(sdk_time(s.start))
            .end_time(sdk_time(s.end))
            .max_results(limits::TRAIL_PAGE_SIZE);
        if let Some(a) = s.attribute.sdk() {
            req = req.lookup_attributes(a);
        }
        let pages = req.into_paginator().send();
        let _p = self.sem.acquire().await;
        let file = format!("live:{}/{}/LookupEvents", s.account, s.region);
        let mut pages_read = 0u32;
        let mut read = 0usize;
        let mut cut = false;
        let mut error: Option<(String, bool)> = None;
        let completed = self
            .drain(
                pages,
                |e| {
                    let denied = matches!(
                        error_code(e),
                        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
                    );
                    error = Some((describe_error(e), denied));
                    None
                },
                |page: LookupEventsOutput| {
                    pages_read += 1;
                    for e in page.events() {
                        read += 1;
                        let Some(mut t) = e
                            .cloud_trail_event()
                            .and_then(|j| serde_json::from_str(j).ok())
                            .and_then(|v| TrailEvent::from_record(&v))
                        else {
                            continue;
                        };
                        let kept = match &keep {
                            Keep::Failures => t.is_cloudformation_failure(roles),
                            Keep::Started(ids) => {
                                t.operation_id.as_ref().is_some_and(|id| ids.contains(id))
                            }
                        };
                        if !kept {
                            continue;
                        }
                        t.account.get_or_insert_with(|| s.account.clone());
                        t.region.get_or_insert_with(|| s.region.clone());
                        if t.event_time.is_none() {
                            t.event_time = time(e.event_time());
                        }
                        for name in e.resources().iter().filter_map(|r| r.resource_name()) {
                            if !t.resources.iter().any(|x| x == name) {
                                t.resources.push(name.to_owned());
                            }
                        }
                        t.source = src(file.clone(), format!("/Events/{}", read - 1));
                        found.events.push(t);
                    }
                    if pages_read as usize >= limits::TRAIL_PAGES && page.next_token().is_some() {
                        cut = true;
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
        drop(_p);
        if let Some((why, denied)) = error {
            let fix = if denied {
                match (&self.o.member_role, s.account == self.caller_account) {
                    (Some(role), false) => {
                        format!("; allow cloudtrail:LookupEvents to the member role {role} in this account")
                    }
                    _ => "; allow cloudtrail:LookupEvents to the caller".to_owned(),
                }
            } else {
                String::new()
            };
            let what = if pages_read == 0 {
                "the event history of this account and Region was not searched".to_owned()
            } else {
                format!(
                    "the search stopped after {pages_read} page(s), events may have been missed"
                )
            };
            self.gap(
                scope.clone(),
                format!("cloudtrail:LookupEvents: {why}: {what}{fix}"),
            );
        }
        if cut {
            self.gap(
                scope.clone(),
                format!(
                    "cloudtrail:LookupEvents ({}): only the newest {} pages ({} events) of the window {} to {} were \
                     read; the calls before were not searched",
                    s.attribute.shown(),
                    limits::TRAIL_PAGES,
                    read,
                    s.start.to_rfc3339(),
                    s.end.to_rfc3339()
                ),
            );
        }
        if pages_read > 0 || completed {
            if trail::may_be_incomplete(s.end, self.now()) {
                self.gap(
                    scope,
                    format!(
                        "CloudTrail: the window searched ended at {}, less than {} minutes ago, and CloudTrail \
                         delivers events minutes late: calls may be missing; diagnosing again later may find more",
                        s.end.to_rfc3339(),
                        trail::DELIVERY_DELAY.num_minutes()
                    ),
                );
            }
            found.lookup = Some(TrailLookup {
                account: s.account.clone(),
                region: s.region.clone(),
                start: s.start,
                end: s.end,
                attribute: Some(s.attribute.shown()),
                pages: pages_read,
                events: found.events.len(),
                complete: completed && !cut,
                started_operations: match &keep {
                    Keep::Failures => Vec::new(),
                    Keep::Started(ids) => ids.iter().cloned().collect(),
                },
            });
        }
        self.done();
        found
    }
}

impl Ctx<'_> {
    /// Now, by the SDK's clock (the one its requests are signed with; a test may set it).
    fn now(&self) -> DateTime<Utc> {
        let now = self
            .sdk
            .config
            .time_source()
            .map_or_else(std::time::SystemTime::now, |c| c.now());
        DateTime::<Utc>::from(now)
    }
}

fn sdk_time(t: DateTime<Utc>) -> aws_smithy_types::DateTime {
    aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::StackEvent;

    fn event(account: &str, region: &str, ty: &str, at: &str) -> StackEvent {
        StackEvent {
            account: Some(account.into()),
            region: Some(region.into()),
            resource_type: Some(ty.into()),
            timestamp: at.parse().expect("time"),
            status: "CREATE_FAILED".into(),
            ..StackEvent::default()
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn one_search_per_failing_account_and_region_narrowed_by_the_shared_service() {
        let ev = Evidence {
            stack_events: vec![
                // An S3 failure and the stack's own rollback: S3's events.
                event(
                    "111111111111",
                    "eu-west-1",
                    "AWS::S3::Bucket",
                    "2025-03-10T05:11:09Z",
                ),
                event(
                    "111111111111",
                    "eu-west-1",
                    "AWS::CloudFormation::Stack",
                    "2025-03-10T05:12:00Z",
                ),
                // Two services in one account+Region: writes only.
                event(
                    "222222222222",
                    "eu-west-1",
                    "AWS::S3::Bucket",
                    "2025-03-10T05:20:00Z",
                ),
                event(
                    "222222222222",
                    "eu-west-1",
                    "AWS::SQS::Queue",
                    "2025-03-10T05:21:00Z",
                ),
                // A custom resource: its service is not known, writes only.
                event(
                    "333333333333",
                    "ap-northeast-1",
                    "Custom::Thing",
                    "2025-03-10T06:00:00Z",
                ),
                // IAM is global: its calls are searched in us-east-1, the stack's Region still once.
                event(
                    "444444444444",
                    "ap-northeast-1",
                    "AWS::IAM::Role",
                    "2025-03-10T07:00:00Z",
                ),
                event(
                    "444444444444",
                    "eu-west-1",
                    "AWS::IAM::Role",
                    "2025-03-10T07:30:00Z",
                ),
            ],
            ..Evidence::default()
        };
        let want =
            |account: &str, region: &str, attribute: Attribute, start: &str, end: &str| Search {
                account: account.into(),
                region: region.into(),
                start: t(start),
                end: t(end),
                attribute,
            };
        let s3 = Attribute::EventSource("s3.amazonaws.com");
        let iam = Attribute::EventSource("iam.amazonaws.com");
        let writes = Attribute::WritesOnly;
        assert_eq!(
            searches(&ev),
            [
                want(
                    "111111111111",
                    "eu-west-1",
                    s3,
                    "2025-03-10T05:06:09Z",
                    "2025-03-10T05:14:00Z"
                ),
                want(
                    "222222222222",
                    "eu-west-1",
                    writes.clone(),
                    "2025-03-10T05:15:00Z",
                    "2025-03-10T05:23:00Z"
                ),
                want(
                    "333333333333",
                    "ap-northeast-1",
                    writes.clone(),
                    "2025-03-10T05:55:00Z",
                    "2025-03-10T06:02:00Z"
                ),
                want(
                    "444444444444",
                    "ap-northeast-1",
                    writes.clone(),
                    "2025-03-10T06:55:00Z",
                    "2025-03-10T07:02:00Z"
                ),
                want(
                    "444444444444",
                    "eu-west-1",
                    writes,
                    "2025-03-10T07:25:00Z",
                    "2025-03-10T07:32:00Z"
                ),
                want(
                    "444444444444",
                    "us-east-1",
                    iam,
                    "2025-03-10T06:55:00Z",
                    "2025-03-10T07:32:00Z"
                ),
            ]
        );
        assert_eq!(
            Attribute::EventSource("s3.amazonaws.com").shown(),
            "EventSource=s3.amazonaws.com"
        );
        assert_eq!(Attribute::WritesOnly.shown(), "ReadOnly=false");
        // No failure events, no search.
        assert!(searches(&Evidence::default()).is_empty());
    }
}
