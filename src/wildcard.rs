//! `*`/`?` wildcard matching as IAM and our topology files use it (`*` any run, `?` one character).

/// Match `text` against `pattern`; `*` matches any run (including `/` and `:`), `?` exactly one character.
/// Linear-time two-pointer algorithm with backtracking to the last star only.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| {
        if ignore_case {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches(
            "AWS-QuickSetup-*",
            "AWS-QuickSetup-SSM-DA-abcde",
            false
        ));
        assert!(matches("s3:Put*", "s3:PutBucketPublicAccessBlock", false));
        assert!(matches("s3:put*", "s3:PutBucketPublicAccessBlock", true));
        assert!(!matches("s3:put*", "s3:PutBucketPublicAccessBlock", false));
        assert!(matches("a?c", "abc", false));
        assert!(!matches("a?c", "ac", false));
        assert!(matches("*", "", false));
        assert!(matches(
            "arn:aws:iam::*:role/*",
            "arn:aws:iam::1:role/a/b",
            false
        ));
        assert!(!matches("role/*N", "role/x", false));
    }
}
