//! `*`/`?` wildcard matching as IAM and our topology files use it (`*` any run, `?` one character).

/// A literal `*` / `?` in a pattern, as the IAM policy variables `${*}` / `${?}` produce (IAM guide, "Policy
/// variables: special characters"): they match the character itself, not a run.
pub const LITERAL_STAR: char = '\u{E000}';
pub const LITERAL_QMARK: char = '\u{E001}';

fn literal(c: char) -> char {
    match c {
        LITERAL_STAR => '*',
        LITERAL_QMARK => '?',
        c => c,
    }
}

/// Match `text` against `pattern`; `*` matches any run (including `/` and `:`), `?` exactly one character.
/// Two pointers with backtracking to the last star only, so the cost stays linear-ish whatever the pattern.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    // Nearly every pattern and text is ASCII: compare bytes, without allocating.
    if pattern.is_ascii() && text.is_ascii() {
        let eq = |a: u8, b: u8| {
            if ignore_case {
                a.eq_ignore_ascii_case(&b)
            } else {
                a == b
            }
        };
        return walk(pattern.as_bytes(), text.as_bytes(), b'*', b'?', eq);
    }
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    walk(&p, &t, '*', '?', |a, b| literal(a) == b)
}

/// The two-pointer match over any symbols: `star` any run, `one` one symbol, `eq` compares a pattern symbol
/// with a text symbol.
fn walk<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    star_sym: T,
    one: T,
    eq: impl Fn(T, T) -> bool,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || (p[pi] != star_sym && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_sym {
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
    p[pi..].iter().all(|&c| c == star_sym)
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
