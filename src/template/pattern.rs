//! An identifier as far as a template knows it: literal text, the target's account, Region and partition (known
//! only once a stack instance is deployed), and `*` for what cannot be known (a generated name, a parameter with
//! no value) — docs/cross-stack-links.md#identifiers.

/// One piece of an identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    Lit(String),
    Account,
    Region,
    Partition,
    UrlSuffix,
    /// Anything: a value the template cannot tell.
    Any,
}

/// A sequence of pieces; adjacent literals are merged, and adjacent `Any` collapse into one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Pattern(Vec<Piece>);

/// Where an instance deploys, to render a pattern concretely.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub account: &'a str,
    pub region: &'a str,
    pub partition: &'a str,
}

impl Target<'_> {
    pub fn url_suffix(&self) -> &'static str {
        if self.partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }
}

impl Pattern {
    pub fn lit(s: &str) -> Pattern {
        let mut p = Pattern::default();
        p.push(Piece::Lit(s.to_owned()));
        p
    }

    pub fn any() -> Pattern {
        Pattern(vec![Piece::Any])
    }

    pub fn piece(piece: Piece) -> Pattern {
        let mut p = Pattern::default();
        p.push(piece);
        p
    }

    pub fn push(&mut self, piece: Piece) {
        match (self.0.last_mut(), piece) {
            (_, Piece::Lit(s)) if s.is_empty() => {}
            (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(&b),
            (Some(Piece::Any), Piece::Any) => {}
            (_, piece) => self.0.push(piece),
        }
    }

    pub fn append(&mut self, other: &Pattern) {
        for p in &other.0 {
            self.push(p.clone());
        }
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.0
    }

    /// The whole identifier is literal text.
    pub fn as_literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Whether any part is unknown.
    pub fn has_any(&self) -> bool {
        self.0.contains(&Piece::Any)
    }

    /// The characters the template fixes (literal text), which is what makes a match mean something.
    pub fn literal_len(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Lit(s) => s.chars().filter(|c| c.is_alphanumeric()).count(),
                _ => 0,
            })
            .sum()
    }

    /// The identifier in one target account and Region; unknown parts become `*`, and a doubled `/` (a name
    /// that starts with one, after a `/` of the ARN) collapses.
    pub fn render(&self, t: &Target<'_>) -> String {
        let mut s = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(l) => s.push_str(l),
                Piece::Account => s.push_str(t.account),
                Piece::Region => s.push_str(t.region),
                Piece::Partition => s.push_str(t.partition),
                Piece::UrlSuffix => s.push_str(t.url_suffix()),
                Piece::Any => s.push('*'),
            }
        }
        collapse_slashes(s)
    }

    /// An anchored regex for the identifier in any account and Region: the first account and Region are captured
    /// (named `account`, `region`), so a match says where the identifier lives.
    pub fn regex(&self) -> String {
        let mut r = String::from("^");
        let (mut account, mut region) = (false, false);
        let mut prev_slash = false;
        for p in &self.0 {
            match p {
                Piece::Lit(l) => {
                    let l = if prev_slash {
                        l.strip_prefix('/').unwrap_or(l)
                    } else {
                        l
                    };
                    let collapsed = collapse_slashes(l.to_owned());
                    r.push_str(&regex::escape(&collapsed));
                    prev_slash = collapsed.ends_with('/');
                    continue;
                }
                Piece::Account if !account => {
                    account = true;
                    r.push_str(r"(?P<account>\d{12})");
                }
                Piece::Account => r.push_str(r"\d{12}"),
                Piece::Region if !region => {
                    region = true;
                    r.push_str(r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)");
                }
                Piece::Region => r.push_str(r"[a-z]{2}(?:-[a-z]+)+-\d+"),
                Piece::Partition => r.push_str(r"aws(?:-[a-z]+)*"),
                Piece::UrlSuffix => r.push_str(r"amazonaws\.com(?:\.cn)?"),
                Piece::Any => r.push_str(r"\S*?"),
            }
            prev_slash = false;
        }
        r.push('$');
        r
    }

    /// Whether the identifier names the account it lives in (then a match says which account).
    pub fn names_account(&self) -> bool {
        self.0.contains(&Piece::Account)
    }

    pub fn names_region(&self) -> bool {
        self.0.contains(&Piece::Region)
    }
}

fn collapse_slashes(s: String) -> String {
    if !s.contains("//") {
        return s;
    }
    // Keep a URL's scheme separator; collapse every other doubled slash.
    let (scheme, rest) = match s.find("://") {
        Some(i) => (&s[..i + 3], &s[i + 3..]),
        None => ("", s.as_str()),
    };
    let mut out = String::from(scheme);
    let mut prev = false;
    for c in rest.chars() {
        if c == '/' && prev {
            continue;
        }
        prev = c == '/';
        out.push(c);
    }
    out
}

impl std::fmt::Display for Pattern {
    /// As a person reads it: `arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:acme-alerts`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.0 {
            match p {
                Piece::Lit(l) => f.write_str(l)?,
                Piece::Account => f.write_str("${AWS::AccountId}")?,
                Piece::Region => f.write_str("${AWS::Region}")?,
                Piece::Partition => f.write_str("${AWS::Partition}")?,
                Piece::UrlSuffix => f.write_str("${AWS::URLSuffix}")?,
                Piece::Any => f.write_str("*")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn() -> Pattern {
        let mut p = Pattern::lit("arn:");
        p.push(Piece::Partition);
        p.push(Piece::Lit(":ssm:".into()));
        p.push(Piece::Region);
        p.push(Piece::Lit(":".into()));
        p.push(Piece::Account);
        p.push(Piece::Lit(":parameter/".into()));
        p.push(Piece::Lit("/org/vpc-id".into()));
        p
    }

    #[test]
    fn render_and_regex_agree() {
        let t = Target {
            account: "111122223333",
            region: "eu-west-1",
            partition: "aws",
        };
        let p = arn();
        let s = p.render(&t);
        assert_eq!(s, "arn:aws:ssm:eu-west-1:111122223333:parameter/org/vpc-id");
        let re = regex::Regex::new(&p.regex()).unwrap();
        let c = re.captures(&s).unwrap();
        assert_eq!(&c["account"], "111122223333");
        assert_eq!(&c["region"], "eu-west-1");
        assert!(!re.is_match("arn:aws:ssm:eu-west-1:111122223333:parameter/org/other"));
        assert_eq!(
            p.to_string(),
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter//org/vpc-id"
        );
    }

    #[test]
    fn unknown_parts_are_wildcards_and_merge() {
        let mut p = Pattern::lit("app-");
        p.push(Piece::Any);
        p.push(Piece::Any);
        p.push(Piece::Lit("-role".into()));
        assert_eq!(p.pieces().len(), 3);
        assert_eq!(p.literal_len(), 7);
        let re = regex::Regex::new(&p.regex()).unwrap();
        assert!(re.is_match("app-prod-role"));
        assert!(!re.is_match("app-prod-queue"));
        assert_eq!(
            collapse_slashes("https://sqs.x//y".into()),
            "https://sqs.x/y"
        );
    }
}
