//! Unified line diff (LCS), enough for a policy patch of a few lines.

enum Op {
    Same(usize, usize),
    Del(usize),
    Add(usize),
}

/// `--- a` / `+++ b` unified diff with `context` lines around each change; empty when the texts are equal.
pub(crate) fn unified(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    context: usize,
) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Trim the common prefix and suffix first: a patch changes a few lines of a policy, so the quadratic LCS
    // table only covers the changed middle.
    let mut pre = 0;
    while pre < a.len() && pre < b.len() && a[pre] == b[pre] {
        pre += 1;
    }
    let mut suf = 0;
    while suf < a.len() - pre && suf < b.len() - pre && a[a.len() - 1 - suf] == b[b.len() - 1 - suf]
    {
        suf += 1;
    }
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    if am.is_empty() && bm.is_empty() {
        return String::new();
    }
    let mut ops: Vec<Op> = (0..pre).map(|i| Op::Same(i, i)).collect();
    let (n, m) = (am.len(), bm.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if am[i] == bm[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && am[i] == bm[j] {
            ops.push(Op::Same(pre + i, pre + j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions first, as diff(1) prints them.
            ops.push(Op::Del(pre + i));
            i += 1;
        } else {
            ops.push(Op::Add(pre + j));
            j += 1;
        }
    }
    for k in 0..suf {
        ops.push(Op::Same(a.len() - suf + k, b.len() - suf + k));
    }

    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| !matches!(o, Op::Same(..)))
        .map(|(k, _)| k)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        // Grow a hunk while the next change is within 2*context lines.
        let start = changed[k].saturating_sub(context);
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * context + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + context + 1).min(ops.len());
        let hunk = &ops[start..end];
        let (mut a0, mut b0, mut an, mut bn) = (None, None, 0, 0);
        for o in hunk {
            match *o {
                Op::Same(x, y) => {
                    a0.get_or_insert(x);
                    b0.get_or_insert(y);
                    an += 1;
                    bn += 1;
                }
                Op::Del(x) => {
                    a0.get_or_insert(x);
                    an += 1;
                }
                Op::Add(y) => {
                    b0.get_or_insert(y);
                    bn += 1;
                }
            }
        }
        // Line numbers are 1-based; an empty side is reported at the line before it.
        let a_start = a0.map_or_else(|| first_pos(&ops[..start], true), |x| x + 1);
        let b_start = b0.map_or_else(|| first_pos(&ops[..start], false), |y| y + 1);
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range(a_start, an),
            range(b_start, bn)
        ));
        for o in hunk {
            match *o {
                Op::Same(x, _) => out.push_str(&format!(" {}\n", a[x])),
                Op::Del(x) => out.push_str(&format!("-{}\n", a[x])),
                Op::Add(y) => out.push_str(&format!("+{}\n", b[y])),
            }
        }
        k += 1;
    }
    out
}

/// Number of lines of one side before a hunk that has none of that side.
fn first_pos(before: &[Op], old: bool) -> usize {
    before
        .iter()
        .filter(|o| match o {
            Op::Same(..) => true,
            Op::Del(_) => old,
            Op::Add(_) => !old,
        })
        .count()
}

fn range(start: usize, len: usize) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
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
