//! Which service records a resource's calls in CloudTrail (`eventSource`), and in which Region: a resource type's
//! handler calls its own service, whose events CloudTrail files under that service's name; the global services'
//! events are in US East (N. Virginia) only (docs/cloudtrail-collection.md#regions).

/// Where the Lookup service shows the events of global services, whatever Region the call was made from.
pub const GLOBAL_REGION: &str = "us-east-1";

/// (the `AWS::<Service>::` part of a resource type, its `eventSource`, whether it is a global service). Only
/// services whose event source is known for certain: an unknown one is searched without it.
const SOURCES: &[(&str, &str, bool)] = &[
    ("ApiGateway", "apigateway.amazonaws.com", false),
    ("CloudFront", "cloudfront.amazonaws.com", true),
    ("CloudTrail", "cloudtrail.amazonaws.com", false),
    ("CloudWatch", "monitoring.amazonaws.com", false),
    ("Config", "config.amazonaws.com", false),
    ("DynamoDB", "dynamodb.amazonaws.com", false),
    ("EC2", "ec2.amazonaws.com", false),
    ("ECR", "ecr.amazonaws.com", false),
    ("ECS", "ecs.amazonaws.com", false),
    ("Events", "events.amazonaws.com", false),
    ("GuardDuty", "guardduty.amazonaws.com", false),
    ("IAM", "iam.amazonaws.com", true),
    ("KMS", "kms.amazonaws.com", false),
    ("Lambda", "lambda.amazonaws.com", false),
    ("Logs", "logs.amazonaws.com", false),
    ("RDS", "rds.amazonaws.com", false),
    ("S3", "s3.amazonaws.com", false),
    ("SNS", "sns.amazonaws.com", false),
    ("SQS", "sqs.amazonaws.com", false),
    ("SSM", "ssm.amazonaws.com", false),
    ("SecretsManager", "secretsmanager.amazonaws.com", false),
    ("SecurityHub", "securityhub.amazonaws.com", false),
    ("StepFunctions", "states.amazonaws.com", false),
];

/// Services whose events CloudTrail records in us-east-1 wherever the caller is (docs/cloudtrail.md#global-services):
/// the global ones of the table, and the services no resource type names.
const GLOBAL_SOURCES: [&str; 5] = [
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "cloudfront.amazonaws.com",
    "route53.amazonaws.com",
    "signin.amazonaws.com",
];

/// Whether an event source is a global service's (its events are in [`GLOBAL_REGION`]).
pub fn is_global_source(event_source: &str) -> bool {
    GLOBAL_SOURCES.contains(&event_source)
}

/// The service prefix of a resource type as its events name it (`AWS::S3::Bucket` → `s3`): the table's event
/// source when the type is in it, else the type's service part in lower case (`AWS::ElasticLoadBalancingV2::…` →
/// `elasticloadbalancing`).
pub fn service_of_type(resource_type: &str) -> Option<String> {
    if let Some((source, _)) = event_source(resource_type) {
        return Some(source.trim_end_matches(".amazonaws.com").to_owned());
    }
    let mut parts = resource_type.split("::");
    let (Some("AWS"), Some(service)) = (parts.next(), parts.next()) else {
        return None;
    };
    let s = service.to_ascii_lowercase();
    Some(s.strip_suffix("v2").map(str::to_owned).unwrap_or(s))
}

/// A resource type's event source and whether its service is global; None for types whose calls are not the
/// resource's own service's (stacks, custom resources, modules) or whose service is not in the table.
pub fn event_source(resource_type: &str) -> Option<(&'static str, bool)> {
    let service = resource_type.strip_prefix("AWS::")?.split("::").next()?;
    SOURCES
        .iter()
        .find(|(s, _, _)| *s == service)
        .map(|&(_, source, global)| (source, global))
}

/// The Region whose event history holds the calls for a resource of `resource_type` in a stack of `region`.
pub fn lookup_region<'a>(resource_type: &str, region: &'a str) -> &'a str {
    match event_source(resource_type) {
        Some((_, true)) => GLOBAL_REGION,
        _ => region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_name_their_service_and_region() {
        assert_eq!(
            event_source("AWS::S3::Bucket"),
            Some(("s3.amazonaws.com", false))
        );
        assert_eq!(
            event_source("AWS::IAM::Role"),
            Some(("iam.amazonaws.com", true))
        );
        assert_eq!(
            event_source("AWS::StepFunctions::StateMachine"),
            Some(("states.amazonaws.com", false))
        );
        for none in [
            "AWS::CloudFormation::Stack",
            "Custom::Thing",
            "AWS::CloudFormation::CustomResource",
            "AWS::Unheard::Of",
            "S3::Bucket",
        ] {
            assert_eq!(event_source(none), None, "{none}");
        }
        assert_eq!(
            lookup_region("AWS::IAM::Role", "ap-northeast-1"),
            "us-east-1"
        );
        assert_eq!(
            lookup_region("AWS::S3::Bucket", "ap-northeast-1"),
            "ap-northeast-1"
        );
        assert_eq!(lookup_region("Custom::X", "eu-west-1"), "eu-west-1");
    }

    #[test]
    fn the_table_is_sorted_and_unique() {
        assert!(SOURCES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(SOURCES
            .iter()
            .all(|(_, s, _)| s.ends_with(".amazonaws.com")));
    }
}
