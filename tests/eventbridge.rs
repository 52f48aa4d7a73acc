//! The "Run it from EventBridge" deployment (`deploy/eventbridge/`, README): the template lints clean, its event
//! pattern (and the README's) matches the failed and stopped sample operations and nothing else, its IAM role reads
//! what the README's policy allows and writes only the report bucket, and the buildspec's commands, given what the
//! rule's input transformer makes of a sample event, diagnose it against the emulator and leave the ticket bundle.
//!
//! EventBridge's matching is not AWS's here: `matches` implements the part of the pattern language the pattern
//! uses (exact values, nested objects; `prefix`), as documented in
//! <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html>.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::live_emulator::{Emulator, ENV};

const TEMPLATE: &str = "deploy/eventbridge/template.yaml";
const BUILDSPEC: &str = "deploy/eventbridge/buildspec.yml";

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    stackset_doctor::template::yaml::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn event(name: &str) -> Value {
    let path = format!("samples/events/{name}");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("sample")).expect("sample JSON")
}

/// Whether an EventBridge pattern matches an event: every key of the pattern must be in the event; an object
/// recurses; an array lists what the value may be (exact JSON values, or `{"prefix": "..."}`); a value that is an
/// array matches when one of its elements does.
fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(p) = pattern.as_object() else {
        panic!("a pattern is an object: {pattern}")
    };
    p.iter().all(|(k, want)| {
        let Some(have) = event.get(k) else {
            return false;
        };
        match want {
            Value::Object(_) => matches(want, have),
            Value::Array(options) => {
                let values: Vec<&Value> = match have {
                    Value::Array(a) => a.iter().collect(),
                    v => vec![v],
                };
                values.iter().any(|v| {
                    options.iter().any(|o| match o {
                        Value::Object(op) => match (op.get("prefix"), v.as_str()) {
                            (Some(Value::String(pre)), Some(s)) if op.len() == 1 => {
                                s.starts_with(pre.as_str())
                            }
                            _ if op.contains_key("prefix") => false,
                            _ => panic!("this matcher knows exact values and prefix only: {o}"),
                        },
                        exact => exact == *v,
                    })
                })
            }
            other => panic!("a pattern's leaves are arrays: {k}: {other}"),
        }
    })
}

fn sample_arns() -> Vec<Value> {
    ["operation-failed.json", "operation-stopped.json"]
        .iter()
        .map(|n| event(n)["detail"]["stack-set-arn"].clone())
        .collect()
}

/// The template's rule pattern with its `StackSetArns` parameter given the reference stack sets' ARNs.
fn template_pattern() -> Value {
    let t = yaml(TEMPLATE);
    let mut p = t["Resources"]["FailedOperations"]["Properties"]["EventPattern"].clone();
    assert_eq!(
        p["detail"]["stack-set-arn"],
        json!({"Ref": "StackSetArns"}),
        "{p:#}"
    );
    p["detail"]["stack-set-arn"] = Value::Array(sample_arns());
    p
}

/// The first ```json block of the README's "Run it from EventBridge" section.
fn readme_pattern() -> Value {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let section = readme
        .split("\n## Run it from EventBridge")
        .nth(1)
        .expect("README has a section \"Run it from EventBridge\"");
    let block = section
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a json block in the section");
    serde_json::from_str(block).expect("the README's pattern is JSON")
}

#[test]
fn the_patterns_match_failed_and_stopped_operations_of_the_chosen_stack_sets_only() {
    for (what, pattern) in [
        ("template", template_pattern()),
        ("README", readme_pattern()),
    ] {
        assert!(matches(&pattern, &event("operation-failed.json")), "{what}");
        assert!(
            matches(&pattern, &event("operation-stopped.json")),
            "{what}"
        );
        assert!(
            !matches(&pattern, &event("operation-succeeded.json")),
            "{what}"
        );
        // An instance event is another detail type.
        assert!(!matches(&pattern, &event("instance-failed.json")), "{what}");
        // A stack set not chosen, a status that is no failure.
        let mut other = event("operation-failed.json");
        other["detail"]["stack-set-arn"] =
            json!("arn:aws:cloudformation:ap-northeast-1:121212121212:stackset/someone-else:1b2c");
        assert!(!matches(&pattern, &other), "{what}");
        let mut running = event("operation-failed.json");
        running["detail"]["status-details"]["status"] = json!("RUNNING");
        assert!(!matches(&pattern, &running), "{what}");
    }
}

#[test]
fn the_template_lints_clean() {
    let out = Command::new("bash")
        .args(["scripts/cfn-lint.sh", "run", TEMPLATE])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "cfn-lint on {TEMPLATE} (installed by `bash scripts/cfn-lint.sh install`, which scripts/test.sh runs):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every action of the template's role, by statement id.
fn role_actions() -> Vec<(String, Vec<String>)> {
    let t = yaml(TEMPLATE);
    let statements = t["Resources"]["DoctorRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array()
        .expect("statements")
        .clone();
    statements
        .iter()
        .map(|s| {
            // The member role's statement sits in an Fn::If.
            let s = s.get("Fn::If").map_or(s, |f| &f[1]);
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                other => panic!("{other}"),
            };
            (s["Sid"].as_str().unwrap_or_default().to_owned(), actions)
        })
        .collect()
}

#[test]
fn the_template_inlines_the_buildspec_and_its_role_reads_what_the_readme_policy_allows() {
    let t = yaml(TEMPLATE);
    let inline = t["Resources"]["Doctor"]["Properties"]["Source"]["BuildSpec"]
        .as_str()
        .expect("an inline buildspec");
    assert_eq!(
        inline,
        std::fs::read_to_string(BUILDSPEC).expect("buildspec"),
        "template.yaml's BuildSpec must be buildspec.yml's text"
    );
    // The README's IAM policy: the first json block of "### IAM permissions".
    let readme = std::fs::read_to_string("README.md").expect("README");
    let block = readme
        .split("### IAM permissions")
        .nth(1)
        .and_then(|s| s.split("```json\n").nth(1))
        .and_then(|b| b.split("\n```").next())
        .expect("the README's policy");
    let policy: Value = serde_json::from_str(block).expect("policy JSON");
    let readme_actions: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Value::String(a) => vec![a.clone()],
            _ => Vec::new(),
        })
        .collect();
    let role = role_actions();
    let read: BTreeSet<String> = role
        .iter()
        .filter(|(_, a)| a.iter().all(|a| !a.starts_with("s3:")))
        .flat_map(|(_, a)| a.clone())
        .collect();
    assert_eq!(read, readme_actions);
    // Beyond them: reading the binary, and writing (and locating) the report bucket; nothing else.
    let s3: BTreeSet<String> = role
        .iter()
        .flat_map(|(_, a)| a.clone())
        .filter(|a| a.starts_with("s3:"))
        .collect();
    assert_eq!(
        s3,
        [
            "s3:GetBucketAcl",
            "s3:GetBucketLocation",
            "s3:GetObject",
            "s3:PutObject"
        ]
        .map(String::from)
        .into()
    );
    // The rule's role starts the build and does nothing else.
    let rule_role =
        &t["Resources"]["RuleRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(rule_role[0]["Action"], "codebuild:StartBuild");
    assert_eq!(rule_role.as_array().map(Vec::len), Some(1));
}

/// What the rule's input transformer sends CodeBuild for `event`: StartBuild's environment variable overrides.
fn transformed(event: &Value) -> Vec<(String, String)> {
    let t = yaml(TEMPLATE);
    let tr = &t["Resources"]["FailedOperations"]["Properties"]["Targets"][0]["InputTransformer"];
    let mut text = tr["InputTemplate"].as_str().expect("template").to_owned();
    for (name, path) in tr["InputPathsMap"].as_object().expect("paths") {
        let path = path
            .as_str()
            .expect("a path")
            .strip_prefix("$.")
            .expect("$.");
        let value = path.split('.').fold(event, |v, k| &v[k]);
        assert!(value.is_string(), "{path}: {value}");
        // Outside quotes, EventBridge inserts the value as JSON (a string with its quotes).
        let placeholder = format!("<{name}>");
        assert!(
            !text.contains(&format!("\"{placeholder}")),
            "the template quotes {placeholder}: raw text, unescaped"
        );
        text = text.replace(&placeholder, &value.to_string());
    }
    let input: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    input["environmentVariablesOverride"]
        .as_array()
        .expect("environmentVariablesOverride")
        .iter()
        .map(|v| {
            assert_eq!(v["type"], "PLAINTEXT");
            (
                v["name"].as_str().expect("name").to_owned(),
                v["value"].as_str().expect("value").to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_buildspec_diagnoses_a_sample_event_against_the_emulator() {
    let emu = Emulator::start(&[]);
    let spec = yaml(BUILDSPEC);
    assert_eq!(spec["env"]["shell"], "bash");
    let commands: Vec<&str> = spec["phases"]["build"]["commands"]
        .as_array()
        .expect("build commands")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    let work = tempfile::tempdir().expect("scratch");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_stackset-doctor"))
        .parent()
        .expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = transformed(&event("operation-failed.json"));
    assert_eq!(
        env.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        ["STACK_SET_ARN", "OPERATION_ID", "OPERATION_STATUS"]
    );
    // The install phase (copying the binary from S3) is the one part not run: the binary is on PATH already.
    let mut stdout = String::new();
    for c in &commands {
        let mut cmd = Command::new("bash");
        cmd.args(["-e", "-c", c]).current_dir(work.path());
        for (k, v) in ENV {
            cmd.env(k, v);
        }
        cmd.env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION")
            .env("PATH", &path)
            .env("AWS_ENDPOINT_URL", &emu.url)
            .env("MEMBER_ROLE", "OrganizationAccountAccessRole")
            .env("STACKSET_DOCTOR_BINARY", "s3://not-used/stackset-doctor");
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("bash runs");
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{c}: {o}{e}");
        stdout.push_str(&o);
    }
    // One line for the runbook, redacted, naming the folder CodeBuild keeps as the artifact.
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("failures explained: 1 root cause")
            && stdout.contains("DiagnosisBucket")
            && stdout
                .trim_end()
                .ends_with("in report: report.json report.md report.html fixes/ (1) evidence.json"),
        "{stdout}"
    );
    assert!(!stdout.contains("121212121212"), "{stdout}");
    assert_eq!(spec["artifacts"]["base-directory"], "report");
    let report = work.path().join("report");
    for f in ["report.json", "report.md", "report.html", "evidence.json"] {
        assert!(report.join(f).is_file(), "{f}");
    }
    let r: Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    assert_eq!(r["root_causes"][0]["logical_id"], "DiagnosisBucket");
    assert_eq!(
        r["root_causes"][0]["stack_set"],
        "AWS-QuickSetup-SSM-DA-abcde"
    );
}
