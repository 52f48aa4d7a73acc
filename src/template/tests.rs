//! Substitution on the idioms real templates use (docs/cross-stack-links.md#substitution).

use std::collections::HashMap;

use super::needs::{named_by_resource, named_in_message};
use super::pattern::Target;
use super::provides::provided;
use super::resolve::Scope;
use super::types::IdKind;
use super::Template;
use crate::classify::Catalog;

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Prefix:
    Type: String
    Default: org
  Env:
    Type: String
  RolePath:
    Type: String
    Default: /service/
Mappings:
  RegionMap:
    eu-west-1: { Short: euw1 }
    us-east-1: { Short: use1 }
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub '${Prefix}-app-${AWS::Region}'
      Path: !Ref RolePath
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Join ['-', [!Ref Prefix, alerts, !Ref Env]]
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub
        - '${P}-jobs-${Short}'
        - P: !Ref Prefix
          Short: !FindInMap [RegionMap, !Ref 'AWS::Region', Short]
  Bucket:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: !Sub 'acme-logs-${AWS::AccountId}'
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Bucket
  Key:
    Type: AWS::KMS::Key
  KeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/org-logs
      TargetKeyId: !Ref Key
  Generated:
    Type: AWS::SNS::Topic
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Role: !GetAtt AppRole.Arn
      Environment:
        Variables:
          TOPIC: !Ref Topic
          QUEUE: !GetAtt Queue.QueueUrl
          VPC: !ImportValue org-network-VpcId
          KEY: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/org-logs'
Outputs:
  TopicArn:
    Value: !Ref Topic
    Export:
      Name: !Sub '${Prefix}-alerts-topic'
"#;

fn target<'a>(region: &'a str, partition: &'a str) -> Target<'a> {
    Target {
        account: "111122223333",
        region,
        partition,
    }
}

fn with<R>(values: &[(&str, &str)], f: impl FnOnce(&Scope<'_>) -> R) -> R {
    let catalog = Catalog::builtin().unwrap();
    let t = Template::parse(TEMPLATE).unwrap();
    let values: HashMap<String, String> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let scope = Scope {
        template: &t,
        types: &catalog.resource_types,
        values: &values,
        stack_set: "org-base",
        target: Some(target("eu-west-1", "aws")),
    };
    f(&scope)
}

fn id(scope: &Scope<'_>, logical: &str, kind: IdKind, t: &Target<'_>) -> Option<String> {
    let r = scope.template.resource(logical)?;
    scope
        .identifiers(r)
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, p)| p.render(t))
}

#[test]
fn sub_with_pseudo_parameters_paths_and_partitions() {
    with(&[("Env", "prod")], |s| {
        let t = target("eu-west-1", "aws");
        assert_eq!(
            id(s, "AppRole", IdKind::Name, &t).as_deref(),
            Some("org-app-eu-west-1")
        );
        assert_eq!(
            id(s, "AppRole", IdKind::Arn, &t).as_deref(),
            Some("arn:aws:iam::111122223333:role/service/org-app-eu-west-1")
        );
        let cn = target("cn-north-1", "aws-cn");
        assert_eq!(
            id(s, "AppRole", IdKind::Arn, &cn).as_deref(),
            Some("arn:aws-cn:iam::111122223333:role/service/org-app-cn-north-1")
        );
        assert_eq!(
            id(s, "Bucket", IdKind::Arn, &t).as_deref(),
            Some("arn:aws:s3:::acme-logs-111122223333")
        );
        assert_eq!(
            id(s, "KeyAlias", IdKind::Arn, &t).as_deref(),
            Some("arn:aws:kms:eu-west-1:111122223333:alias/org-logs")
        );
    });
}

#[test]
fn parameters_take_overrides_then_defaults_and_join_and_mappings_resolve() {
    with(&[("Env", "prod"), ("Prefix", "acme")], |s| {
        let t = target("eu-west-1", "aws");
        assert_eq!(
            id(s, "Topic", IdKind::Name, &t).as_deref(),
            Some("acme-alerts-prod")
        );
        assert_eq!(
            id(s, "Queue", IdKind::Url, &t).as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/111122223333/acme-jobs-euw1")
        );
    });
    // No value for Env and no default: that part is unknown.
    with(&[], |s| {
        let t = target("eu-west-1", "aws");
        assert_eq!(
            id(s, "Topic", IdKind::Name, &t).as_deref(),
            Some("org-alerts-*")
        );
    });
}

#[test]
fn what_a_template_provides_and_what_a_resource_names() {
    with(&[("Env", "prod")], |s| {
        let p = provided(s);
        let by = |l: &str| p.iter().find(|x| x.logical_id == l && x.output.is_none());
        assert!(
            by("Generated").is_none(),
            "a generated name is nobody's to name"
        );
        assert!(by("Key").is_none());
        let bucket = by("Bucket").unwrap();
        assert!(bucket.retained);
        assert_eq!(bucket.dependants, vec!["BucketPolicy".to_owned()]);
        let export = p
            .iter()
            .find(|x| x.output.as_deref() == Some("TopicArn"))
            .unwrap();
        assert_eq!(export.logical_id, "Topic");
        assert_eq!(export.ids[0].0, IdKind::Export);
        // Every identifier matches its own rendering in any account, and captures where it lives.
        let t = target("eu-west-1", "aws");
        for x in &p {
            for (_, pat) in &x.ids {
                let re = regex::Regex::new(&pat.regex()).unwrap();
                assert!(re.is_match(&pat.render(&t)), "{} {pat}", x.logical_id);
            }
        }
        let f = s.template.resource("Function").unwrap();
        let named = named_by_resource(s, f, &t);
        let get = |place: &str| {
            named
                .iter()
                .find(|n| n.place == place)
                .map(|n| (n.text.as_str(), n.import))
        };
        assert_eq!(
            get("Role"),
            Some((
                "arn:aws:iam::111122223333:role/service/org-app-eu-west-1",
                false
            ))
        );
        assert_eq!(
            get("Environment.Variables.TOPIC"),
            Some(("arn:aws:sns:eu-west-1:111122223333:org-alerts-prod", false))
        );
        assert_eq!(
            get("Environment.Variables.VPC"),
            Some(("org-network-VpcId", true))
        );
        assert_eq!(
            get("Environment.Variables.KEY"),
            Some(("arn:aws:kms:eu-west-1:111122223333:alias/org-logs", false))
        );
    });
}

#[test]
fn json_templates_and_broken_ones() {
    let catalog = Catalog::builtin().unwrap();
    let t = Template::parse(r#"{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Join": ["-", ["app", {"Ref": "AWS::Region"}]]}}}}}"#).unwrap();
    let values = HashMap::new();
    let s = Scope {
        template: &t,
        types: &catalog.resource_types,
        values: &values,
        stack_set: "x",
        target: None,
    };
    let p = provided(&s);
    assert_eq!(
        p[0].ids[0].1.render(&target("us-east-1", "aws")),
        "app-us-east-1"
    );
    assert!(Template::parse("{not json").is_err());
    assert!(Template::parse("a: [1, 2\nb: c").is_err());
}

#[test]
fn messages_name_arns_and_quoted_names() {
    let n = named_in_message("The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:us-east-1:111122223333:log-group:/app/audit'");
    assert_eq!(
        n[0].text,
        "arn:aws:logs:us-east-1:111122223333:log-group:/app/audit"
    );
    let n =
        named_in_message("No export named org-network-VpcId found. Rollback requested by user.");
    assert_eq!(n[0].text, "org-network-VpcId");
}

#[test]
fn references_that_multiply_are_bounded() {
    // Each bucket's name joins forty references to the one before: resolved in full, the last would be 40^6
    // pieces long (a fuzzer's finding: a 2.7 KB template that never finished).
    let mut text = String::from(
        "Resources:\n  R0:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: x\n",
    );
    for i in 1..7 {
        let refs = vec![format!("!Ref R{}", i - 1); 40].join(", ");
        text.push_str(&format!(
            "  R{i}:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Join ['', [{refs}]]\n"
        ));
    }
    let catalog = Catalog::builtin().unwrap();
    let t = Template::parse(&text).unwrap();
    let values = HashMap::new();
    let s = Scope {
        template: &t,
        types: &catalog.resource_types,
        values: &values,
        stack_set: "x",
        target: None,
    };
    let started = std::time::Instant::now();
    let p = provided(&s);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let name = |logical: &str| {
        p.iter()
            .find(|p| p.logical_id == logical)
            .and_then(|p| p.ids.iter().find(|(k, _)| *k == IdKind::Name))
            .map(|(_, n)| n.render(&target("us-east-1", "aws")))
    };
    // Within the budget, references resolve; past it, the rest of a name is unknown rather than late.
    assert_eq!(name("R1").as_deref(), Some("x".repeat(40).as_str()));
    let r2 = name("R2").expect("R2 has a name");
    assert!(
        r2.starts_with(&"x".repeat(40)) && r2.ends_with("x*"),
        "{r2}"
    );
    for logical in ["R3", "R4", "R5", "R6"] {
        if let Some(n) = name(logical) {
            assert!(
                n.trim_end_matches('*').chars().all(|c| c == 'x'),
                "{logical}: {n}"
            );
        }
    }
}
