//! One pass over a message finds every candidate rule: all the rules' patterns in one automaton.

use regex::RegexSet;

use super::Rule;
use crate::error::{Error, Location};

/// Every rule's pattern in one automaton, so one pass over a message finds every candidate rule.
///
/// Two builds of the same patterns: ASCII classes (`\w`, `\d`, `\s`, `\b` and case folding over ASCII; a non-ASCII
/// character is matched by its bytes), which the lazy DFA runs tens of times faster, and Unicode-aware, used only
/// when a pattern cannot build the ASCII way. AWS messages are ASCII but for the odd name, dash or a deploy tool's
/// `❌`; on ASCII text the two agree (tested), and the ASCII semantics are the catalog's (docs/classification.md). Both get a generous lazy-DFA cache: with dozens of case-insensitive
/// patterns the default one thrashes and the set falls back to a far slower engine.
#[derive(Debug, Clone)]
pub(super) struct Prefilter {
    patterns: Vec<String>,
    /// Built on first use: only non-ASCII messages need it, and it is the slower build.
    unicode: std::sync::OnceLock<Option<RegexSet>>,
    ascii: Option<regex::bytes::RegexSet>,
}

fn build_unicode(patterns: &[String]) -> Result<RegexSet, regex::Error> {
    regex::RegexSetBuilder::new(patterns)
        .dfa_size_limit(64 << 20)
        .size_limit(64 << 20)
        .build()
}

impl Prefilter {
    pub(super) fn new<'r>(rules: impl Iterator<Item = &'r Rule>) -> Result<Prefilter, Error> {
        let patterns: Vec<String> = rules.map(|r| r.regex.as_str().to_owned()).collect();
        // A pattern that needs Unicode (a non-ASCII literal or class) cannot build in ASCII mode: then every
        // message takes the Unicode set, built now so a catalog that cannot compile together fails at load.
        let ascii = regex::bytes::RegexSetBuilder::new(&patterns)
            .unicode(false)
            .dfa_size_limit(64 << 20)
            .size_limit(64 << 20)
            .build()
            .ok();
        let unicode = std::sync::OnceLock::new();
        if ascii.is_none() {
            let set = build_unicode(&patterns).map_err(|e| Error::Rule {
                location: Location::file("<catalog>"),
                reason: format!("the rules' patterns do not compile together: {e}"),
            })?;
            let _ = unicode.set(Some(set));
        }
        Ok(Prefilter {
            patterns,
            unicode,
            ascii,
        })
    }

    fn unicode(&self) -> Option<&RegexSet> {
        self.unicode
            .get_or_init(|| build_unicode(&self.patterns).ok())
            .as_ref()
    }

    pub(super) fn matching(&self, text: &str) -> Vec<usize> {
        match &self.ascii {
            Some(a) => a.matches(text.as_bytes()).into_iter().collect(),
            _ => self
                .unicode()
                .map(|u| u.matches(text).into_iter().collect())
                .unwrap_or_default(),
        }
    }

    #[cfg(test)]
    fn both(&self, text: &str) -> (Vec<usize>, Vec<usize>) {
        let u = self
            .unicode()
            .map(|u| u.matches(text).into_iter().collect())
            .unwrap_or_default();
        let a = self
            .ascii
            .as_ref()
            .map(|a| a.matches(text.as_bytes()).into_iter().collect())
            .unwrap_or_default();
        (u, a)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{captures, Catalog};

    /// The ASCII engines must agree with the Unicode ones on every ASCII message the catalog knows.
    #[test]
    fn ascii_prefilter_agrees_with_unicode_on_ascii_text() {
        let c = Catalog::builtin().unwrap();
        assert!(c.set.ascii.is_some(), "the catalog builds in ASCII mode");
        for r in c.rules.iter().filter(|r| !r.layer.matches_codes()) {
            for ex in r.examples.iter().chain(&r.counter_examples) {
                for layer in crate::classify::unwrap::unwrap(&ex.message).layers {
                    if layer.is_ascii() {
                        let (u, a) = c.set.both(layer);
                        assert_eq!(u, a, "{}: {layer}", r.id);
                        assert_eq!(
                            r.captures(layer),
                            captures(&r.regex, layer),
                            "{}: {layer}",
                            r.id
                        );
                    }
                }
            }
        }
    }
}
