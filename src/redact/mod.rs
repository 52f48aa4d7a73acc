//! Pseudonymisation of evidence for support-ticket attachments (`diagnose --redact`).
//!
//! Takes an [`Evidence`] (and any other text the caller prints); gives the same data with every identifier that
//! names the customer replaced by a stand-in. The diagnosis runs on the redacted evidence, so stand-ins keep their
//! shape and the mapping is consistent within one [`Redactor`]: the same original always gets the same stand-in, so
//! links between records (account, stack id, operation id, role ARN, across stack sets) survive.
//!
//! What is replaced (one combined regex per string, then one pass for long tokens; strings with nothing to replace
//! are not copied):
//!
//! | what | how recognised | stand-in |
//! |---|---|---|
//! | account id | a maximal run of exactly 12 ASCII digits, anywhere (ARNs, bucket and file names, messages); 11 or 13 digits are left alone | `000000000001`, `000000000002`, … |
//! | UUID (operation, stack, event, stack set ids, UUID request ids/tokens) | `8-4-4-4-12` hex, any case | `00000000-0000-4000-8000-000000000001`, … |
//! | request id | the value after `Request ID:`, `RequestId`, `request id`, `Extended Request ID:`, `Host Id` (`:` or `=`) unless it is a UUID | `<request-id-N>` |
//! | hex id | a run of 32 or more hex digits (S3/Lambda-style request ids, hashes) | zero-padded hex counter, same length |
//! | token | the value after `RequestToken`, `NextToken`, `SessionToken`, `SecurityToken`, `ClientToken`, `ContinuationToken`, `SecretAccessKey`; and any run of 40+ `[A-Za-z0-9+/=]` that looks random (mixes letters and digits and changes character class at least every other character, which `CamelCase` logical ids and paths do not) | `<token-N>` |
//! | access key / unique id | `AKIA`, `ASIA`, `AROA`, `AIDA`, … + 16 `[A-Z0-9]` | `AKIAREDACTED00000001` (prefix kept, 20 chars) |
//! | organization ids | `o-` (10–32), `r-` (4–32), `ou-<root part>-<8–32>`, `p-` (8–128 lowercase alphanumerics) preceded by a non-alphanumeric character or the start, not followed by a letter or digit | `o-0000000001`, `r-0001`, `ou-0001-00000001` (its root part is the root's stand-in), `p-00000001` |
//! | email address | `local@domain.tld` | `user-N@example.com` |
//!
//! Values that are already masked (`Request ID: XXXXXXXX`: only `X`, `x`, `*` and punctuation) are kept. Kept on
//! purpose: region names, resource types, logical ids, stack set and stack names (but their UUID part is replaced),
//! role and policy names (the fix names them; only the ARN's account changes), service names, error codes,
//! timestamps, AWS-managed policy ids (`p-FullAWSAccess`). Not detected: user names or session names that are not
//! email addresses, and free-form secrets shorter than 40 characters outside a labelled token.
//!
//! Stand-ins are numbered by first appearance (fields in declaration order), so two runs over the same input give
//! the same output, and a stand-in is never a value that occurs in the input: [`Redactor::evidence`] (and
//! [`Redactor::text`]) first scan everything they are given for values shaped like a stand-in and skip those. Text given in a
//! later call can still contain a value equal to a stand-in issued earlier; that value is itself replaced, so no
//! original leaks, but the earlier stand-in then also names an input value.

mod json;
mod patterns;
mod table;
#[cfg(test)]
mod tests;
mod visit;

use std::borrow::Cow;

use crate::evidence::Evidence;
use json::is_json_document;
use patterns::{looks_random, Hit, Kind, Patterns, ID_MIN, TOKEN_MIN};
use table::{could_be_stand_in, Table};
use visit::Strings;

/// Pseudonymises identifiers consistently across everything it is given.
pub struct Redactor {
    /// None only if a built-in pattern failed to compile (a test proves they do): then every non-empty string is
    /// replaced wholesale, so nothing leaks.
    patterns: Option<Patterns>,
    table: Table,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Self {
        Redactor {
            patterns: Patterns::new(),
            table: Table::default(),
        }
    }

    /// Redacts every string in the evidence (all fields: messages, ARNs, template bodies, policy contents, source
    /// file names, coverage notes...).
    pub fn evidence(&mut self, e: &mut Evidence) {
        e.strings(&mut |s| self.reserve(s));
        e.strings(&mut |s| {
            let redacted = match self.apply(s) {
                Cow::Owned(r) => Some(r),
                Cow::Borrowed(_) => None,
            };
            if let Some(r) = redacted {
                *s = r;
            }
        });
    }

    /// Redacts one free text (used for anything else the caller prints).
    pub fn text(&mut self, s: &str) -> String {
        self.reserve(s);
        self.apply(s).into_owned()
    }

    /// How many distinct values of each kind were replaced (for a one-line stderr summary), e.g.
    /// `[("account id", 5), ("request id", 3)]`.
    pub fn summary(&self) -> Vec<(&'static str, usize)> {
        let mut out: Vec<(&'static str, usize)> = Vec::new();
        for k in Kind::ALL {
            let n = self.table.series[k as usize].map.len();
            match out.iter_mut().find(|(label, _)| *label == k.label()) {
                Some((_, total)) => *total += n,
                None => out.push((k.label(), n)),
            }
        }
        out.retain(|&(_, n)| n > 0);
        out
    }

    /// Remember every candidate value of `s`, so no stand-in equals one.
    fn reserve(&mut self, s: &str) {
        let Some(p) = &self.patterns else { return };
        if s.len() < ID_MIN {
            return;
        }
        for m in p.ids.find_iter(s) {
            let x = m.as_str();
            // Only the value counts: after a label's separator, after an organization id's context character.
            let v = match Hit::of(x) {
                Hit::Label { value: i } | Hit::Org { id: i } => &x[i..],
                _ => x,
            };
            if could_be_stand_in(v) && !self.table.reserved.contains(v) {
                self.table.reserved.insert(v.to_owned());
            }
        }
    }

    /// The redacted text; borrowed (no allocation) when there is nothing to replace.
    fn apply<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        if self.patterns.is_some() && s.len() >= ID_MIN && is_json_document(s) {
            if let Some(r) = self.apply_json(s) {
                return r.map_or(Cow::Borrowed(s), Cow::Owned);
            }
        }
        let Some(p) = &self.patterns else {
            return if s.is_empty() {
                Cow::Borrowed(s)
            } else {
                Cow::Owned("<redacted>".into())
            };
        };
        if s.len() < ID_MIN {
            return Cow::Borrowed(s);
        }
        let t = &mut self.table;
        // Identifiers first, then long tokens: a labelled value (an extended request id) is named as what it is,
        // and a long run that is not random (a path) has had the ids inside it replaced.
        let ids = splice(
            s,
            p.ids
                .find_iter(s)
                .filter_map(|m| t.replacement(s, m.start(), m.end())),
        );
        let tokens = |s: &str, t: &mut Table| {
            // Most strings are short: skip the regex call, which costs more than the check.
            if s.len() < TOKEN_MIN {
                return None;
            }
            splice(
                s,
                p.tokens
                    .find_iter(s)
                    .filter(|m| looks_random(m.as_str()))
                    .map(|m| (m.start(), m.end(), t.pseudonym(Kind::Token, m.as_str(), ""))),
            )
        };
        match ids {
            Some(r) => Cow::Owned(tokens(&r, t).unwrap_or(r)),
            None => tokens(s, t).map_or(Cow::Borrowed(s), Cow::Owned),
        }
    }
}

/// Replace the (ascending, disjoint) spans of `s`; None when there is none, so unchanged text is not copied.
pub(super) fn splice(
    s: &str,
    spans: impl Iterator<Item = (usize, usize, String)>,
) -> Option<String> {
    let mut out: Option<String> = None;
    let mut last = 0;
    for (start, end, rep) in spans {
        let o = out.get_or_insert_with(|| String::with_capacity(s.len()));
        o.push_str(&s[last..start]);
        o.push_str(&rep);
        last = end;
    }
    let mut o = out?;
    o.push_str(&s[last..]);
    Some(o)
}
