//! What is recognised as an identifier: the patterns, the kinds of value and their stand-ins, and how a match is
//! told apart.

use regex::Regex;

/// The shortest match of `Patterns::ids` (`r-ab12`), and of `Patterns::tokens`.
pub(super) const ID_MIN: usize = 6;
pub(super) const TOKEN_MIN: usize = 40;

pub(super) struct Patterns {
    /// Every identifier; the named groups document the alternatives (and a test checks `Hit::of` against them).
    pub(super) ids: Regex,
    /// Long base64-ish runs, judged by `looks_random`.
    pub(super) tokens: Regex,
    /// A JSON object key that labels its value (`"NextToken": "…"`), as the `lbl` alternative of `ids` does in text.
    pub(super) label_key: Regex,
}

impl Patterns {
    pub(super) fn new() -> Option<Self> {
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
pub(super) enum Kind {
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
    pub(super) const ALL: [Kind; 11] = [
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

    pub(super) fn label(self) -> &'static str {
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
    pub(super) fn make(self, n: u64, hint: &str) -> String {
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
pub(super) enum Hit {
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
    pub(super) fn of(x: &str) -> Hit {
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
pub(super) const KEY_PREFIXES: [&str; 11] = [
    "AKIA", "ASIA", "AROA", "AIDA", "AGPA", "ANPA", "ANVA", "AIPA", "APKA", "ABIA", "ACCA",
];

/// Maximal runs of ASCII digits: (start, end).
pub(super) fn digit_runs(s: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
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
pub(super) fn looks_random(s: &str) -> bool {
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
