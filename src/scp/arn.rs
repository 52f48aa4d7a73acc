//! Wildcard and ARN matching as IAM does it.

pub(crate) use crate::ids::split;
pub(crate) use crate::wildcard::{LITERAL_QMARK, LITERAL_STAR};

/// `*` matches any run (crossing `/` and `:`), `?` exactly one character (see [`crate::wildcard`]).
pub(crate) fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    crate::wildcard::matches(pattern, text, ignore_case)
}

/// ArnLike/ArnEquals: part by part, case-sensitive, wildcards inside a part; a pattern (or value) with fewer than
/// six parts matches nothing (docs/scp-semantics.md#condition-operators; IAM guide "ARN condition operators").
pub(crate) fn arn_like(pattern: &str, value: &str) -> bool {
    match (split(pattern), split(value)) {
        (Some(p), Some(v)) => p.iter().zip(v.iter()).all(|(p, v)| glob(p, v, false)),
        _ => false,
    }
}

/// Resource element: `*` alone matches everything; otherwise ARN part-wise matching.
pub(crate) fn resource_like(pattern: &str, resource: &str) -> bool {
    pattern == "*"
        || arn_like(pattern, resource)
        || (split(resource).is_none() && pattern == resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_basics() {
        assert!(glob("s3:Put*", "s3:PutObject", false));
        assert!(!glob("s3:put*", "s3:PutObject", false));
        assert!(glob("s3:put*", "s3:PutObject", true));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "ac", false));
        assert!(glob("*", "", false));
        assert!(glob("*a*b*", "xxaxxbxx", false));
        assert!(!glob("role/*N", "role/x", false));
        assert!(glob("role/*N", "role/xN", false));
        let lit = format!("a{LITERAL_STAR}b{LITERAL_QMARK}");
        assert!(glob(&lit, "a*b?", false));
        assert!(!glob(&lit, "axxbc", false));
    }

    #[test]
    fn arn_part_wise() {
        // The star in the account part does not cross into the resource part.
        assert!(arn_like(
            "arn:aws:iam::*:role/test-role",
            "arn:aws:iam::123456789012:role/test-role"
        ));
        assert!(!arn_like(
            "arn:aws:iam::*:role/test-role",
            "arn:aws:iam::123456789012:role/a/test-role"
        ));
        assert!(arn_like("arn:aws:iam::*:role/*", "arn:aws:iam::1:role/a/b"));
        // A star in one part cannot swallow the colons of the next.
        assert!(!arn_like("arn:aws:*:role/x", "arn:aws:iam::1:role/x"));
        // Fewer than six parts never matches, not even "*".
        assert!(!arn_like("*", "arn:aws:iam::1:role/x"));
        // Sixth part keeps its colons.
        assert!(arn_like(
            "arn:aws:logs:*:*:log-group:g:*",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
        ));
        assert!(!arn_like("arn:aws:iam::1:role/X", "arn:aws:iam::1:role/x"));
    }
}
