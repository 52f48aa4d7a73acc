//! Benchmark: the preflight of a 200-resource template (seven resource types) across 1,000 accounts that share 5
//! policy paths (evaluated once per path, not per account), with the one patch per path that clears its certain
//! denies. Run with `cargo bench --bench preflight`; the figure is in the README.

use divan::{black_box, Bencher};
use stackset_doctor::classify::Catalog;
use stackset_doctor::preflight::{self, data, ExecutionRole, Group, Plan};
use stackset_doctor::scp::load_path;
use stackset_doctor::template::Template;

fn main() {
    divan::main();
}

const KINDS: [&str; 7] = [
    "  B{i}:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Sub b{i}-${AWS::AccountId}-${AWS::Region}\n      PublicAccessBlockConfiguration: {BlockPublicAcls: true}\n      VersioningConfiguration: {Status: Enabled}\n      Tags: [{Key: k, Value: v}]\n",
    "  R{i}:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Sub r{i}-${AWS::Region}\n      AssumeRolePolicyDocument: {}\n      Tags: [{Key: k, Value: v}]\n",
    "  Q{i}:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: q{i}\n      Tags: [{Key: k, Value: v}]\n",
    "  L{i}:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: !Sub /app/l{i}\n      RetentionInDays: 30\n",
    "  T{i}:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: t{i}\n      Tags: [{Key: k, Value: v}]\n",
    "  K{i}:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n",
    "  F{i}:\n    Type: AWS::Lambda::Function\n    Properties:\n      FunctionName: f{i}\n      Role: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:role/r{i}\n      Code: {ZipFile: x}\n",
];

const DENIED: [&str; 5] = [
    "s3:PutBucketPublicAccessBlock",
    "iam:TagRole",
    "sqs:TagQueue",
    "logs:PutRetentionPolicy",
    "sns:TagResource",
];

fn template() -> Template {
    let mut t = String::from("Resources:\n");
    for i in 0..200 {
        t.push_str(&KINDS[i % KINDS.len()].replace("{i}", &i.to_string()));
    }
    Template::parse(&t).expect("template")
}

#[divan::bench(sample_count = 10)]
fn preflight_200_resources_1000_accounts_5_paths(bencher: Bencher) {
    let catalog = Catalog::builtin().expect("catalog");
    let d = data::builtin().expect("data");
    let groups: Vec<Group> = (0..5)
        .map(|g| {
            let levels = format!(
                r#"{{"levels": [
                {{"name": "root", "policies": [{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}},
                  {{"Version": "2012-10-17", "Statement": [{{"Sid": "Guard{g}", "Effect": "Deny", "Action": "{}", "Resource": "*",
                    "Condition": {{"ArnNotLike": {{"aws:PrincipalArn": "arn:aws:iam::*:role/admin"}}}}}}]}}]}},
                {{"name": "ou-{g}", "policies": [{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}}]}}
            ]}}"#,
                DENIED[g]
            );
            Group {
                label: format!("path {g}"),
                path: load_path(&[(format!("levels-{g}.json"), levels)]).expect("levels"),
                targets: (0..200)
                    .map(|a| (format!("{:012}", 100_000_000_000u64 + (g * 200 + a) as u64), "eu-west-1".to_owned()))
                    .collect(),
            }
        })
        .collect();
    let plan = Plan {
        stack_set: "bench".into(),
        template: template(),
        types: &catalog.resource_types,
        parameters: Default::default(),
        role: ExecutionRole::service_managed(),
        groups,
        unchecked: Vec::new(),
    };
    bencher.bench_local(|| {
        let r = preflight::run(black_box(&plan), d);
        assert!(r.predicted_denies.len() >= 5 * 200);
        r.predicted_denies.len()
    });
}
