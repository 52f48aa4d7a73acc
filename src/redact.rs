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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::evidence::{
    AccountPath, AutomationExecution, AutomationStep, CoverageNote, Evidence, Operation,
    OperationResult, OrgPolicy, Organization, Parameter, QuickSetupManager, QuickSetupStatus,
    SourceRef, Stack, StackEvent, StackInstance, StackSet,
};

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

impl Redactor {
    /// A JSON document held in a string (a policy's content, a JSON template): redacted token by token so it stays
    /// a JSON document. A string token is redacted as text (and re-encoded when it changed; a labelled key's value
    /// as that label's value); a 12-digit run in a number becomes a stand-in that is still a number (`9…` for
    /// `0…`). Some(None) when nothing changed; None when a token does not decode (not expected of a document
    /// that parsed: the caller then redacts it as plain text).
    fn apply_json(&mut self, s: &str) -> Option<Option<String>> {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut changed = false;
        // The last object key, while its value is being read.
        let mut key: Option<String> = None;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    let end = string_end(b, i);
                    let raw = &s[i..end];
                    let text: String = serde_json::from_str(raw).ok()?;
                    let is_key = b[end..]
                        .iter()
                        .find(|c| !c.is_ascii_whitespace())
                        .is_some_and(|&c| c == b':');
                    let redacted = match key.take() {
                        Some(k) if !is_key && self.is_label(&k) => {
                            self.table.labelled(&k, &text).map(Cow::Owned)
                        }
                        _ => None,
                    }
                    .unwrap_or_else(|| self.apply(&text));
                    if is_key {
                        key = Some(text.clone());
                    }
                    match redacted {
                        Cow::Owned(r) if r != text => {
                            out.push_str(&serde_json::to_string(&r).ok()?);
                            changed = true;
                        }
                        _ => out.push_str(raw),
                    }
                    i = end;
                }
                c if c == b'-' || c.is_ascii_digit() => {
                    let end = b[i..]
                        .iter()
                        .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .map_or(b.len(), |n| i + n);
                    let number = &s[i..end];
                    let mut last = 0;
                    for (a, z) in digit_runs(number).filter(|(a, z)| z - a == 12) {
                        out.push_str(&number[last..a]);
                        out.push_str(&numeric(&self.table.account(&number[a..z])));
                        last = z;
                        changed = true;
                    }
                    out.push_str(&number[last..]);
                    key = None;
                    i = end;
                }
                c => {
                    if c == b',' || c == b'{' || c == b'[' {
                        key = None;
                    }
                    // Structure, blanks, true/false/null: ASCII, copied as is.
                    let end = b[i..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'-' || c.is_ascii_digit())
                        .map_or(b.len(), |n| i + n);
                    out.push_str(&s[i..end]);
                    i = end;
                }
            }
        }
        Some(changed.then_some(out))
    }

    fn is_label(&self, key: &str) -> bool {
        self.patterns
            .as_ref()
            .is_some_and(|p| p.label_key.is_match(key))
    }
}

/// Whether a string holds a whole JSON object or array (an embedded document, not a message that quotes one).
fn is_json_document(s: &str) -> bool {
    let t = s.trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

/// The end (exclusive) of the JSON string token starting at the quote `b[start]`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// An account stand-in as a JSON number: a number cannot start with `0`.
fn numeric(stand_in: &str) -> String {
    match stand_in.strip_prefix('0') {
        Some(rest) => format!("9{rest}"),
        None => stand_in.to_owned(),
    }
}

/// Replace the (ascending, disjoint) spans of `s`; None when there is none, so unchanged text is not copied.
fn splice(s: &str, spans: impl Iterator<Item = (usize, usize, String)>) -> Option<String> {
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

/// The shortest match of `Patterns::ids` (`r-ab12`), and of `Patterns::tokens`.
const ID_MIN: usize = 6;
const TOKEN_MIN: usize = 40;

struct Patterns {
    /// Every identifier; the named groups document the alternatives (and a test checks `Hit::of` against them).
    ids: Regex,
    /// Long base64-ish runs, judged by `looks_random`.
    tokens: Regex,
    /// A JSON object key that labels its value (`"NextToken": "…"`), as the `lbl` alternative of `ids` does in text.
    label_key: Regex,
}

impl Patterns {
    fn new() -> Option<Self> {
        const HEX: &str = "[0-9a-fA-F]";
        const LABELS: &str = r"extended[ _-]?request[ _-]?id|host[ _-]?id|request[ _-]?id|(?:request|next|session|security|client|continuation)[ _-]?token|secret[ _-]?access[ _-]?key";
        let ids = [
            // A label and its value; `"?` lets JSON (`"NextToken": "..."`) through.
            format!(r#"(?i:(?P<lbl>{LABELS}))"?[ \t]*[:=][ \t]*"?(?P<lv>[A-Za-z0-9+/=_-]+(?:\.[A-Za-z0-9+/=_-]+)*)"#),
            r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})".to_owned(),
            format!("(?P<uuid>{HEX}{{8}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{12}})"),
            format!(r"(?-u:\b)(?P<key>(?:{})[A-Z0-9]{{16}})(?-u:\b)", KEY_PREFIXES.join("|")),
            format!("(?P<hex>{HEX}{{32,}})"),
            // Organization ids need a non-alphanumeric character (or the start) before them, so that `r-` in
            // `error-prone` is not one; no lookbehind in `regex`, so that character is matched outside the group.
            // Upper bounds are checked in code, so a too-long run is rejected whole rather than cut.
            r"(?:^|[^A-Za-z0-9])(?:(?P<org>o-[a-z0-9]{10,})|(?P<ou>ou-(?P<our>[a-z0-9]{4,})-[a-z0-9]{8,})|(?P<root>r-[a-z0-9]{4,})|(?P<pol>p-[a-z0-9]{8,}))".to_owned(),
            // Account ids: runs of 12 or more digits, of which only exactly 12 are replaced. A match always starts
            // at the start of its run (the leftmost position), so the run is maximal.
            r"(?P<acct>[0-9]{12,})".to_owned(),
        ]
        .join("|");
        Some(Patterns {
            ids: Regex::new(&ids).ok()?,
            tokens: Regex::new(&format!("[A-Za-z0-9+/=]{{{TOKEN_MIN},}}")).ok()?,
            label_key: Regex::new(&format!("^(?i:{LABELS})$")).ok()?,
        })
    }
}

/// The kinds of value replaced. Each has its own numbering; the summary adds up kinds with the same label.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Account,
    Uuid,
    RequestId,
    HexId,
    Token,
    AccessKey,
    Org,
    Root,
    Ou,
    Policy,
    Email,
}

impl Kind {
    const ALL: [Kind; 11] = [
        Kind::Account,
        Kind::Uuid,
        Kind::RequestId,
        Kind::HexId,
        Kind::Token,
        Kind::AccessKey,
        Kind::Org,
        Kind::Root,
        Kind::Ou,
        Kind::Policy,
        Kind::Email,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::Account => "account id",
            Kind::Uuid => "id",
            Kind::RequestId | Kind::HexId => "request id",
            Kind::Token => "token",
            Kind::AccessKey => "access key id",
            Kind::Org | Kind::Root | Kind::Ou | Kind::Policy => "organization id",
            Kind::Email => "email address",
        }
    }

    /// The n-th stand-in. `hint`: the original for hex ids (its length) and access keys (its prefix), the root
    /// part's stand-in for OUs.
    fn make(self, n: u64, hint: &str) -> String {
        match self {
            Kind::Account => format!("{n:012}"),
            Kind::Uuid => format!("00000000-0000-4000-8000-{n:012}"),
            Kind::RequestId => format!("<request-id-{n}>"),
            Kind::HexId => {
                // Padded by hand: a format width must fit in 16 bits, and a hex run can be longer.
                let digits = format!("{n:x}");
                format!(
                    "{}{digits}",
                    "0".repeat(hint.len().saturating_sub(digits.len()))
                )
            }
            Kind::Token => format!("<token-{n}>"),
            Kind::AccessKey => format!("{}REDACTED{n:08}", hint.get(..4).unwrap_or("AKIA")),
            Kind::Org => format!("o-{n:010}"),
            Kind::Root => format!("r-{n:04}"),
            Kind::Ou => format!("ou-{hint}-{n:08}"),
            Kind::Policy => format!("p-{n:08}"),
            Kind::Email => format!("user-{n}@example.com"),
        }
    }
}

/// Which alternative of `Patterns::ids` matched, told apart by the shape of the match: they have distinct shapes,
/// and this is several times faster than capture groups (the test `shapes_agree_with_groups` checks they agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hit {
    /// A label; the value starts at this offset.
    Label {
        value: usize,
    },
    Email,
    Uuid,
    Key,
    Hex,
    /// An organization id, starting at this offset (after the context character, if any).
    Org {
        id: usize,
    },
    Digits,
}

impl Hit {
    fn of(x: &str) -> Hit {
        let b = x.as_bytes();
        if x.contains('@') {
            Hit::Email
        } else if !b.first().is_some_and(u8::is_ascii_alphanumeric) {
            // The context character before the id may be any character, several bytes long in UTF-8.
            Hit::Org {
                id: x.chars().next().map_or(1, char::len_utf8),
            }
        } else if ["o-", "ou-", "r-", "p-"].iter().any(|p| x.starts_with(p)) {
            Hit::Org { id: 0 } // at the start of the text
        } else if crate::ids::is_uuid(x) {
            Hit::Uuid
        } else if b.len() >= 32 && b.iter().all(u8::is_ascii_hexdigit) {
            Hit::Hex
        } else if b.iter().all(u8::is_ascii_digit) {
            Hit::Digits
        } else if b.len() == 20
            && KEY_PREFIXES.iter().any(|p| x.starts_with(p))
            && b.iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            Hit::Key
        } else {
            // Labels hold neither `:` nor `=`: the value follows the first one, and blanks and a quote.
            let sep = x.find([':', '=']).map_or(0, |i| i + 1);
            let skip = x[sep..]
                .find(|c| !matches!(c, ' ' | '\t' | '"'))
                .unwrap_or(0);
            Hit::Label { value: sep + skip }
        }
    }
}

/// Prefixes of access key ids and other IAM unique ids (`AROA…:session` names a role).
const KEY_PREFIXES: [&str; 11] = [
    "AKIA", "ASIA", "AROA", "AIDA", "AGPA", "ANPA", "ANVA", "AIPA", "APKA", "ABIA", "ACCA",
];

#[derive(Default)]
struct Series {
    /// Original → stand-in.
    map: HashMap<String, String>,
    next: u64,
}

#[derive(Default)]
struct Table {
    series: [Series; Kind::ALL.len()],
    /// Candidate values seen in the input: never handed out as stand-ins.
    reserved: HashSet<String>,
}

impl Table {
    fn pseudonym(&mut self, kind: Kind, original: &str, hint: &str) -> String {
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
    fn replacement(&mut self, s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
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
    fn labelled(&mut self, label: &str, v: &str) -> Option<String> {
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
    fn uuid(&mut self, x: &str) -> String {
        if x.bytes().any(|b| b.is_ascii_uppercase()) {
            self.pseudonym(Kind::Uuid, &x.to_ascii_lowercase(), "")
        } else {
            self.pseudonym(Kind::Uuid, x, "")
        }
    }

    fn account(&mut self, a: &str) -> String {
        self.pseudonym(Kind::Account, a, "")
    }
}

/// Whether `v` has the form of a stand-in (`Kind::make`): only those can collide, so only those are reserved
/// (131k fewer allocations for a 10k-account organization). Numbered stand-ins start with `0000` until the
/// 10^8th value of a kind, far beyond any input; `<…>` stand-ins cannot occur as values at all.
fn could_be_stand_in(v: &str) -> bool {
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

/// Maximal runs of ASCII digits: (start, end).
fn digit_runs(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && !b[i].is_ascii_digit() {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i > start).then_some((start, i))
    })
}

/// A long base64-ish run is a token when it looks random: it mixes letters and digits, and changes character
/// class (upper, lower, digit, symbol) between at least half of its neighbouring characters (random base64 about
/// 65%). `CamelCase` identifiers, CDK logical ids with a hash suffix (~40%) and paths change class far less.
fn looks_random(s: &str) -> bool {
    let class = |b: u8| match b {
        b'A'..=b'Z' => 0,
        b'a'..=b'z' => 1,
        b'0'..=b'9' => 2,
        _ => 3,
    };
    let b = s.as_bytes();
    let changes = b.windows(2).filter(|w| class(w[0]) != class(w[1])).count();
    b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_alphabetic)
        && changes * 2 >= b.len().saturating_sub(1)
}

/// Visits every string of an evidence record.
trait Strings {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String));
}

impl Strings for String {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        f(self)
    }
}

impl<T: Strings> Strings for Option<T> {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        if let Some(x) = self {
            x.strings(f)
        }
    }
}

impl<T: Strings> Strings for Vec<T> {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        for x in self {
            x.strings(f)
        }
    }
}

/// Timestamps and counts name nothing.
impl Strings for DateTime<Utc> {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

impl Strings for u64 {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

/// Field by field rather than through `serde_json::Value`: nothing to fail on the way back, no copy of unchanged
/// strings, and the patterns list every field without `..`, so a field added to the evidence model does not
/// compile until it is listed here (and so redacted).
macro_rules! every_field {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Strings for $ty {
            fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
                let $ty { $($field),* } = self;
                $($field.strings(f);)*
            }
        }
    )*};
}

every_field! {
    Evidence {
        stack_sets, operations, operation_results, stack_instances, stacks, stack_events, policies, coverage,
        organization, account_paths, quick_setup, automation_executions,
    }
    SourceRef { file, pointer }
    StackSet {
        name, id, status, permission_model, description, administration_role_arn, execution_role_name,
        template_body, parameters, source,
    }
    Parameter { key, value }
    Operation { stack_set, operation_id, action, status, status_reason, created, ended, failed_instances, source }
    OperationResult {
        stack_set, operation_id, account, region, status, status_reason, account_gate_status,
        account_gate_reason, organizational_unit, source,
    }
    StackInstance {
        stack_set, account, region, stack_id, status, detailed_status, status_reason, last_operation_id,
        organizational_unit, source,
    }
    Stack { stack_id, stack_name, stack_set, account, region, status, status_reason, created, parent_id, source }
    StackEvent {
        stack_id, stack_name, stack_set, account, region, event_id, logical_id, physical_id, resource_type,
        timestamp, status, status_reason, stack_operation_id, source,
    }
    OrgPolicy { id, arn, name, policy_type, content, targets, source }
    CoverageNote { scope, reason }
    Organization { id, management_account }
    AccountPath { account, parents }
    QuickSetupManager { manager_arn, name, definition_types, statuses, source }
    QuickSetupStatus { status_type, status, message, last_updated }
    AutomationExecution { execution_id, document_name, status, started, failure_message, failed_steps, source }
    AutomationStep { name, action, status, failure_message }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Catalog;
    use std::collections::BTreeSet;

    const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/samples/quicksetup-scp-deny");

    fn sample() -> Evidence {
        crate::collect::load_paths(&[SAMPLE.into()])
            .expect("sample loads")
            .evidence
    }

    fn json(e: &Evidence) -> String {
        serde_json::to_string(e).expect("evidence serialises")
    }

    fn redacted(e: &Evidence) -> (Evidence, Redactor) {
        let mut r = Redactor::new();
        let mut e = e.clone();
        r.evidence(&mut e);
        (e, r)
    }

    /// Every maximal 12-digit run outside a UUID (whose last group can be 12 digits).
    fn accounts(s: &str) -> BTreeSet<String> {
        let uuid = Regex::new(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        )
        .unwrap();
        let s = &*uuid.replace_all(s, "<uuid>");
        digit_runs(s)
            .filter(|(a, b)| b - a == 12)
            .map(|(a, b)| s[a..b].to_owned())
            .collect()
    }

    fn uuids(s: &str) -> BTreeSet<String> {
        let re = Regex::new(
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        )
        .unwrap();
        re.find_iter(s).map(|m| m.as_str().to_owned()).collect()
    }

    fn org_ids(s: &str) -> BTreeSet<String> {
        let re = Regex::new(r"(?:^|[^A-Za-z0-9])(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|o-[a-z0-9]{10,32}|r-[a-z0-9]{4,32}|p-[a-z0-9]{8,128})").unwrap();
        re.captures_iter(s).map(|c| c[1].to_owned()).collect()
    }

    #[test]
    fn built_in_patterns_compile() {
        assert!(Redactor::new().patterns.is_some());
    }

    #[test]
    fn reference_sample_leaks_no_id() {
        let original = sample();
        let before = json(&original);
        let (e, r) = redacted(&original);
        let after = json(&e);
        let (accts, ids, orgs) = (accounts(&before), uuids(&before), org_ids(&before));
        for a in [
            "121212121212",
            "232323232323",
            "565656565656",
            "909090909090",
        ] {
            assert!(accts.contains(a), "{a} is in the sample");
        }
        assert!(ids.len() >= 10, "{ids:?}");
        for o in ["o-a1b2c3d4e5", "r-ab12", "p-8x2k4q7m"] {
            assert!(orgs.contains(o), "{o} is in the sample: {orgs:?}");
        }
        for v in accts.iter().chain(&ids).chain(&orgs) {
            assert!(!after.contains(v.as_str()), "{v} survives redaction");
            assert!(
                !after.contains(&v.to_ascii_lowercase()),
                "{v} survives redaction"
            );
        }
        // Shapes survive: as many distinct accounts, UUIDs and org ids as before.
        assert_eq!(accounts(&after).len(), accts.len());
        assert_eq!(uuids(&after).len(), ids.len());
        assert_eq!(org_ids(&after).len(), orgs.len());
        let summary: HashMap<_, _> = r.summary().into_iter().collect();
        assert_eq!(summary.get("account id"), Some(&accts.len()));
        assert_eq!(summary.get("id"), Some(&ids.len()));
        assert_eq!(summary.get("organization id"), Some(&orgs.len()));
    }

    #[test]
    fn one_account_one_stand_in_in_arns_bucket_names_and_messages() {
        let (e, mut r) = redacted(&sample());
        let p = r.text("121212121212");
        assert_eq!(p.len(), 12);
        assert!(p.bytes().all(|b| b.is_ascii_digit()) && p != "121212121212");
        let da = |s: &Option<String>| s.as_deref().is_some_and(|s| s.contains("-DA-"));
        let ev: Vec<_> = e.stack_events.iter().filter(|x| da(&x.stack_set)).collect();
        assert!(ev.iter().all(|x| x.account.as_deref() == Some(p.as_str())));
        let arn = format!("arn:aws:cloudformation:ap-northeast-1:{p}:stack/");
        assert!(ev.iter().all(|x| x.stack_id.starts_with(&arn)));
        assert!(ev.iter().any(|x| x.physical_id.as_deref()
            == Some(&*format!(
                "do-not-delete-ssm-diagnosis-{p}-ap-northeast-1-abab"
            ))));
        assert!(ev
            .iter()
            .any(|x| x.status_reason.as_deref().is_some_and(|m| {
                m.contains(&format!(
                    "arn:aws:sts::{p}:assumed-role/stacksets-exec-1234abcd/efgh5678"
                )) && m.contains(&format!(
                    "arn:aws:s3:::do-not-delete-ssm-diagnosis-{p}-ap-northeast-1"
                ))
            })));
        // The TA stack set names the DA account in its messages, other accounts in its records.
        let ta_msgs = e
            .operation_results
            .iter()
            .filter_map(|x| x.status_reason.as_deref());
        assert!(ta_msgs.into_iter().any(|m| m.contains(&format!(
            "arn:aws:iam::{p}:role/ManagedInstance-CrossAccountManagementRole"
        ))));
        assert!(e.stack_instances.iter().any(|i| i.account == p));
        assert!(e
            .stack_events
            .iter()
            .any(|x| x.source.as_ref().is_some_and(|s| s
                .file
                .contains(&format!("describe-stack-events-{p}-ap-northeast-1")))));
        // Stack names keep `StackSet-<name>-<uuid>` and agree with their stack ids.
        for x in &e.stack_events {
            assert!(crate::evidence::stack_set_from_stack_name(&x.stack_name).is_some());
            assert!(x.stack_id.contains(&x.stack_name));
        }
    }

    #[test]
    fn redaction_is_deterministic() {
        let e = sample();
        let (a, ra) = redacted(&e);
        let (b, rb) = redacted(&e);
        assert_eq!(json(&a), json(&b));
        assert_eq!(ra.summary(), rb.summary());
    }

    /// Root causes (rule, category, how many failures each explains), every failure's chain length, link count.
    type Shape = (Vec<(Option<String>, String, usize)>, Vec<usize>, usize);

    fn shape(d: &crate::trace::Diagnosis) -> Shape {
        let mut roots: Vec<_> = d
            .root_causes
            .iter()
            .map(|r| {
                let f = &d.failures[r.failure];
                (
                    f.class.rule.clone(),
                    f.class.category.to_string(),
                    r.explains.len(),
                )
            })
            .collect();
        roots.sort();
        // Every failure's chain length to its root cause.
        let mut depths: Vec<usize> = (0..d.failures.len())
            .map(|mut i| {
                let mut n = 0;
                while let Some((j, _)) = &d.caused_by[i] {
                    i = j.index();
                    n += 1;
                    assert!(n <= d.failures.len(), "cycle");
                }
                n
            })
            .collect();
        depths.sort();
        (roots, depths, d.links.len())
    }

    #[test]
    fn diagnosis_of_redacted_evidence_is_the_same() {
        let catalog = Catalog::builtin().expect("built-in catalog loads");
        let e = sample();
        let (red, mut r) = redacted(&e);
        let d = crate::diagnose(&e, &catalog, Vec::new());
        let dr = crate::diagnose(&red, &catalog, Vec::new());
        assert_eq!(d.root_causes.len(), 1);
        assert_eq!(shape(&d), shape(&dr));
        assert!(dr.all_explained());
        let f = &dr.failures[dr.root_causes[0].failure];
        let p = r.text("121212121212");
        assert_eq!(f.account.as_deref(), Some(p.as_str()));
        assert_eq!(
            f.class.fields.get("principal").map(String::as_str),
            Some(&*format!(
                "arn:aws:sts::{p}:assumed-role/stacksets-exec-1234abcd/efgh5678"
            ))
        );
        // The fix names the redacted account, not the real one.
        let rem = format!("{:?}", dr.root_causes[0].remediation);
        assert!(rem.contains(&p) && !rem.contains("121212121212"), "{rem}");
    }

    /// Policies and JSON templates holding 12-digit numbers: redaction keeps them documents, so the proven fix
    /// and the template-learned link survive.
    #[test]
    fn diagnosis_of_redacted_policies_and_json_templates_is_the_same() {
        let catalog = Catalog::builtin().expect("built-in catalog loads");
        let mut e = sample();
        let scp = &mut e.policies[0];
        let mut doc: serde_json::Value = serde_json::from_str(&scp.content).expect("SCP is JSON");
        doc["Statement"]
            .as_array_mut()
            .expect("statements")
            .push(serde_json::json!({
                "Sid": "DenyHugeListings", "Effect": "Deny", "Action": "s3:ListBucket", "Resource": "*",
                "Condition": {"NumericGreaterThan": {"s3:max-keys": 123456789012u64}}
            }));
        scp.content = serde_json::to_string_pretty(&doc).expect("serialises");
        let da = e
            .stack_sets
            .iter_mut()
            .find(|s| s.name.contains("-DA-"))
            .expect("DA stack set");
        da.template_body = Some(
            serde_json::json!({
                "AWSTemplateFormatVersion": "2010-09-09",
                "Metadata": {"OwnerAccount": 121212121212u64, "Budget": 100000000000u64},
                "Resources": {
                    "ManagedInstanceCrossAccountManagementRole": {
                        "Type": "AWS::IAM::Role",
                        "Properties": {
                            "RoleName": "ManagedInstance-CrossAccountManagementRole",
                            "MaxSessionDuration": 3600,
                            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}
                        }
                    }
                }
            })
            .to_string(),
        );
        let (red, _) = redacted(&e);
        for p in &red.policies {
            serde_json::from_str::<serde_json::Value>(&p.content).expect("redacted SCP is JSON");
        }
        let body = red
            .stack_sets
            .iter()
            .find_map(|s| {
                s.template_body
                    .as_deref()
                    .filter(|_| s.name.contains("-DA-"))
            })
            .expect("DA template");
        serde_json::from_str::<serde_json::Value>(body).expect("redacted template is JSON");
        assert!(!body.contains("121212121212") && !body.contains("100000000000"));
        let d = crate::diagnose(&e, &catalog, Vec::new());
        let dr = crate::diagnose(&red, &catalog, Vec::new());
        assert_eq!(shape(&d), shape(&dr));
        let proven = |d: &crate::trace::Diagnosis| {
            let ex = d.root_causes[0].remediation.scp_exemption.as_ref();
            ex.map(|x| (x.proven, x.statement.as_ref().map(|s| s.statement.clone())))
        };
        assert_eq!(
            proven(&d),
            Some((true, Some("DenyS3PublicAccessBlockChanges".into())))
        );
        assert_eq!(proven(&d), proven(&dr));
        assert!(d
            .links
            .iter()
            .any(|(_, _, l)| l.kind == crate::vocabulary::LinkKind::TemplateReference));
    }

    #[test]
    fn stand_ins_never_equal_input_values() {
        let input = "a 000000000001 b 121212121212 c 00000000-0000-4000-8000-000000000001 d \
                     3f2e1d0c-9b8a-4f6e-9d4c-3b2a1f0e9d8c e r-0001 f r-ab12";
        let out = Redactor::new().text(input);
        for v in [
            "000000000001",
            "121212121212",
            "-000000000001",
            "3f2e1d0c",
            "r-0001 ",
            "r-ab12",
        ] {
            assert!(!out.contains(v), "{v} in {out}");
        }
        assert_eq!(
            out,
            "a 000000000002 b 000000000003 c 00000000-0000-4000-8000-000000000002 d \
             00000000-0000-4000-8000-000000000003 e r-0002 f r-0003"
        );
        // Redacting redacted evidence again: no stand-in of the second run is a value of the first.
        let (once, _) = redacted(&sample());
        let (twice, _) = redacted(&once);
        let (j1, j2) = (json(&once), json(&twice));
        assert!(accounts(&j1).is_disjoint(&accounts(&j2)));
        assert!(uuids(&j1).is_disjoint(&uuids(&j2)));
        assert!(org_ids(&j1).is_disjoint(&org_ids(&j2)));
    }

    /// (input, redacted by a fresh `Redactor`).
    const CASES: &[(&str, &str)] = &[
        ("1234567890123", "1234567890123"),
        ("12345678901", "12345678901"),
        ("arn:aws:iam::123456789012:role/x", "arn:aws:iam::000000000001:role/x"),
        ("aws-quicksetup-diag-121212121212-ap-northeast-1", "aws-quicksetup-diag-000000000001-ap-northeast-1"),
        ("id_123456789012_x abc234567890123def", "id_000000000001_x abc000000000002def"),
        ("123456789012:234567890123", "000000000001:000000000002"),
        ("ou-ab12-cdefgh34", "ou-0001-00000001"),
        ("root r-ab12, ou ou-ab12-cdefgh34", "root r-0001, ou ou-0001-00000001"),
        (
            "arn:aws:organizations::909090909090:policy/o-a1b2c3d4e5/service_control_policy/p-8x2k4q7m",
            "arn:aws:organizations::000000000001:policy/o-0000000001/service_control_policy/p-00000001",
        ),
        ("\"o-a1b2c3d4e5\"", "\"o-0000000001\""),
        ("error-prone cluster-name do-not-delete p-FullAWSAccess o-short", "error-prone cluster-name do-not-delete p-FullAWSAccess o-short"),
        ("xo-a1b2c3d4e5 r-ab12X", "xo-a1b2c3d4e5 r-ab12X"),
        ("r-121212121212X", "r-000000000001X"),
        ("StackSet-x-157876B0-3EF1-478F-ACCA-F901EE75CACA / 157876b0-3ef1-478f-acca-f901ee75caca",
         "StackSet-x-00000000-0000-4000-8000-000000000001 / 00000000-0000-4000-8000-000000000001"),
        (
            "(Service: S3, Status Code: 403, Request ID: 5Y2H7K9Q1W3E5R7T, Extended Request ID: abc/def/ghi=)",
            "(Service: S3, Status Code: 403, Request ID: <request-id-1>, Extended Request ID: <request-id-2>)",
        ),
        ("(RequestId: 9b1c)", "(RequestId: <request-id-1>)"),
        ("Request ID: XXXXXXXX, Extended Request ID: IT/XXX1111/XXXXXXX)", "Request ID: XXXXXXXX, Extended Request ID: <request-id-1>)"),
        ("(RequestToken: xxxxxxxxxxxxxxxxxx, HandlerErrorCode: InvalidRequest)", "(RequestToken: xxxxxxxxxxxxxxxxxx, HandlerErrorCode: InvalidRequest)"),
        (
            "(RequestToken: 6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f, HandlerErrorCode: X)",
            "(RequestToken: 00000000-0000-4000-8000-000000000001, HandlerErrorCode: X)",
        ),
        ("{\"NextToken\": \"AAEAAf3x\"}", "{\"NextToken\": \"<token-1>\"}"),
        ("key AKIAIOSFODNN7EXAMPLE, role AROA3XFRBF535PLBIFPI:s", "key AKIAREDACTED00000001, role AROAREDACTED00000002:s"),
        ("from bob.smith+x@corp.example.org.", "from user-1@example.com."),
        ("req 0123456789abcdef0123456789ABCDEF done", "req 00000000000000000000000000000001 done"),
        ("LambdaFunctionServiceRoleDefaultPolicy5A2B3C4D ManagedInstanceCrossAccountManagementRole",
         "LambdaFunctionServiceRoleDefaultPolicy5A2B3C4D ManagedInstanceCrossAccountManagementRole"),
        ("policy/AWSSystemsManagerEnableExplorerExecutionPolicy", "policy/AWSSystemsManagerEnableExplorerExecutionPolicy"),
        ("2025-03-10T05:11:14.701Z Status Code: 403", "2025-03-10T05:11:14.701Z Status Code: 403"),
    ];

    #[test]
    fn edge_cases() {
        let token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDk5+8fTz0a1b2c3d4e5f6g7h8i9j0kLmNoPqRsTuVwXyZ=";
        for (input, want) in CASES {
            assert_eq!(&Redactor::new().text(input), want, "input: {input}");
        }
        let out = Redactor::new().text(&format!("token {token} end"));
        assert_eq!(out, "token <token-1> end");
        assert!(looks_random("Zk3q/8Hb+Tn2Lw9Vx0Rm4Jc7Yp1Ds6Fg5Ah8Ue2K"));
        // Labelled, even a non-random one goes.
        assert_eq!(
            Redactor::new().text("SecretAccessKey=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "SecretAccessKey=<token-1>"
        );
    }

    #[test]
    fn shapes_agree_with_groups() {
        let p = Patterns::new().expect("patterns compile");
        let corpus =
            CASES.iter().map(|(i, _)| *i).collect::<Vec<_>>().join("\n") + &json(&sample());
        let mut seen = HashSet::new();
        for c in p.ids.captures_iter(&corpus) {
            let m = c.get(0).expect("group 0");
            let at = |g: &str| c.name(g).map(|g| g.start() - m.start());
            let want = if let Some(value) = at("lv") {
                Hit::Label { value }
            } else if c.name("email").is_some() {
                Hit::Email
            } else if c.name("uuid").is_some() {
                Hit::Uuid
            } else if c.name("key").is_some() {
                Hit::Key
            } else if c.name("hex").is_some() {
                Hit::Hex
            } else if let Some(id) = ["org", "ou", "root", "pol"].iter().find_map(|g| at(g)) {
                Hit::Org { id }
            } else {
                assert!(c.name("acct").is_some());
                Hit::Digits
            };
            assert_eq!(Hit::of(m.as_str()), want, "{:?}", m.as_str());
            seen.insert(std::mem::discriminant(&want));
        }
        assert_eq!(seen.len(), 7, "every alternative is exercised");
    }

    /// A multi-byte character just before an organization id must not be split (`--redact` exited 101 on these).
    #[test]
    fn non_ascii_before_an_organization_id_does_not_panic() {
        for lead in ["\u{a0}", "é", "\u{201c}", "拒否", "\u{1F600}"] {
            let input = format!("Denied by SCP{lead}p-12345678 in o-a1b2c3d4e5");
            let out = Redactor::new().text(&input);
            assert_eq!(
                out,
                format!("Denied by SCP{lead}p-00000001 in o-0000000001"),
                "{input}"
            );
        }
    }

    /// A hex run longer than a format width can hold (65,535) still gets a stand-in of its own length.
    #[test]
    fn hex_runs_longer_than_a_format_width_are_replaced() {
        let run = "ab".repeat(40_000);
        let out = Redactor::new().text(&format!("id {run} end"));
        let stand_in = out
            .strip_prefix("id ")
            .and_then(|o| o.strip_suffix(" end"))
            .expect("framing kept");
        assert_eq!(stand_in.len(), run.len());
        assert!(
            stand_in.ends_with('1') && stand_in.trim_end_matches('1').bytes().all(|b| b == b'0')
        );
    }

    #[test]
    fn account_after_a_url_encoded_byte_is_replaced() {
        let out = Redactor::new().text("path=a%20787878787878%2Fb and %2F232323232323");
        assert_eq!(out, "path=a%20000000000001%2Fb and %2F000000000002");
    }

    /// Embedded JSON documents (policy contents, JSON templates) stay JSON: a 12-digit number becomes a number.
    #[test]
    fn embedded_json_documents_stay_parseable() {
        let doc = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "D", "Effect": "Deny", "Action": "s3:*",
            "Resource": "*", "Condition": {"NumericGreaterThan": {"s3:max-keys": 123456789012},
            "ArnNotLike": {"aws:PrincipalARN": "arn:aws:iam::123456789012:role/x"}},
            "NextToken": "AAEAAf3x", "Note": "line\nAbC1dE2fG3hI4jK5lM6nO7pQ8rS9tU0vW1xY2zA3bC4dE5"}]}"#;
        let mut r = Redactor::new();
        let out = r.text(doc);
        let v: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert!(!out.contains("123456789012"), "{out}");
        let st = &v["Statement"][0];
        assert_eq!(
            st["Condition"]["NumericGreaterThan"]["s3:max-keys"],
            serde_json::json!(900000000001u64)
        );
        assert_eq!(
            st["Condition"]["ArnNotLike"]["aws:PrincipalARN"],
            "arn:aws:iam::000000000001:role/x"
        );
        assert_eq!(st["NextToken"], "<token-1>");
        assert_eq!(st["Note"], "line\n<token-2>");
        // Layout and key order are kept: only the changed tokens differ.
        assert_eq!(out.lines().count(), doc.lines().count());
        assert!(out.find("\"Sid\"").unwrap() < out.find("\"Effect\"").unwrap());
        // A document with nothing to replace is not copied.
        assert!(matches!(
            r.apply(r#"{"Version": "2012-10-17", "Statement": []}"#),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn nothing_to_replace_borrows() {
        let mut r = Redactor::new();
        let s = "Resource creation cancelled (Service: Iam, Status Code: 400)";
        assert!(matches!(r.apply(s), Cow::Borrowed(_)));
        assert!(r.summary().is_empty());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        const CONTEXTS: [&str; 6] = [
            "arn:aws:iam::{}:role/x",
            "do-not-delete-ssm-diagnosis-{}-us-east-1",
            "describe-stack-events-{}-eu-west-1.json",
            "User with accountId: {} is not authorized",
            "\"Account\":\"{}\"",
            "{}",
        ];

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]
            #[test]
            fn accounts_are_replaced_and_longer_runs_kept(
                acct in "[1-9][0-9]{11}",
                long in "[1-9][0-9]{12,15}",
                ctx in 0..CONTEXTS.len(),
                other in "[ -~]{0,20}",
            ) {
                let text = format!("{} {long} {other}", CONTEXTS[ctx].replace("{}", &acct));
                let mut r = Redactor::new();
                let out = r.text(&text);
                prop_assert!(!out.contains(&acct), "{} in {}", acct, out);
                prop_assert!(out.contains(&long), "{} not in {}", long, out);
                let p = r.text(&acct);
                prop_assert!(out.contains(&CONTEXTS[ctx].replace("{}", &p)), "{}", out);
                // Redacting again changes no shape: same number of 12-digit runs.
                prop_assert_eq!(super::accounts(&out).len(), super::accounts(&text).len());
            }
        }
    }
}
