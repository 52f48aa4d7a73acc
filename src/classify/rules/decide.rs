//! Which rule decides a message: every layer's candidates, ranked by what each knows (docs/classification.md#precedence).
//!
//! A specific rule knows the wording; then come the error codes (the innermost first), the handler's code and the
//! HTTP status when they are specific; then the wording families that name a cause (`does not exist`), envelopes
//! (wrapper rules) and the wordings that say little (`must be`, `timed out`); last the codes that say little
//! (`ValidationError`, `InvalidRequest`, 400). In a tier, the innermost layer wins, then the higher
//! priority, then the smaller id, so the choice is stable.

use std::collections::BTreeMap;

use super::{clip, Catalog, MatchContext, Rule};
use crate::classify::codes::Codes;
use crate::classify::unwrap::Unwrapped;
use crate::vocabulary::{confidence, Layer};

/// What decided a classification, as reports show it: the rule id, or `error-code:X`, `handler-error-code:X`,
/// `status:N`, `wording:ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchedBy {
    Rule(String),
    Wording(String),
    ErrorCode(String),
    HandlerCode(String),
    Status(String),
}

impl std::fmt::Display for MatchedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchedBy::Rule(id) => f.write_str(id),
            MatchedBy::Wording(id) => write!(f, "wording:{id}"),
            MatchedBy::ErrorCode(c) => write!(f, "error-code:{c}"),
            MatchedBy::HandlerCode(c) => write!(f, "handler-error-code:{c}"),
            MatchedBy::Status(c) => write!(f, "status:{c}"),
        }
    }
}

/// The rule that decided, with its captures.
#[derive(Debug, Clone)]
pub struct RuleMatch<'c> {
    pub rule: &'c Rule,
    /// The layer of the unwrapped message it matched in (0 = outermost).
    pub layer: usize,
    pub captures: BTreeMap<String, String>,
    pub matched_by: MatchedBy,
    /// How much the deciding tier knows (vocabulary::confidence::class).
    pub confidence: f32,
}

/// One rule that matched somewhere in a message, before ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'m> {
    /// Index into [`Catalog::rules`].
    pub rule: usize,
    pub tier: u8,
    /// The unwrapped layer it matched in; deeper is more specific.
    pub depth: usize,
    /// The text layer, or the code, it matched.
    pub subject: &'m str,
}

/// The precedence of a rule's layer: lower decides first.
pub fn tier(rule: &Rule) -> u8 {
    match (rule.layer, rule.generic) {
        (Layer::Rule, _) => 0,
        (Layer::ErrorCode, false) => 1,
        (Layer::HandlerCode, false) => 2,
        (Layer::Status, false) => 3,
        (Layer::Wording, false) => 4,
        (Layer::Wrapper, _) => 5,
        (Layer::Wording, true) => 6,
        (Layer::ErrorCode, true) => 7,
        (Layer::HandlerCode, true) => 8,
        (Layer::Status, true) => 9,
    }
}

pub fn tier_confidence(tier: u8) -> f32 {
    use confidence::class::*;
    [
        RULE,
        ERROR_CODE,
        HANDLER_CODE,
        STATUS,
        WORDING,
        WRAPPER,
        GENERIC_WORDING,
        GENERIC_ERROR_CODE,
        GENERIC_HANDLER_CODE,
        GENERIC_STATUS,
    ][usize::from(tier)]
}

impl Catalog {
    /// Every rule that matches the message anywhere, in any layer, with the filters applied.
    pub fn candidates<'m>(
        &self,
        u: &'m Unwrapped<'m>,
        codes: &Codes<'m>,
        ctx: &MatchContext<'_>,
    ) -> Vec<Candidate<'m>> {
        let mut out = Vec::new();
        for (depth, &text) in u.layers.iter().enumerate().rev() {
            let text: &'m str = clip(text);
            for i in self.set.matching(text) {
                let rule = self.text_rules[i];
                if self.rules[rule].admits(ctx) {
                    let tier = tier(&self.rules[rule]);
                    out.push(Candidate {
                        rule,
                        tier,
                        depth,
                        subject: text,
                    });
                }
            }
            // The innermost layer a specific rule matches decides; outer layers cannot beat it.
            if out.iter().any(|c| c.tier == 0) {
                return out;
            }
        }
        let handler = u.envelope.handler_error_code.as_deref();
        let subjects = codes
            .errors
            .iter()
            .map(|&(d, c)| (Layer::ErrorCode, d, c))
            .chain(codes.statuses.iter().map(|&(d, c)| (Layer::Status, d, c)));
        for (layer, depth, code) in subjects {
            self.code_candidates(layer, depth, code, ctx, &mut out);
        }
        if let Some(code) = handler {
            self.code_candidates(Layer::HandlerCode, 0, code, ctx, &mut out);
        }
        out
    }

    fn code_candidates<'m>(
        &self,
        layer: Layer,
        depth: usize,
        code: &'m str,
        ctx: &MatchContext<'_>,
        out: &mut Vec<Candidate<'m>>,
    ) {
        for &rule in &self.code_rules {
            let r = &self.rules[rule];
            if r.layer == layer && r.admits(ctx) && r.regex.is_match(code) {
                out.push(Candidate {
                    rule,
                    tier: tier(r),
                    depth,
                    subject: code,
                });
            }
        }
    }

    /// The candidate that decides: the lowest tier, then the innermost, then the highest priority, then the
    /// smaller id.
    pub fn best<'m>(&self, candidates: &[Candidate<'m>]) -> Option<Candidate<'m>> {
        candidates.iter().copied().min_by(|a, b| {
            let (ra, rb) = (&self.rules[a.rule], &self.rules[b.rule]);
            a.tier
                .cmp(&b.tier)
                .then(b.depth.cmp(&a.depth))
                .then(rb.priority.cmp(&ra.priority))
                .then_with(|| ra.id.cmp(&rb.id))
        })
    }

    /// The rule that decides a message, with its captures and what decided it.
    pub fn decide<'c>(
        &'c self,
        u: &Unwrapped<'_>,
        codes: &Codes<'_>,
        ctx: &MatchContext<'_>,
    ) -> Option<RuleMatch<'c>> {
        let best = self.best(&self.candidates(u, codes, ctx))?;
        let rule = &self.rules[best.rule];
        let code = best.subject.to_owned();
        let (matched_by, captures) = match rule.layer {
            Layer::Rule | Layer::Wrapper => (
                MatchedBy::Rule(rule.id.clone()),
                rule.captures(best.subject),
            ),
            Layer::Wording => (
                MatchedBy::Wording(rule.id.clone()),
                rule.captures(best.subject),
            ),
            Layer::ErrorCode => (
                MatchedBy::ErrorCode(code.clone()),
                BTreeMap::from([("error_code".to_owned(), code)]),
            ),
            Layer::HandlerCode => (MatchedBy::HandlerCode(code), BTreeMap::new()),
            Layer::Status => (
                MatchedBy::Status(code.clone()),
                BTreeMap::from([("status_code".to_owned(), code)]),
            ),
        };
        Some(RuleMatch {
            rule,
            layer: best.depth,
            captures,
            matched_by,
            confidence: tier_confidence(best.tier),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::classify::{classify_message, Catalog};
    use crate::vocabulary::{Category, Layer, HANDLER_ERROR_CODES};

    fn decided(message: &str) -> (Option<String>, Category, Option<Layer>) {
        let catalog = Catalog::builtin().unwrap();
        let (_, _, c) = classify_message(&catalog, message, None, None);
        (c.matched_by, c.category, c.layer)
    }

    #[test]
    fn every_documented_handler_code_but_unknown_has_a_meaning() {
        for code in HANDLER_ERROR_CODES {
            // A message no other layer knows: only the handler's code can decide.
            let m = format!(
                r#"Resource handler returned message: "zzz qqq" (RequestToken: t, HandlerErrorCode: {code})"#
            );
            let (by, cat, layer) = decided(&m);
            if code == "Unknown" {
                assert_eq!(by, None, "Unknown says nothing");
                assert_eq!(cat, Category::Other);
            } else {
                assert_eq!(by, Some(format!("handler-error-code:{code}")), "{code}");
                assert_eq!(layer, Some(Layer::HandlerCode));
            }
        }
    }

    #[test]
    fn the_service_code_inside_beats_the_codes_around_it() {
        let m = r#"An error occurred (ValidationError) when calling the CreateStack operation: Resource handler returned message: "zzz qqq (Service: S3, Status Code: 400, Error Code: TooManyBuckets, Request ID: r)" (RequestToken: t, HandlerErrorCode: GeneralServiceException)"#;
        assert_eq!(
            decided(m),
            (
                Some("error-code:TooManyBuckets".into()),
                Category::LimitExceeded,
                Some(Layer::ErrorCode)
            )
        );
    }

    #[test]
    fn a_specific_status_beats_a_generic_handler_code_and_a_wrapper() {
        let m = r#"Resource handler returned message: "Invalid request provided: zzz (Service: ApiGateway, Status Code: 429, Request ID: r)" (RequestToken: t, HandlerErrorCode: InvalidRequest)"#;
        let (by, cat, _) = decided(m);
        assert_eq!(by.as_deref(), Some("status:429"));
        assert_eq!(cat, Category::Throttling);
        // Only the generic status: the generic handler code ranks above it.
        let m = r#"Resource handler returned message: "zzz (Service: Ec2, Status Code: 400, Request ID: r)" (RequestToken: t, HandlerErrorCode: NotFound)"#;
        assert_eq!(decided(m).0.as_deref(), Some("handler-error-code:NotFound"));
    }

    #[test]
    fn the_innermost_cause_beats_its_wrapper() {
        let m = "Received response status [FAILED] from custom resource. Message returned: AccessDeniedException: zzz qqq (RequestId: 1)";
        let (by, cat, _) = decided(m);
        assert_eq!(by.as_deref(), Some("error-code:AccessDeniedException"));
        assert_eq!(cat, Category::AccessDeniedOther);
        // With nothing inside, the wrapper decides.
        let m = "Received response status [FAILED] from custom resource. Message returned: zzz qqq (RequestId: 1)";
        assert_eq!(decided(m).0.as_deref(), Some("custom-resource-failed"));
        // A specific rule beats every code: the SCP deny, not the tail's AccessDenied.
        let m = r#"Resource handler returned message: "User: arn:aws:sts::111122223333:assumed-role/r/s is not authorized to perform: s3:PutBucketPolicy on resource: "arn:aws:s3:::b" with an explicit deny in a service control policy (Service: S3, Status Code: 403, Error Code: AccessDenied, Request ID: r)" (RequestToken: t, HandlerErrorCode: AccessDenied)"#;
        assert_eq!(decided(m).1, Category::ScpDeny);
    }

    #[test]
    fn wordings_decide_only_without_codes_that_know_more() {
        let (by, cat, _) = decided("The widget zzz does not exist");
        assert_eq!(by.as_deref(), Some("wording:wording-not-found"));
        assert_eq!(cat, Category::NotFound);
        // A generic code ranks below a wording: ValidationError says less than "does not exist".
        let m = "An error occurred (ValidationError) when calling the DescribeStacks operation: The widget zzz does not exist";
        assert_eq!(decided(m).1, Category::NotFound);
        // Nothing known: other, never forced.
        assert_eq!(decided("zzz qqq"), (None, Category::Other, None));
    }

    #[test]
    fn line_breaks_inside_a_copied_message_do_not_hide_it() {
        let m = "Resource handler returned message: \"zzz\n  qqq (Service: S3, Status Code: 400,\n Error Code: TooManyBuckets, Request ID: r)\" (RequestToken: t, HandlerErrorCode:\nGeneralServiceException)";
        assert_eq!(decided(m).0.as_deref(), Some("error-code:TooManyBuckets"));
    }
}
