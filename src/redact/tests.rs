//! The redactor's tests: no id leaks, stand-ins keep their shape, the diagnosis is the same.

use super::patterns::{digit_runs, looks_random, Hit, Patterns};
use super::*;
use crate::classify::Catalog;
use regex::Regex;
use std::collections::BTreeSet;
use std::collections::{HashMap, HashSet};

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
    let uuid =
        Regex::new("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
            .unwrap();
    let s = &*uuid.replace_all(s, "<uuid>");
    digit_runs(s)
        .filter(|(a, b)| b - a == 12)
        .map(|(a, b)| s[a..b].to_owned())
        .collect()
}

fn uuids(s: &str) -> BTreeSet<String> {
    let re =
        Regex::new("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
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
    let corpus = CASES.iter().map(|(i, _)| *i).collect::<Vec<_>>().join("\n") + &json(&sample());
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
    assert!(stand_in.ends_with('1') && stand_in.trim_end_matches('1').bytes().all(|b| b == b'0'));
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
