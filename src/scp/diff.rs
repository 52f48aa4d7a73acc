//! The patch of a policy as a unified line diff (`similar`, the diff crate insta uses).

/// `--- a` / `+++ b` unified diff with `context` lines around each change; empty when the texts are equal.
pub(crate) fn unified(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    context: usize,
) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(context)
        .header(old_name, new_name)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn one_added_line() {
        let a = "a\nb\nc\nd\ne\nf\ng\n";
        let b = "a\nb\nc\nd\nX\ne\nf\ng\n";
        let d = unified(a, b, "a/p", "b/p", 3);
        assert_eq!(
            d,
            "--- a/p\n+++ b/p\n@@ -2,6 +2,7 @@\n b\n c\n d\n+X\n e\n f\n g\n"
        );
    }

    #[test]
    fn change_at_start_and_far_apart_hunks() {
        let a: String = (0..20).map(|i| format!("{i}\n")).collect();
        let b: String = (0..20)
            .map(|i| match i {
                0 => "zero\n".to_owned(),
                19 => "nineteen\n".to_owned(),
                i => format!("{i}\n"),
            })
            .collect();
        let d = unified(&a, &b, "a", "b", 1);
        assert!(d.contains("@@ -1,2 +1,2 @@\n-0\n+zero\n 1\n"), "{d}");
        assert!(
            d.contains("@@ -19,2 +19,2 @@\n 18\n-19\n+nineteen\n"),
            "{d}"
        );
        assert_eq!(unified(&a, &a, "a", "b", 3), "");
        assert_eq!(
            unified("", "x\n", "a", "b", 3),
            "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"
        );
    }
}
