//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`), shared with the regression tests
//! (`tests/fuzz_regressions.rs`) so that a reproducer runs exactly the code the fuzzer ran. Each takes raw bytes,
//! treats every error as a fine answer, and panics only when the library panics or one of the invariants below
//! does not hold.

use std::sync::OnceLock;

use stackset_doctor::classify::{self, Catalog};
use stackset_doctor::evidence::Bundle;
use stackset_doctor::report::{self, Format, Report};
use stackset_doctor::scp::{self, RequestSpec};
use stackset_doctor::template::pattern::Target;
use stackset_doctor::template::resolve::Scope;
use stackset_doctor::template::{self, Template};

/// The built-in catalog, loaded once per process.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::builtin().expect("the built-in catalog loads"))
}

/// `unwrap`: the envelope unwrapper on any text. Its layers are slices of the input, outermost (the input
/// itself) first, and the error codes named in them can be read.
pub fn unwrap(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let u = classify::unwrap::unwrap(&text);
    assert_eq!(
        u.layers.first().copied(),
        Some(&*text),
        "the first layer is the input"
    );
    let start = text.as_ptr() as usize;
    for layer in &u.layers {
        let at = layer.as_ptr() as usize;
        assert!(
            at >= start && at + layer.len() <= start + text.len(),
            "a layer is a slice of the input"
        );
    }
    let _ = classify::codes::codes(&u);
}

/// `classify`: one message through what `explain` does — unwrap, decide, the nearest rules for an unknown
/// message, the rule's texts rendered with its fields — with and without a resource type and status.
pub fn classify(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let c = catalog();
    for (resource_type, status) in [
        (None, None),
        (Some("AWS::S3::Bucket"), Some("CREATE_FAILED")),
    ] {
        let (_, innermost, cl) = classify::classify_message(c, &text, resource_type, status);
        match cl.rule.as_deref().and_then(|id| c.get(id)) {
            Some(rule) => {
                let _ = classify::rules::render(&rule.explanation, &cl.fields);
                let _ = classify::rules::render(&rule.remediation, &cl.fields);
            }
            None => {
                assert!(cl.rule.is_none(), "the deciding rule is in the catalog");
                let _ = c.nearest(&innermost, 3);
            }
        }
        serde_json::to_vec(&cl).expect("a classification serialises");
    }
}

/// `offline`: one input file's bytes as `diagnose FILE` reads them; what loads is diagnosed and rendered in every
/// format, redacted, and saved as a bundle that must load back.
pub fn offline(data: &[u8]) {
    let loaded = match stackset_doctor::collect::load_bytes_as("fuzz.json", data) {
        Ok(l) => l,
        Err(e) => {
            assert!(
                e.to_string().starts_with("fuzz.json"),
                "the error names the input: {e}"
            );
            return;
        }
    };
    let diagnosis = stackset_doctor::diagnose(&loaded.evidence, catalog(), loaded.warnings.clone());
    let r = Report::new(&diagnosis);
    for format in [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Mermaid,
        Format::Dot,
    ] {
        report::reporter(format)
            .render(&r, &mut Vec::new())
            .expect("a report renders into memory");
    }
    let mut redacted = loaded.evidence.clone();
    stackset_doctor::redact::Redactor::new().evidence(&mut redacted);
    let mut saved = Vec::new();
    stackset_doctor::json::write(&mut saved, &Bundle::new(loaded.evidence, None), true)
        .expect("a bundle serialises");
    if let Err(e) = stackset_doctor::collect::load_bytes_as("bundle.json", &saved) {
        panic!("a saved bundle loads back: {e}");
    }
}

/// The request `scp_policy` evaluates: the StackSets execution role of the reference case.
fn scp_request() -> RequestSpec {
    RequestSpec {
        principal: "arn:aws:sts::121212121212:assumed-role/stacksets-exec-0123456789abcdef/session"
            .into(),
        action: "s3:PutBucketPublicAccessBlock".into(),
        resource: Some("arn:aws:s3:::diagnosis-bucket-121212121212".into()),
        account: Some("121212121212".into()),
        management_account: None,
        context: vec!["aws:PrincipalOrgID=o-abcdefghij".into()],
    }
}

/// `scp_policy`: the text as a policy file of `scp check` (a document, describe-policy output or a levels file);
/// when it loads, the fixed request is evaluated and rendered, and a fix offered for a deny must allow it.
pub fn scp_policy(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = scp::Policy::parse("fuzz.json", &text);
    let Ok((path, req)) = scp::request(&scp_request(), &[("fuzz.json".to_owned(), text)]) else {
        return;
    };
    let ev = scp::evaluate(&path, &req);
    scp::write_check(&ev, &mut Vec::new()).expect("a verdict renders into memory");
    if ev.verdict.is_denied() {
        if let Ok(fix) = scp::fix(&path, &req) {
            scp::write_fix(&fix, &mut Vec::new()).expect("a fix renders into memory");
            assert!(
                scp::evaluate(&fix.apply(&path), &req).verdict.is_allowed(),
                "an offered fix allows the denied request"
            );
        }
    }
}

/// `yaml`: the text as a template — YAML with short-form tags, or JSON — and, when it parses, what it creates
/// and what each resource names for one target; every identifier pattern renders and its regex compiles.
pub fn yaml(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = template::yaml::parse(&text);
    let Ok(t) = Template::parse(&text) else {
        return;
    };
    let target = Target {
        account: "111122223333",
        region: "eu-west-1",
        partition: "aws",
    };
    let values = Default::default();
    let scope = Scope {
        template: &t,
        types: &catalog().resource_types,
        values: &values,
        stack_set: "fuzz",
        target: Some(target),
    };
    for p in template::provides::provided(&scope) {
        for (_, pattern) in &p.ids {
            let _ = pattern.render(&target);
            regex::Regex::new(&pattern.regex()).expect("an identifier's regex compiles");
        }
    }
    for r in &t.resources {
        let _ = template::needs::named_by_resource(&scope, r, &target);
        let _ = template::needs::named_in_properties(&r.properties);
    }
    for o in &t.outputs {
        let _ = scope.resolve(&o.value);
    }
}

/// `event`: one EventBridge event as `diagnose --event FILE` reads it. What parses has a stack set, a Region and a
/// verdict; an instance event names a 12-digit account; nothing panics.
pub fn event(data: &[u8]) {
    use stackset_doctor::collect::event::StackSetEvent;
    let Ok(e) = StackSetEvent::parse("fuzz.json", data) else {
        return;
    };
    assert!(
        !e.stack_set.is_empty(),
        "a parsed event names its stack set"
    );
    assert!(!e.region.is_empty(), "a parsed event names its Region");
    let _ = e.verdict();
    let _ = e.describe();
    let _ = e.operation_id();
    if let Some((account, _)) = e.instance() {
        assert!(
            account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
            "{account:?}"
        );
    }
}
