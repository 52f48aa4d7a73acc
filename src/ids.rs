//! AWS identifiers, one parser each: ARNs, account ids, UUIDs. Every stage that reads an identifier uses these.

/// An ARN's six parts (`arn:partition:service:region:account:resource`); the resource keeps its colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// The parts of `arn`, or None when it is not an ARN (no `arn:` prefix, fewer than six parts, no partition
    /// or service).
    pub fn parse(arn: &'a str) -> Option<Arn<'a>> {
        let [a, partition, service, region, account, resource] = split(arn)?;
        (a == "arn" && !partition.is_empty() && !service.is_empty()).then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }
}

/// A stack's name from its id (`arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`).
pub fn stack_name(stack_id: &str) -> Option<&str> {
    Arn::parse(stack_id)?
        .resource
        .strip_prefix("stack/")?
        .split('/')
        .next()
        .filter(|n| !n.is_empty())
}

/// Split on the first five `:` into six parts; the sixth keeps its colons. None when there are fewer than six
/// (how IAM's ARN condition operators read an ARN: docs/scp-semantics.md#condition-operators).
pub fn split(arn: &str) -> Option<[&str; 6]> {
    let mut it = arn.splitn(6, ':');
    Some([
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ])
}

/// Exactly 12 ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `8-4-4-4-12` hex digits, any case.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_split_into_parts() {
        let p =
            Arn::parse("arn:aws:cloudformation:ap-northeast-1:121212121212:stack/a/b:c").unwrap();
        assert_eq!(
            (p.partition, p.service, p.region, p.account, p.resource),
            (
                "aws",
                "cloudformation",
                "ap-northeast-1",
                "121212121212",
                "stack/a/b:c"
            )
        );
        assert!(Arn::parse("not-an-arn").is_none());
        assert!(Arn::parse("arn:aws:iam::1").is_none());
        assert!(Arn::parse("arn::iam::1:role/x").is_none());
        let sts = Arn::parse("arn:aws-cn:sts::123456789012:assumed-role/r/s").unwrap();
        assert_eq!(
            (sts.partition, sts.service, sts.account),
            ("aws-cn", "sts", "123456789012")
        );
        assert!(Arn::parse("foo:aws:iam::1:x").is_none());
    }

    #[test]
    fn account_ids_and_uuids() {
        assert!(is_account_id("121212121212"));
        assert!(!is_account_id("12121212121") && !is_account_id("12121212121x"));
        assert!(is_uuid("157876B0-3EF1-478F-ACCA-F901EE75CACA"));
        assert!(!is_uuid("157876b0-3ef1-478f-acca-f901ee75cac"));
    }
}
