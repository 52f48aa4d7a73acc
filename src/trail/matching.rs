//! Which CloudTrail event explains a failure (docs/cloudtrail.md#matching): events of the failure's account and
//! Region (us-east-1 too for global services), in its stack's window, with an error, made on CloudFormation's
//! behalf; scored by the resource, the action and the service they share with the failure, then by time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::classify::Failure;
use crate::evidence::TrailEvent;

pub(super) use super::sources::GLOBAL_REGION;

/// How much each shared fact weighs, and the least an event must share to be attached.
const RESOURCE: u32 = 4;
const ACTION: u32 = 3;
const SERVICE: u32 = 2;
const ENOUGH: u32 = SERVICE;

/// The most property values of a failure compared with an event's resources.
const MAX_NAMES: usize = 64;

pub(super) fn is_global(event_source: &str) -> bool {
    super::sources::is_global_source(event_source)
}

/// Whether the call was made on CloudFormation's behalf (`TrailEvent::made_by_cloudformation`), the stack set's
/// own `ExecutionRoleName` counting as an execution role.
pub(super) fn on_behalf_of_cloudformation(e: &TrailEvent, execution_role: Option<&str>) -> bool {
    e.made_by_cloudformation(execution_role.filter(|x| !x.is_empty()).as_slice())
}

/// The IAM action prefix of an event source: `s3.amazonaws.com` → `s3`.
fn service_of_source(source: &str) -> &str {
    source.strip_suffix(".amazonaws.com").unwrap_or(source)
}

/// The action an event is: its service prefix and its name, without the API version some services append
/// (Lambda's `CreateFunction20150331`).
pub(super) fn action_of(e: &TrailEvent) -> String {
    let name = e.event_name.trim_end_matches(|c: char| c.is_ascii_digit());
    let name = if e.event_name.len() - name.len() >= 8 {
        name
    } else {
        e.event_name.as_str()
    };
    format!("{}:{name}", service_of_source(&e.event_source))
}

/// What a failure names: its physical id and the string values of its properties.
pub(super) struct Names<'f> {
    names: HashSet<String>,
    message: &'f str,
    message_lower: String,
    action: Option<String>,
    service: Option<String>,
}

impl<'f> Names<'f> {
    pub(super) fn of(f: &'f Failure) -> Self {
        let mut names = HashSet::new();
        if let Some(p) = f.physical_id.as_deref().filter(|p| !p.is_empty()) {
            names.insert(p.to_owned());
        }
        if let Some(v) = f
            .properties
            .as_deref()
            .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
        {
            collect_strings(&v, 0, &mut names);
        }
        Names {
            names,
            message: &f.raw_message,
            message_lower: f.raw_message.to_ascii_lowercase(),
            action: f.class.fields.get("action").map(|a| a.to_ascii_lowercase()),
            service: f
                .resource_type
                .as_deref()
                .and_then(super::sources::service_of_type),
        }
    }

    fn names_resource(&self, r: &str) -> bool {
        if r.len() < 3 {
            return false;
        }
        // An ARN whose last part is a name the failure has, or a name the failure has as an ARN.
        let tail = |long: &str, short: &str| {
            long.len() > short.len()
                && long.ends_with(short)
                && matches!(long.as_bytes()[long.len() - short.len() - 1], b':' | b'/')
        };
        self.names.contains(r)
            || self.names.iter().any(|n| tail(r, n) || tail(n, r))
            || (r.len() >= 8 && self.message.contains(r))
    }
}

fn collect_strings(v: &serde_json::Value, depth: usize, out: &mut HashSet<String>) {
    if depth > 8 || out.len() >= MAX_NAMES {
        return;
    }
    match v {
        serde_json::Value::String(s) if s.len() >= 3 && s.len() <= 512 => {
            out.insert(s.clone());
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, depth + 1, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect_strings(x, depth + 1, out)),
        _ => {}
    }
}

/// How well an event fits a failure, and on what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fit {
    pub points: u32,
    pub on: Vec<String>,
}

pub(super) fn fit(n: &Names<'_>, e: &TrailEvent) -> Fit {
    let mut points = 0;
    let mut on = Vec::new();
    if e.resources.iter().any(|r| n.names_resource(r)) {
        points += RESOURCE;
        on.push("resource".to_owned());
    }
    let action = action_of(e).to_ascii_lowercase();
    let named = n.action.as_deref() == Some(action.as_str()) || n.message_lower.contains(&action);
    if named {
        points += ACTION;
        on.push("action".to_owned());
    }
    if n.service.as_deref() == Some(service_of_source(&e.event_source)) {
        points += SERVICE;
        on.push("service".to_owned());
    }
    Fit { points, on }
}

/// The best event of `candidates` for a failure at `at`: the best fit (at least a shared service), then one made
/// before the failure over one after, then the nearest in time, then the smaller id (a stable choice).
pub(super) fn best<'e>(
    n: &Names<'_>,
    at: DateTime<Utc>,
    candidates: &[&'e TrailEvent],
) -> Option<(&'e TrailEvent, Fit)> {
    candidates
        .iter()
        .map(|&e| (e, fit(n, e)))
        .filter(|(_, f)| f.points >= ENOUGH)
        .max_by(|(a, fa), (b, fb)| {
            let key = |e: &TrailEvent| {
                let t = e.event_time.unwrap_or(at);
                (t <= at, -(t - at).num_milliseconds().abs())
            };
            fa.points
                .cmp(&fb.points)
                .then_with(|| key(a).cmp(&key(b)))
                .then_with(|| b.event_id.cmp(&a.event_id))
        })
}

/// The events with an error of each account and Region, by time: built once, so each failure's candidates are
/// two binary searches.
pub(super) struct EventIndex<'e> {
    by_place: HashMap<(&'e str, &'e str), Vec<&'e TrailEvent>>,
}

impl<'e> EventIndex<'e> {
    pub(super) fn new(events: &'e [TrailEvent]) -> Self {
        let mut by_place: HashMap<(&str, &str), Vec<&TrailEvent>> = HashMap::new();
        for e in events {
            let (Some(a), Some(r), Some(_), Some(_)) = (
                e.account.as_deref(),
                e.region.as_deref(),
                e.event_time,
                e.error_code.as_deref().filter(|c| !c.is_empty()),
            ) else {
                continue;
            };
            by_place.entry((a, r)).or_default().push(e);
        }
        for v in by_place.values_mut() {
            v.sort_by(|a, b| (a.event_time, &a.event_id).cmp(&(b.event_time, &b.event_id)));
        }
        EventIndex { by_place }
    }

    /// Whether any event of the account and Region is in the evidence.
    pub(super) fn has(&self, account: &str, region: &str) -> bool {
        self.by_place.contains_key(&(account, region))
    }

    /// The events of `account` in `region` between `start` and `end` (inclusive); with `global_only`, only those
    /// of global services.
    pub(super) fn within(
        &self,
        account: &str,
        region: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        global_only: bool,
    ) -> Vec<&'e TrailEvent> {
        let v = self
            .by_place
            .get(&(account, region))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let from = v.partition_point(|e| e.event_time.is_some_and(|t| t < start));
        let to = v.partition_point(|e| e.event_time.is_some_and(|t| t <= end));
        v[from..to.max(from)]
            .iter()
            .copied()
            .filter(|e| !global_only || is_global(&e.event_source))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::record::CLOUDFORMATION;
    use crate::trail::sources::service_of_type;

    fn event(source: &str, name: &str) -> TrailEvent {
        TrailEvent {
            event_id: "e".into(),
            event_source: source.into(),
            event_name: name.into(),
            ..TrailEvent::default()
        }
    }

    #[test]
    fn the_execution_role_or_cloudformation_itself_made_the_call() {
        let mut e = event("s3.amazonaws.com", "PutBucketPolicy");
        assert!(!on_behalf_of_cloudformation(&e, None));
        e.principal_arn = Some("arn:aws:sts::1:assumed-role/stacksets-exec-abc/s".into());
        assert!(on_behalf_of_cloudformation(&e, None));
        e.principal_arn = Some("arn:aws:sts::1:assumed-role/Deployer/s".into());
        assert!(!on_behalf_of_cloudformation(&e, None));
        assert!(on_behalf_of_cloudformation(&e, Some("Deployer")));
        e.session_issuer_arn =
            Some("arn:aws:iam::1:role/path/AWSCloudFormationStackSetExecutionRole".into());
        assert!(on_behalf_of_cloudformation(&e, None));
        let mut c = event("s3.amazonaws.com", "PutBucketPolicy");
        c.invoked_by = Some(CLOUDFORMATION.into());
        assert!(on_behalf_of_cloudformation(&c, None));
    }

    #[test]
    fn actions_and_services_as_iam_and_cloudformation_name_them() {
        assert_eq!(
            action_of(&event("lambda.amazonaws.com", "CreateFunction20150331")),
            "lambda:CreateFunction"
        );
        assert_eq!(
            action_of(&event("s3.amazonaws.com", "PutBucketPublicAccessBlock")),
            "s3:PutBucketPublicAccessBlock"
        );
        assert_eq!(service_of_type("AWS::S3::Bucket").as_deref(), Some("s3"));
        assert_eq!(
            service_of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").as_deref(),
            Some("elasticloadbalancing")
        );
        assert_eq!(service_of_type("Custom::Thing"), None);
    }
}
