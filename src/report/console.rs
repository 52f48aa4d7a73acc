//! AWS console addresses for what a report names: the failing stack's events, the stack set's operations, the
//! denying policy. Partition- and Region-aware (docs/report-layout.md#console-links).

use serde::Serialize;

/// A link for people: what it opens, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ConsoleLink {
    pub label: String,
    pub url: String,
}

/// The console's host for a partition, as an ARN names it.
fn console_host(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("console.aws.amazon.com"),
        "aws-cn" => Some("console.amazonaws.cn"),
        "aws-us-gov" => Some("console.amazonaws-us-gov.com"),
        _ => None,
    }
}

/// The partition of a Region by its name.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Percent-encode everything but unreserved characters (RFC 3986), for a value inside a URL.
fn encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// A Region name as it may stand in a host: letters, digits and dashes only.
fn region_ok(r: &str) -> bool {
    !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The events of a stack, by its id (an ARN: the partition and Region come from it).
pub fn stack_events(stack_id: &str) -> Option<ConsoleLink> {
    let arn = crate::ids::Arn::parse(stack_id)?;
    let host = console_host(arn.partition)?;
    if !region_ok(arn.region) {
        return None;
    }
    let r = arn.region;
    Some(ConsoleLink {
        label: format!("stack events in {} ({r})", arn.account),
        url: format!(
            "https://{r}.{host}/cloudformation/home?region={r}#/stacks/events?stackId={}",
            encode(stack_id)
        ),
    })
}

/// A stack set's operations. The stack set's own Region is not in the evidence's records, so the link opens the
/// console in its current Region unless `region` is known.
pub fn stack_set_operations(stack_set: &str, region: Option<&str>) -> ConsoleLink {
    let region = region.filter(|r| region_ok(r));
    let host =
        console_host(partition_of_region(region.unwrap_or(""))).unwrap_or("console.aws.amazon.com");
    let url = match region {
        Some(r) => format!(
            "https://{r}.{host}/cloudformation/home?region={r}#/stacksets/{}/operations",
            encode(stack_set)
        ),
        None => format!(
            "https://{host}/cloudformation/home#/stacksets/{}/operations",
            encode(stack_set)
        ),
    };
    ConsoleLink {
        label: format!("operations of stack set {stack_set}"),
        url,
    }
}

/// A CloudTrail event in the event history of its Region, by its `eventID`.
pub fn trail_event(event_id: &str, region: &str) -> Option<ConsoleLink> {
    let host = console_host(partition_of_region(region))?;
    if !region_ok(region)
        || event_id.is_empty()
        || !event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    Some(ConsoleLink {
        label: format!("CloudTrail event {event_id} ({region})"),
        url: format!(
            "https://{region}.{host}/cloudtrailv2/home?region={region}#/events/{event_id}"
        ),
    })
}

/// A service or resource control policy in the Organizations console (a global service).
pub fn policy(policy_id: &str, resource_control: bool, partition: &str) -> Option<ConsoleLink> {
    let host = console_host(partition)?;
    if !policy_id.starts_with("p-")
        || !policy_id[2..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return None;
    }
    let kind = if resource_control {
        "resource-control-policy"
    } else {
        "service-control-policy"
    };
    Some(ConsoleLink {
        label: format!("policy {policy_id}"),
        url: format!("https://{host}/organizations/v2/home/policies/{kind}/{policy_id}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trail_events_open_in_their_region_and_partition() {
        let l = trail_event("5c2e8a41-7b3d-4f9e-a1c6-0d8b2f4e6a13", "us-gov-west-1").unwrap();
        assert_eq!(
            l.url,
            "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudtrailv2/home?region=us-gov-west-1#/events/5c2e8a41-7b3d-4f9e-a1c6-0d8b2f4e6a13"
        );
        assert!(trail_event("x\"><script>", "us-east-1").is_none());
        assert!(trail_event("abc", "us-east-1/../").is_none());
    }

    #[test]
    fn stack_events_take_partition_and_region_from_the_arn() {
        let l =
            stack_events("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/StackSet-x/1a2b")
                .unwrap();
        assert_eq!(
            l.url,
            "https://cn-north-1.console.amazonaws.cn/cloudformation/home?region=cn-north-1#/stacks/events?stackId=arn%3Aaws-cn%3Acloudformation%3Acn-north-1%3A123456789012%3Astack%2FStackSet-x%2F1a2b"
        );
        assert!(stack_events("not an arn").is_none());
        assert!(stack_events("arn:aws:cloudformation:evil.example/x:1:stack/a/b").is_none());
    }

    #[test]
    fn policies_and_operations() {
        assert_eq!(
            policy("p-8x2k4q7m", false, "aws").unwrap().url,
            "https://console.aws.amazon.com/organizations/v2/home/policies/service-control-policy/p-8x2k4q7m"
        );
        assert!(policy("p-x/../y", false, "aws").is_none());
        assert_eq!(
            stack_set_operations("a b", Some("us-gov-west-1")).url,
            "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudformation/home?region=us-gov-west-1#/stacksets/a%20b/operations"
        );
    }
}
