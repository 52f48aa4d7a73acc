//! The stand-ins handed out: one numbering per kind, the same stand-in for the same original, never a value the
//! input holds.

use std::collections::{HashMap, HashSet};

use super::patterns::{digit_runs, Hit, Kind};
use super::splice;

#[derive(Default)]
pub(super) struct Series {
    /// Original → stand-in.
    pub(super) map: HashMap<String, String>,
    pub(super) next: u64,
}

#[derive(Default)]
pub(super) struct Table {
    pub(super) series: [Series; Kind::ALL.len()],
    /// Candidate values seen in the input: never handed out as stand-ins.
    pub(super) reserved: HashSet<String>,
}

impl Table {
    pub(super) fn pseudonym(&mut self, kind: Kind, original: &str, hint: &str) -> String {
        let series = &mut self.series[kind as usize];
        if let Some(p) = series.map.get(original) {
            return p.clone();
        }
        let p = loop {
            series.next += 1;
            let p = kind.make(series.next, hint);
            if !self.reserved.contains(&p) {
                break p;
            }
        };
        series.map.insert(original.to_owned(), p.clone());
        p
    }

    /// What to put instead of the match `s[start..end]` of `Patterns::ids`: the span of `s` to replace and its
    /// stand-in; None keeps the match as it is.
    pub(super) fn replacement(
        &mut self,
        s: &str,
        start: usize,
        end: usize,
    ) -> Option<(usize, usize, String)> {
        let x = &s[start..end];
        let kind = match Hit::of(x) {
            Hit::Label { value } => {
                return self
                    .labelled(&x[..value], &x[value..])
                    .map(|r| (start + value, end, r))
            }
            Hit::Org { id } => return self.org(s, start + id, end),
            Hit::Digits => {
                // `%20787878787878`: the two digits of a URL-encoded byte run into the account id.
                let skip = if s[..start].ends_with('%') && x.len() > 2 {
                    2
                } else {
                    0
                };
                return (x.len() - skip == 12)
                    .then(|| (start + skip, end, self.account(&x[skip..])));
            }
            Hit::Uuid => return Some((start, end, self.uuid(x))),
            Hit::Email => Kind::Email,
            Hit::Key => Kind::AccessKey,
            Hit::Hex => Kind::HexId,
        };
        Some((start, end, self.pseudonym(kind, x, x)))
    }

    /// The value after a label (`Request ID: v`), unless it is already masked (`XXXXXXXX`).
    pub(super) fn labelled(&mut self, label: &str, v: &str) -> Option<String> {
        if crate::ids::is_uuid(v) {
            return Some(self.uuid(v));
        }
        if v.bytes()
            .all(|b| matches!(b, b'X' | b'x' | b'*') || !b.is_ascii_alphanumeric())
        {
            return None;
        }
        let label = label.trim_end_matches([' ', '\t', '"', ':', '=']);
        let kind = if label.to_ascii_lowercase().ends_with("id") {
            Kind::RequestId
        } else {
            Kind::Token
        };
        Some(self.pseudonym(kind, v, ""))
    }

    /// An organization id `s[start..end]` (`o-…`, `ou-…-…`, `r-…`, `p-…`): checks what the regex cannot (length,
    /// the character after it).
    fn org(&mut self, s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
        let id = &s[start..end];
        let next = s.as_bytes().get(end).copied().unwrap_or(b' ');
        let body = |prefix: &str| id.len() - prefix.len();
        let (kind, ok) = if let Some(rest) = id.strip_prefix("ou-") {
            let (root, tail) = rest.split_once('-').unwrap_or((rest, ""));
            (Kind::Ou, root.len() <= 32 && tail.len() <= 32)
        } else if id.starts_with("o-") {
            (Kind::Org, body("o-") <= 32)
        } else if id.starts_with("r-") {
            (Kind::Root, body("r-") <= 32)
        } else {
            (Kind::Policy, body("p-") <= 128)
        };
        if !ok || next.is_ascii_alphanumeric() {
            // Not an organization id, but it may still hold an account id (`r-121212121212X`).
            return accounts_only(id, self).map(|r| (start, end, r));
        }
        let rep = match id.strip_prefix("ou-").and_then(|r| r.split_once('-')) {
            Some((root, _)) => {
                // An OU id embeds its root's id: keep that link.
                let root = self.pseudonym(Kind::Root, &format!("r-{root}"), "");
                let root_part = root.strip_prefix("r-").unwrap_or(&root).to_owned();
                self.pseudonym(Kind::Ou, id, &root_part)
            }
            None => self.pseudonym(kind, id, ""),
        };
        Some((start, end, rep))
    }

    /// UUIDs compare case-insensitively.
    pub(super) fn uuid(&mut self, x: &str) -> String {
        if x.bytes().any(|b| b.is_ascii_uppercase()) {
            self.pseudonym(Kind::Uuid, &x.to_ascii_lowercase(), "")
        } else {
            self.pseudonym(Kind::Uuid, x, "")
        }
    }

    pub(super) fn account(&mut self, a: &str) -> String {
        self.pseudonym(Kind::Account, a, "")
    }
}

/// Whether `v` has the form of a stand-in (`Kind::make`): only those can collide, so only those are reserved
/// (131k fewer allocations for a 10k-account organization). Numbered stand-ins start with `0000` until the
/// 10^8th value of a kind, far beyond any input; `<…>` stand-ins cannot occur as values at all.
pub(super) fn could_be_stand_in(v: &str) -> bool {
    let org_body = ["o-", "ou-", "r-", "p-"]
        .iter()
        .find_map(|p| v.strip_prefix(p));
    v.starts_with("0000")
        || v.starts_with("user-")
        || v.contains("REDACTED")
        || org_body.is_some_and(|b| b.bytes().all(|c| c.is_ascii_digit() || c == b'-'))
}

/// Replace only the 12-digit runs of `s`; None when there is none.
fn accounts_only(s: &str, t: &mut Table) -> Option<String> {
    let runs: Vec<(usize, usize)> = digit_runs(s).filter(|(a, b)| b - a == 12).collect();
    splice(
        s,
        runs.into_iter().map(|(a, b)| (a, b, t.account(&s[a..b]))),
    )
}
