//! Synthetic organisation-sized evidence, in the AWS CLI's shapes, for benchmarks and scale tests. Not part of the
//! library: the example (examples/generate.rs), the benchmark and the scale test include this file.
//!
//! Takes a size (accounts × regions) and a seed; writes the files a collection would leave: per stack set a
//! folder with `list-stack-set-operation-results.json`, `list-stack-instances.json`, `describe-stack-set.json`,
//! and one `describe-stack-events-<account>-<region>.json` per member stack (successful stacks too, with their
//! full event history). The story: the reference case's SCP deny in the delegated admin account breaks the Quick
//! Setup DA stack; the TA stack set fails with "Invalid principal" in a few percent of the accounts; elsewhere
//! independent failures (a bucket name that already exists, a quota) cancel and roll back their stacks.

// The benchmark, the example and the tests each use a part of it.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

/// Deterministic xorshift generator: the same seed gives the same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub accounts: usize,
    pub regions: Vec<String>,
    pub seed: u64,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            accounts: 1000,
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            seed: 42,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct SynthStats {
    pub files: usize,
    pub stacks: usize,
    pub events: usize,
    pub bytes: u64,
    pub failed_stacks: usize,
}

pub const ADMIN: &str = "100000000001";
const QS: &str = "k9x2p";

fn account(i: usize) -> String {
    format!("{:012}", 200_000_000_000u64 + i as u64 * 7)
}

fn ts(base: i64, offset_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(base * 1000 + offset_ms).unwrap_or_default();
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Write JSON the way the AWS CLI prints it (4-space indent).
fn write_json(path: &Path, v: &Value, stats: &mut SynthStats) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).map_err(io::Error::other)?;
    buf.push(b'\n');
    let mut f = std::fs::File::create(path)?;
    f.write_all(&buf)?;
    stats.files += 1;
    stats.bytes += buf.len() as u64;
    Ok(())
}

struct Res {
    logical: &'static str,
    rtype: &'static str,
    props: std::borrow::Cow<'static, str>,
}

/// What can happen to one stack.
enum Outcome {
    Ok,
    /// The resource at this index fails with this reason; the others are cancelled.
    Fail(usize, String),
}

struct StackSetSpec {
    name: String,
    resources: Vec<Res>,
}

fn stack_events(
    rng: &mut Rng,
    ss: &str,
    acct: &str,
    region: &str,
    resources: &[Res],
    outcome: &Outcome,
    base: i64,
) -> (String, Vec<Value>) {
    let name = format!("StackSet-{ss}-{}", rng.uuid());
    let stack_id = format!(
        "arn:aws:cloudformation:{region}:{acct}:stack/{name}/{}",
        rng.uuid()
    );
    let mut t = 0i64;
    let mut ev = Vec::new();
    let mut push = |rng: &mut Rng,
                    t: i64,
                    logical: &str,
                    rtype: &str,
                    status: &str,
                    reason: Option<&str>,
                    props: Option<&str>,
                    phys: &str| {
        let mut e = json!({
            "StackId": stack_id, "EventId": rng.uuid(), "StackName": name, "LogicalResourceId": logical,
            "PhysicalResourceId": phys, "ResourceType": rtype, "Timestamp": ts(base, t), "ResourceStatus": status,
        });
        if let Some(r) = reason {
            e["ResourceStatusReason"] = json!(r);
        }
        if let Some(p) = props {
            e["ResourceProperties"] = json!(p);
        }
        ev.push(e);
    };
    push(
        rng,
        t,
        &name,
        "AWS::CloudFormation::Stack",
        "CREATE_IN_PROGRESS",
        Some("User Initiated"),
        None,
        &stack_id,
    );
    for r in resources {
        t += 150;
        push(
            rng,
            t,
            r.logical,
            r.rtype,
            "CREATE_IN_PROGRESS",
            None,
            Some(&*r.props),
            "",
        );
    }
    match outcome {
        Outcome::Ok => {
            for r in resources {
                t += 900;
                push(
                    rng,
                    t,
                    r.logical,
                    r.rtype,
                    "CREATE_IN_PROGRESS",
                    Some("Resource creation Initiated"),
                    Some(&*r.props),
                    r.logical,
                );
                t += 2100;
                push(
                    rng,
                    t,
                    r.logical,
                    r.rtype,
                    "CREATE_COMPLETE",
                    None,
                    Some(&*r.props),
                    r.logical,
                );
            }
            t += 300;
            push(
                rng,
                t,
                &name,
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                None,
                None,
                &stack_id,
            );
        }
        Outcome::Fail(bad, reason) => {
            t += 1200;
            let r = &resources[*bad];
            push(
                rng,
                t,
                r.logical,
                r.rtype,
                "CREATE_FAILED",
                Some(reason),
                Some(&*r.props),
                "",
            );
            let mut failed: Vec<&str> = vec![r.logical];
            for (i, o) in resources.iter().enumerate() {
                if i != *bad {
                    t += 40;
                    push(
                        rng,
                        t,
                        o.logical,
                        o.rtype,
                        "CREATE_FAILED",
                        Some("Resource creation cancelled"),
                        Some(&*o.props),
                        "",
                    );
                    failed.push(o.logical);
                }
            }
            t += 400;
            let rollup = format!(
                "The following resource(s) failed to create: [{}]. Rollback requested by user.",
                failed.join(", ")
            );
            push(
                rng,
                t,
                &name,
                "AWS::CloudFormation::Stack",
                "ROLLBACK_IN_PROGRESS",
                Some(&rollup),
                None,
                &stack_id,
            );
            for o in resources {
                t += 500;
                push(
                    rng,
                    t,
                    o.logical,
                    o.rtype,
                    "DELETE_COMPLETE",
                    None,
                    Some(&*o.props),
                    "",
                );
            }
            t += 300;
            push(
                rng,
                t,
                &name,
                "AWS::CloudFormation::Stack",
                "ROLLBACK_COMPLETE",
                None,
                None,
                &stack_id,
            );
        }
    }
    // describe-stack-events lists newest first.
    ev.reverse();
    (stack_id, ev)
}

fn composite(r: &Res, reason: &str) -> String {
    format!(
        "ResourceLogicalId:{}, ResourceType:{}, ResourceStatusReason:{reason}",
        r.logical, r.rtype
    )
}

fn deny(acct: &str, region: &str) -> String {
    format!(
        "Resource handler returned message: \"User: arn:aws:sts::{acct}:assumed-role/stacksets-exec-5e6f7a8b/a1b2c3d4 is not authorized to perform: s3:PutBucketPublicAccessBlock on resource: \"arn:aws:s3:::do-not-delete-ssm-diagnosis-{acct}-{region}-{QS}\" with an explicit deny in a service control policy (Service: S3, Status Code: 403, Request ID: 5Y2H7K9Q1W3E5R7T, Extended Request ID: abc/def/ghi=)\" (RequestToken: 6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f, HandlerErrorCode: GeneralServiceException)"
    )
}

fn invalid_principal() -> String {
    format!(
        "Resource handler returned message: \"Invalid principal in policy: \"AWS\":\"arn:aws:iam::{ADMIN}:role/ManagedInstance-CrossAccountManagementRole\" (Service: Iam, Status Code: 400, Request ID: 0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b)\" (RequestToken: 7a8b9c0d-1e2f-3a4b-5c6d-7e8f9a0b1c2d, HandlerErrorCode: InvalidRequest)"
    )
}

/// One service-managed stack set deployed to `accounts` accounts in one operation, where every `fail_every`-th
/// account fails (each with its own message: the SCP deny names its own account) and every other one is
/// "Cancelled since failure tolerance has exceeded" — the ordinary shape of an organisation-wide rollout that
/// hits a guardrail. Writes the stack set's folder: describe-stack-set, describe-stack-set-operation,
/// list-stack-set-operation-results and list-stack-instances.
pub fn tolerance_shape(accounts: usize, fail_every: usize, out: &Path) -> io::Result<SynthStats> {
    let mut stats = SynthStats::default();
    let ss = "org-guardrails-baseline";
    let dir = out.join(ss);
    std::fs::create_dir_all(&dir)?;
    let base = 1_741_583_520i64;
    let op = "3c9f4d2e-1b7a-4e58-9c0d-2f6e8a1b3c5d";
    let region = "us-east-1";
    let bucket = Res {
        logical: "AuditBucket",
        rtype: "AWS::S3::Bucket",
        props: "".into(),
    };
    let mut results = Vec::with_capacity(accounts);
    let mut instances = Vec::with_capacity(accounts);
    for i in 0..accounts {
        let acct = account(i);
        let failed = i % fail_every.max(1) == 0;
        let (status, reason) = if failed {
            ("FAILED", composite(&bucket, &deny(&acct, region)))
        } else {
            (
                "CANCELLED",
                "Cancelled since failure tolerance has exceeded".to_owned(),
            )
        };
        stats.failed_stacks += usize::from(failed);
        results.push(json!({
            "Account": acct, "Region": region, "Status": status, "StatusReason": reason,
            "AccountGateResult": {"Status": "SKIPPED", "StatusReason": format!("Function not found: arn:aws:lambda:{region}:{acct}:function:AWSCloudFormationStackSetAccountGate")},
            "OrganizationalUnitId": "ou-ab12-workload1",
        }));
        instances.push(json!({
            "StackSetId": format!("{ss}:8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e"), "Region": region, "Account": acct,
            "Status": "OUTDATED", "StatusReason": reason,
            "StackInstanceStatus": {"DetailedStatus": status}, "OrganizationalUnitId": "ou-ab12-workload1",
            "LastOperationId": op, "DriftStatus": "NOT_CHECKED",
        }));
    }
    write_json(
        &dir.join("describe-stack-set-operation.json"),
        &json!({"StackSetOperation": {
            "OperationId": op, "StackSetId": format!("{ss}:8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e"), "Action": "CREATE",
            "Status": "FAILED", "OperationPreferences": {"RegionConcurrencyType": "PARALLEL", "FailureToleranceCount": 0, "MaxConcurrentCount": 1},
            "AdministrationRoleARN": format!("arn:aws:iam::{ADMIN}:role/aws-service-role/stacksets.cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgAdmin"),
            "ExecutionRoleName": "stacksets-exec-5e6f7a8b",
            "CreationTimestamp": ts(base, 0), "EndTimestamp": ts(base, 3_600_000),
            "StatusDetails": {"FailedStackInstancesCount": stats.failed_stacks},
        }}),
        &mut stats,
    )?;
    write_json(
        &dir.join("list-stack-set-operation-results.json"),
        &json!({ "Summaries": results }),
        &mut stats,
    )?;
    write_json(
        &dir.join("list-stack-instances.json"),
        &json!({ "Summaries": instances }),
        &mut stats,
    )?;
    stats.stacks = accounts;
    Ok(stats)
}

/// Generate the evidence under `out` (created if missing).
pub fn generate(cfg: &SynthConfig, out: &Path) -> io::Result<SynthStats> {
    let mut rng = Rng(cfg.seed.max(1));
    let mut stats = SynthStats::default();
    std::fs::create_dir_all(out)?;
    let base = 1_741_583_520i64; // 2025-03-10T05:12:00Z
    let sets = [
        StackSetSpec {
            name: format!("AWS-QuickSetup-SSM-TA-{QS}"),
            resources: vec![Res {
                logical: "ManagedInstanceCrossAccountExecutionRole",
                rtype: "AWS::IAM::Role",
                props: r#"{"RoleName":"ManagedInstance-CrossAccountExecutionRole","AssumeRolePolicyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::100000000001:role/ManagedInstance-CrossAccountManagementRole"},"Action":"sts:AssumeRole"}]}}"#.into(),
            }],
        },
        StackSetSpec {
            name: "org-baseline-logging".into(),
            resources: vec![
                Res {
                    logical: "LogsBucket",
                    rtype: "AWS::S3::Bucket",
                    props: r#"{"BucketName":"org-central-logs","VersioningConfiguration":{"Status":"Enabled"}}"#.into(),
                },
                Res {
                    logical: "LogsTopic",
                    rtype: "AWS::SNS::Topic",
                    props: r#"{"TopicName":"org-logs"}"#.into(),
                },
            ],
        },
        StackSetSpec {
            name: "org-security-guardrails".into(),
            resources: vec![Res {
                logical: "GuardrailsKey",
                rtype: "AWS::KMS::Key",
                props: r#"{"EnableKeyRotation":"true"}"#.into(),
            }],
        },
    ];
    // The delegated admin's DA stack: the shared root cause.
    let da = format!("AWS-QuickSetup-SSM-DA-{QS}");
    let da_dir = out.join(&da);
    std::fs::create_dir_all(&da_dir)?;
    let da_res = vec![
        Res {
            logical: "ManagedInstanceCrossAccountManagementRole",
            rtype: "AWS::IAM::Role",
            props: r#"{"RoleName":"ManagedInstance-CrossAccountManagementRole"}"#.into(),
        },
        Res {
            logical: "DiagnosisBucket",
            rtype: "AWS::S3::Bucket",
            props: r#"{"BucketName":"do-not-delete-ssm-diagnosis"}"#.into(),
        },
    ];
    let region0 = cfg
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".into());
    let reason = deny(ADMIN, &region0);
    let (stack_id, ev) = stack_events(
        &mut rng,
        &da,
        ADMIN,
        &region0,
        &da_res,
        &Outcome::Fail(1, reason.clone()),
        base,
    );
    stats.events += ev.len();
    stats.stacks += 1;
    stats.failed_stacks += 1;
    write_json(
        &da_dir.join(format!("describe-stack-events-{ADMIN}-{region0}.json")),
        &json!({"StackEvents": ev}),
        &mut stats,
    )?;
    let da_op = rng.uuid();
    write_json(
        &da_dir.join("list-stack-set-operation-results.json"),
        &json!({"Summaries": [{
        "Account": ADMIN, "Region": region0, "Status": "FAILED", "StatusReason": composite(&da_res[1], &reason),
        "AccountGateResult": {"Status": "SKIPPED", "StatusReason": format!("Function not found: arn:aws:lambda:{region0}:{ADMIN}:function:AWSCloudFormationStackSetAccountGate")},
        "OrganizationalUnitId": "r-ab12"}]}),
        &mut stats,
    )?;
    write_json(
        &da_dir.join("list-stack-instances.json"),
        &json!({"Summaries": [{
        "StackSetId": format!("{da}:{}", rng.uuid()), "Region": region0, "Account": ADMIN, "StackId": stack_id,
        "Status": "OUTDATED", "StatusReason": composite(&da_res[1], &reason), "StackInstanceStatus": {"DetailedStatus": "FAILED"},
        "OrganizationalUnitId": "r-ab12", "DriftStatus": "NOT_CHECKED", "LastOperationId": da_op}]}),
        &mut stats,
    )?;

    for (si, set) in sets.iter().enumerate() {
        let dir = out.join(&set.name);
        std::fs::create_dir_all(&dir)?;
        let set_id = format!("{}:{}", set.name, rng.uuid());
        let op = rng.uuid();
        let mut results = Vec::new();
        let mut instances = Vec::new();
        for a in 0..cfg.accounts {
            let acct = account(a);
            for region in &cfg.regions {
                let outcome = match si {
                    // TA: a few percent of accounts meet the missing DA role.
                    0 if rng.chance(30) => Outcome::Fail(0, invalid_principal()),
                    // Independent: the bucket name is taken.
                    1 if rng.chance(5) => Outcome::Fail(0, "Resource handler returned message: \"org-central-logs already exists\" (RequestToken: 3f2e1d0c-9b8a-7f6e-5d4c-3b2a1f0e9d8c, HandlerErrorCode: AlreadyExists)".into()),
                    // Independent: a KMS quota.
                    2 if rng.chance(3) => Outcome::Fail(0, "Resource handler returned message: \"You have exceeded the maximum number of customer managed keys for this account (Service: Kms, Status Code: 400, Request ID: 1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d)\" (RequestToken: 9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4, HandlerErrorCode: ServiceLimitExceeded)".into()),
                    _ => Outcome::Ok,
                };
                let offset = base + 60 + (a as i64 % 600);
                let (stack_id, ev) = stack_events(
                    &mut rng,
                    &set.name,
                    &acct,
                    region,
                    &set.resources,
                    &outcome,
                    offset,
                );
                stats.events += ev.len();
                stats.stacks += 1;
                write_json(
                    &dir.join(format!("describe-stack-events-{acct}-{region}.json")),
                    &json!({"StackEvents": ev}),
                    &mut stats,
                )?;
                let (status, detailed, reason) = match &outcome {
                    Outcome::Ok => ("SUCCEEDED", "SUCCEEDED", None),
                    Outcome::Fail(i, r) => {
                        stats.failed_stacks += 1;
                        ("FAILED", "FAILED", Some(composite(&set.resources[*i], r)))
                    }
                };
                let mut res = json!({"Account": acct, "Region": region, "Status": status,
                    "AccountGateResult": {"Status": "SKIPPED", "StatusReason": format!("Function not found: arn:aws:lambda:{region}:{acct}:function:AWSCloudFormationStackSetAccountGate")},
                    "OrganizationalUnitId": "ou-ab12-cdef3456"});
                let mut inst = json!({"StackSetId": set_id, "Region": region, "Account": acct, "StackId": stack_id,
                    "Status": if reason.is_some() { "OUTDATED" } else { "CURRENT" },
                    "StackInstanceStatus": {"DetailedStatus": detailed}, "OrganizationalUnitId": "ou-ab12-cdef3456",
                    "DriftStatus": "NOT_CHECKED", "LastOperationId": op});
                if let Some(r) = reason {
                    res["StatusReason"] = json!(r);
                    inst["StatusReason"] = json!(r);
                }
                results.push(res);
                instances.push(inst);
            }
        }
        write_json(
            &dir.join("list-stack-set-operation-results.json"),
            &json!({"Summaries": results}),
            &mut stats,
        )?;
        write_json(
            &dir.join("list-stack-instances.json"),
            &json!({"Summaries": instances}),
            &mut stats,
        )?;
    }
    Ok(stats)
}

const FOUNDATION_TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Description: 'Organisation foundation: data key, alerts topic, application role'
Parameters:
  Prefix:
    Type: String
    Default: org
Resources:
  DataKey:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
  DataKeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub 'alias/${Prefix}-data'
      TargetKeyId: !Ref DataKey
  AlertsTopic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${Prefix}-alerts'
      KmsMasterKeyId: !Ref DataKeyAlias
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '${Prefix}-app-${AWS::Region}'
      Path: /workloads/
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
Outputs:
  AlertsTopicArn:
    Value: !Ref AlertsTopic
    Export:
      Name: org-foundation-AlertsTopicArn
";

const WORKLOADS_TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Description: 'Workloads: application log group, alerts subscription, processor function'
Parameters:
  DataKeyAlias:
    Type: String
    Default: alias/acme-data
Resources:
  AppLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /org/app
      RetentionInDays: 90
      KmsKeyId: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:${DataKeyAlias}'
  AlertsSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: email
      Endpoint: ops@example.com
      TopicArn: !ImportValue org-foundation-AlertsTopicArn
  Processor:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: processor
      Runtime: python3.12
      Handler: index.handler
      Role: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/workloads/acme-app-${AWS::Region}'
      Code: {ZipFile: 'def handler(e, c): return e'}
";

const MONITORING_TEMPLATE: &str = "AWSTemplateFormatVersion: '2010-09-09'
Description: 'Monitoring: error metric filter on the application log group'
Resources:
  ErrorsFilter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: /org/app
      FilterPattern: ERROR
      MetricTransformations:
        - {MetricName: AppErrors, MetricNamespace: Org/App, MetricValue: '1'}
";

/// One stack set's files for the dependency shape.
struct SetFiles {
    results: Vec<Value>,
    instances: Vec<Value>,
}

/// Three stack sets deployed to `accounts` accounts in us-east-1, each using what the one before creates: the
/// foundation (a KMS key and alias, a topic exported by name, a role, named from a parameter the stack set
/// overrides) fails on an SCP deny in 3% of the accounts; there the workloads fail on what is missing — the log
/// group on the KMS alias (in its properties), the subscription on the imported topic, the function on the role (only
/// in its template) — and the monitoring's metric filter on the log group the workloads did not create. 1% of
/// the other accounts have a workload failure of their own (a log group that already exists). Events carry
/// `ResourceProperties` in half the accounts (a newer CLI), not in the other half.
pub fn dependencies_shape(accounts: usize, out: &Path) -> io::Result<SynthStats> {
    let mut rng = Rng(7);
    let mut stats = SynthStats::default();
    std::fs::create_dir_all(out)?;
    let base = 1_741_583_520i64;
    let region = "us-east-1";
    let names = ["org-foundation", "org-workloads", "org-monitoring"];
    let templates = [FOUNDATION_TEMPLATE, WORKLOADS_TEMPLATE, MONITORING_TEMPLATE];
    let mut files: Vec<SetFiles> = (0..3)
        .map(|_| SetFiles {
            results: Vec::new(),
            instances: Vec::new(),
        })
        .collect();
    let ops: Vec<String> = (0..3).map(|_| rng.uuid()).collect();
    let set_ids: Vec<String> = names
        .iter()
        .map(|n| format!("{n}:{}", rng.uuid()))
        .collect();
    for (k, n) in names.iter().enumerate() {
        let dir = out.join(n);
        std::fs::create_dir_all(&dir)?;
        let params = if k == 0 {
            json!([{"ParameterKey": "Prefix", "ParameterValue": "acme"}])
        } else {
            json!([])
        };
        write_json(
            &dir.join("describe-stack-set.json"),
            &json!({"StackSet": {"StackSetName": n, "StackSetId": set_ids[k], "Status": "ACTIVE",
                "TemplateBody": templates[k], "Parameters": params, "Capabilities": ["CAPABILITY_NAMED_IAM"],
                "PermissionModel": "SERVICE_MANAGED"}}),
            &mut stats,
        )?;
    }
    for a in 0..accounts {
        let acct = account(a);
        let props = a % 2 == 0;
        let p = |s: String| -> std::borrow::Cow<'static, str> {
            if props {
                s.into()
            } else {
                "".into()
            }
        };
        let foundation = vec![
            Res {
                logical: "DataKey",
                rtype: "AWS::KMS::Key",
                props: p(r#"{"EnableKeyRotation":"true"}"#.into()),
            },
            Res {
                logical: "DataKeyAlias",
                rtype: "AWS::KMS::Alias",
                props: p(r#"{"AliasName":"alias/acme-data"}"#.into()),
            },
            Res {
                logical: "AlertsTopic",
                rtype: "AWS::SNS::Topic",
                props: p(r#"{"TopicName":"acme-alerts"}"#.into()),
            },
            Res {
                logical: "AppRole",
                rtype: "AWS::IAM::Role",
                props: p(r#"{"RoleName":"acme-app-us-east-1","Path":"/workloads/"}"#.into()),
            },
        ];
        let workloads = vec![
            Res {
                logical: "AppLogs",
                rtype: "AWS::Logs::LogGroup",
                props: p(format!(
                    r#"{{"LogGroupName":"/org/app","RetentionInDays":"90","KmsKeyId":"arn:aws:kms:{region}:{acct}:alias/acme-data"}}"#
                )),
            },
            Res {
                logical: "AlertsSubscription",
                rtype: "AWS::SNS::Subscription",
                props: p(format!(
                    r#"{{"Protocol":"email","Endpoint":"ops@example.com","TopicArn":"arn:aws:sns:{region}:{acct}:acme-alerts"}}"#
                )),
            },
            Res {
                logical: "Processor",
                rtype: "AWS::Lambda::Function",
                props: p(format!(
                    r#"{{"FunctionName":"processor","Runtime":"python3.12","Handler":"index.handler","Role":"arn:aws:iam::{acct}:role/workloads/acme-app-{region}"}}"#
                )),
            },
        ];
        let monitoring = vec![Res {
            logical: "ErrorsFilter",
            rtype: "AWS::Logs::MetricFilter",
            props: p(r#"{"LogGroupName":"/org/app","FilterPattern":"ERROR"}"#.into()),
        }];
        let broken = rng.chance(30);
        let own = !broken && rng.chance(10);
        let outcomes = if broken {
            let consumer = match a % 3 {
                0 => Outcome::Fail(0, format!("Resource handler returned message: \"The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:{region}:{acct}:log-group:/org/app' (Service: CloudWatchLogs, Status Code: 400, Request ID: {})\" (RequestToken: {}, HandlerErrorCode: InvalidRequest)", rng.uuid(), rng.uuid())),
                1 => Outcome::Fail(1, format!("Resource handler returned message: \"Topic does not exist (Service: Sns, Status Code: 404, Request ID: {})\" (RequestToken: {}, HandlerErrorCode: NotFound)", rng.uuid(), rng.uuid())),
                _ => Outcome::Fail(2, format!("Resource handler returned message: \"The role defined for the function cannot be assumed by Lambda. (Service: Lambda, Status Code: 400, Request ID: {})\" (RequestToken: {}, HandlerErrorCode: InvalidRequest)", rng.uuid(), rng.uuid())),
            };
            [
                Outcome::Fail(0, format!("Resource handler returned message: \"User: arn:aws:sts::{acct}:assumed-role/stacksets-exec-5e6f7a8b/{} is not authorized to perform: kms:CreateKey on resource: * with an explicit deny in a service control policy (Service: Kms, Status Code: 400, Request ID: {})\" (RequestToken: {}, HandlerErrorCode: AccessDenied)", rng.uuid(), rng.uuid(), rng.uuid())),
                consumer,
                Outcome::Fail(0, format!("Resource handler returned message: \"The specified log group does not exist. (Service: CloudWatchLogs, Status Code: 400, Request ID: {})\" (RequestToken: {}, HandlerErrorCode: NotFound)", rng.uuid(), rng.uuid())),
            ]
        } else if own {
            [
                Outcome::Ok,
                Outcome::Fail(0, "Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier '/org/app' already exists.\" (RequestToken: 5b2c9d1e-8f7a-4c3b-9e6d-1a2b3c4d5e6f, HandlerErrorCode: AlreadyExists)".into()),
                Outcome::Fail(0, "Resource handler returned message: \"The specified log group does not exist. (Service: CloudWatchLogs, Status Code: 400, Request ID: 6c3d0e2f-9a8b-4d4c-8f7e-2b3c4d5e6f70)\" (RequestToken: 7d4e1f30-ab9c-4e5d-9a8f-3c4d5e6f7081, HandlerErrorCode: NotFound)".into()),
            ]
        } else {
            [Outcome::Ok, Outcome::Ok, Outcome::Ok]
        };
        for (k, (res, outcome)) in [foundation, workloads, monitoring]
            .iter()
            .zip(outcomes.iter())
            .enumerate()
        {
            let offset = base + k as i64 * 600 + (a as i64 % 300);
            let (stack_id, ev) =
                stack_events(&mut rng, names[k], &acct, region, res, outcome, offset);
            stats.events += ev.len();
            stats.stacks += 1;
            let ev: Vec<Value> = ev
                .into_iter()
                .map(|mut e| {
                    if e["ResourceProperties"] == json!("") {
                        e.as_object_mut().map(|o| o.remove("ResourceProperties"));
                    }
                    e
                })
                .collect();
            write_json(
                &out.join(names[k])
                    .join(format!("describe-stack-events-{acct}-{region}.json")),
                &json!({"StackEvents": ev}),
                &mut stats,
            )?;
            let (status, reason) = match outcome {
                Outcome::Ok => ("SUCCEEDED", None),
                Outcome::Fail(i, r) => {
                    stats.failed_stacks += 1;
                    ("FAILED", Some(composite(&res[*i], r)))
                }
            };
            let mut result = json!({"Account": acct, "Region": region, "Status": status, "OrganizationalUnitId": "ou-ab12-cdef3456"});
            let mut inst = json!({"StackSetId": set_ids[k], "Region": region, "Account": acct, "StackId": stack_id,
                "Status": if reason.is_some() { "OUTDATED" } else { "CURRENT" },
                "StackInstanceStatus": {"DetailedStatus": status}, "OrganizationalUnitId": "ou-ab12-cdef3456",
                "DriftStatus": "NOT_CHECKED", "LastOperationId": ops[k]});
            if let Some(r) = reason {
                result["StatusReason"] = json!(r);
                inst["StatusReason"] = json!(r);
            }
            files[k].results.push(result);
            files[k].instances.push(inst);
        }
    }
    for (k, f) in files.into_iter().enumerate() {
        let dir = out.join(names[k]);
        write_json(
            &dir.join("list-stack-set-operation-results.json"),
            &json!({"Summaries": f.results}),
            &mut stats,
        )?;
        write_json(
            &dir.join("list-stack-instances.json"),
            &json!({"Summaries": f.instances}),
            &mut stats,
        )?;
    }
    Ok(stats)
}
