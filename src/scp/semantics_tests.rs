//! Table-driven semantics suite: each row names its source (docs/scp-semantics.md section, or the AWS IAM User
//! Guide / Organizations User Guide page), so a reader can re-check the expectation.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// An explicit deny.
    Deny,
    /// An implicit deny (a level without an Allow).
    Implicit,
    Allow,
    /// SCPs/RCPs do not apply (service-linked role, management account).
    NotAffected,
    Cannot,
}

struct Case {
    src: &'static str,
    name: &'static str,
    policy: String,
    principal: &'static str,
    action: &'static str,
    resource: Option<&'static str>,
    account: Option<&'static str>,
    context: Vec<(&'static str, &'static str)>,
    want: Want,
}

const P: &str = "arn:aws:iam::111122223333:role/R";

/// A Deny statement (JSON object text) in a 2012-10-17 document; or a whole document / levels file as given.
fn case(src: &'static str, name: &'static str, policy: &str) -> Case {
    let policy = if policy.contains("\"Statement\"") || policy.contains("\"levels\"") {
        policy.to_owned()
    } else {
        format!(r#"{{"Version": "2012-10-17", "Statement": [{policy}]}}"#)
    };
    Case {
        src,
        name,
        policy,
        principal: P,
        action: "s3:GetObject",
        resource: None,
        account: None,
        context: Vec::new(),
        want: Want::Deny,
    }
}

impl Case {
    fn action(mut self, a: &'static str) -> Case {
        self.action = a;
        self
    }
    fn res(mut self, r: &'static str) -> Case {
        self.resource = Some(r);
        self
    }
    fn who(mut self, p: &'static str) -> Case {
        self.principal = p;
        self
    }
    fn account(mut self, a: &'static str) -> Case {
        self.account = Some(a);
        self
    }
    fn ctx(mut self, k: &'static str, v: &'static str) -> Case {
        self.context.push((k, v));
        self
    }
    fn want(mut self, w: Want) -> Case {
        self.want = w;
        self
    }
    fn run(&self) -> (Want, Evaluation) {
        let path = load_path(&[("case.json".to_owned(), self.policy.clone())])
            .unwrap_or_else(|e| panic!("{}: policy does not load: {e}", self.name));
        let mut r = Request::new(self.principal, self.action);
        if let Some(res) = self.resource {
            r = r.with_resource(res);
        }
        if let Some(a) = self.account {
            r = r.with_account(a);
        }
        for (k, v) in &self.context {
            r = r.with_context(k, v);
        }
        let ev = evaluate(&path, &r);
        let got = match ev.verdict {
            Verdict::Allowed => Want::Allow,
            Verdict::NotAffected { .. } => Want::NotAffected,
            Verdict::ExplicitDeny { .. } => Want::Deny,
            Verdict::ImplicitDeny { .. } => Want::Implicit,
            Verdict::CannotEvaluate { .. } => Want::Cannot,
        };
        (got, ev)
    }
}

use Want::*;

fn cases() -> Vec<Case> {
    vec![
        // ---- Action / NotAction -------------------------------------------------------------------------
        // docs/scp-semantics.md#actions-and-resources: action names are case-insensitive.
        case("docs/scp-semantics.md#actions-and-resources Actions: case-insensitive", "action case", r#"{"Effect":"Deny","Action":"S3:GETOBJECT","Resource":"*"}"#),
        // docs/scp-semantics.md#actions-and-resources: * and ? anywhere in the name part.
        case("docs/scp-semantics.md#actions-and-resources Actions: wildcards", "action inner star", r#"{"Effect":"Deny","Action":"iam:*AccessKey*","Resource":"*"}"#)
            .action("iam:CreateAccessKey"),
        case("docs/scp-semantics.md#actions-and-resources Actions: wildcards", "action ?", r#"{"Effect":"Deny","Action":"s3:Get?bject","Resource":"*"}"#),
        case("IAM guide, IAM JSON policy elements: Action", "action mismatch", r#"{"Effect":"Deny","Action":["s3:Put*","s3:Delete*"],"Resource":"*"}"#)
            .want(Allow),
        // docs/scp-semantics.md#actions-and-resources: NotAction in a Deny denies every action not listed.
        case("docs/scp-semantics.md#actions-and-resources NotAction", "NotAction denies unlisted", r#"{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*"}"#),
        case("docs/scp-semantics.md#actions-and-resources NotAction", "NotAction spares listed", r#"{"Effect":"Deny","NotAction":["iam:*","sts:*"],"Resource":"*"}"#)
            .action("IAM:ListRoles")
            .want(Allow),
        // ---- Resource / NotResource -----------------------------------------------------------------------
        case("docs/scp-semantics.md#actions-and-resources NotResource", "NotResource denies other", r#"{"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::safe/*"}"#)
            .res("arn:aws:s3:::other/x"),
        case("docs/scp-semantics.md#actions-and-resources NotResource", "NotResource spares listed", r#"{"Effect":"Deny","Action":"s3:*","NotResource":["arn:aws:s3:::safe","arn:aws:s3:::safe/*"]}"#)
            .res("arn:aws:s3:::safe/x")
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: ARNs are case-sensitive.
        case("docs/scp-semantics.md#actions-and-resources ARN case", "resource case-sensitive", r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::Bucket"}"#)
            .res("arn:aws:s3:::bucket")
            .want(Allow),
        case("IAM guide, IAM JSON policy elements: Resource", "resource star crosses /", r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#)
            .res("arn:aws:s3:::b/a/c"),
        case("IAM guide, Resource (our rule: no guessing)", "resource needed", r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::b"}"#)
            .want(Cannot),
        // ---- String operators -----------------------------------------------------------------------------
        // docs/scp-semantics.md#condition-operators: StringEquals exact, case-sensitive value.
        case("docs/scp-semantics.md#condition-operators StringEquals case-sensitive", "value case", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"Dev"}}}"#)
            .ctx("aws:PrincipalTag/team", "dev")
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: KEY names are case-insensitive.
        case("docs/scp-semantics.md#condition-operators key names case-insensitive", "key case", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":"dev"}}}"#)
            .ctx("aws:PrincipalTag/team", "dev"),
        case("docs/scp-semantics.md#condition-operators ...IgnoreCase", "StringEqualsIgnoreCase", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"DEV"}}}"#)
            .ctx("aws:PrincipalTag/team", "dev"),
        case("docs/scp-semantics.md#condition-operators ...IgnoreCase", "StringNotEqualsIgnoreCase", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"DEV"}}}"#)
            .ctx("aws:PrincipalTag/team", "dev")
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: StringLike * may cross : and /.
        case("docs/scp-semantics.md#condition-operators StringLike", "StringLike star crosses", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*R"}}}"#),
        case("docs/scp-semantics.md#condition-operators StringLike", "StringLike ? one char", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/??"}}}"#)
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: negated operators are true.
        case("docs/scp-semantics.md#condition-operators missing key (negated)", "StringNotEquals missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}}"#),
        case("docs/scp-semantics.md#condition-operators missing key", "StringEquals missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#)
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators ...IfExists", "StringEqualsIfExists missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}"#),
        case("docs/scp-semantics.md#condition-operators ...IfExists (present)", "StringEqualsIfExists present", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-1"}}}"#)
            .ctx("aws:PrincipalOrgID", "o-2")
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: several values for a key are OR; negated: matches none of them.
        case("docs/scp-semantics.md#condition-operators values OR", "values OR", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}"#)
            .ctx("aws:RequestedRegion", "us-east-1"),
        case("docs/scp-semantics.md#condition-operators negated: none of", "negated list", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}"#)
            .ctx("aws:RequestedRegion", "us-east-1")
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: several keys or operators are AND.
        case("docs/scp-semantics.md#condition-operators keys AND", "keys AND", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1","aws:PrincipalTag/team":"a"}}}"#)
            .ctx("aws:RequestedRegion", "us-east-1")
            .ctx("aws:PrincipalTag/team", "b")
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators operators AND", "operators AND", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"Bool":{"aws:SecureTransport":"false"}}}"#)
            .ctx("aws:RequestedRegion", "us-east-1")
            .ctx("aws:SecureTransport", "false"),
        // ---- ARN operators ----------------------------------------------------------------------------------
        case("docs/scp-semantics.md#condition-operators Arn*: case-sensitive", "ArnLike case", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/r"}}}"#)
            .want(Allow),
        // docs/scp-semantics.md#condition-operators: a policy value with fewer than six parts matches nothing.
        case("docs/scp-semantics.md#condition-operators Arn*: fewer than six parts", "ArnLike short never matches", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}}"#)
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators Arn*: fewer than six parts", "ArnNotLike short exempts nobody", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":["*","arn:aws:iam::*"]}}}"#),
        // docs/scp-semantics.md#condition-operators: part-wise, the account star does not cover a role path.
        case("docs/scp-semantics.md#condition-operators Arn*: part by part", "ArnNotLike path", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/R"}}}"#)
            .who("arn:aws:iam::111122223333:role/team/R"),
        case("docs/scp-semantics.md#condition-operators ArnEquals == ArnLike", "ArnEquals wildcard", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}"#),
        case("docs/scp-semantics.md#condition-operators ArnNotEquals == ArnNotLike", "ArnNotEquals wildcard", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}"#)
            .want(Allow),
        // ---- Bool / Null ----------------------------------------------------------------------------------
        case("docs/scp-semantics.md#condition-operators Bool", "Bool false", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#)
            .ctx("aws:SecureTransport", "false"),
        case("docs/scp-semantics.md#condition-operators Bool", "Bool true vs false", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":false}}}"#)
            .ctx("aws:SecureTransport", "true")
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators missing key", "Bool missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#)
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators ...IfExists", "BoolIfExists missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#),
        // docs/scp-semantics.md#condition-operators: Null "true" means the key is absent.
        case("docs/scp-semantics.md#condition-operators Null", "Null true absent", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}"#),
        case("docs/scp-semantics.md#condition-operators Null", "Null true present", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:TokenIssueTime":"true"}}}"#)
            .ctx("aws:TokenIssueTime", "2024-01-01T00:00:00Z")
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators Null", "Null false present", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Null":{"aws:ResourceTag/owner":false}}}"#)
            .ctx("aws:ResourceTag/owner", "x"),
        // ---- Numeric --------------------------------------------------------------------------------------
        case("IAM guide, Numeric condition operators", "NumericLessThan", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}"#)
            .ctx("s3:max-keys", "5"),
        case("IAM guide, Numeric condition operators", "NumericGreaterThanEquals equal", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThanEquals":{"aws:MultiFactorAuthAge":3600}}}"#)
            .ctx("aws:MultiFactorAuthAge", "3600"),
        case("IAM guide, Numeric condition operators", "NumericGreaterThan false", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericGreaterThan":{"aws:MultiFactorAuthAge":"3600"}}}"#)
            .ctx("aws:MultiFactorAuthAge", "3600")
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators missing key (negated)", "NumericNotEquals missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericNotEquals":{"s3:max-keys":"10"}}}"#),
        case("IAM guide, Numeric (our rule: no guessing)", "Numeric bad request value", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"10"}}}"#)
            .ctx("s3:max-keys", "many")
            .want(Cannot),
        // ---- Date -----------------------------------------------------------------------------------------
        case("IAM guide, Date condition operators", "DateGreaterThan", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}"#)
            .ctx("aws:CurrentTime", "2024-06-01T12:00:00Z"),
        case("IAM guide, Date condition operators (epoch)", "DateLessThan epoch", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:EpochTime":"1577836800"}}}"#)
            .ctx("aws:EpochTime", "1700000000")
            .want(Allow),
        case("IAM guide, Date condition operators", "DateEquals date only", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateEquals":{"aws:CurrentTime":"2020-01-01"}}}"#)
            .ctx("aws:CurrentTime", "2020-01-01T00:00:00Z"),
        // ---- IP -------------------------------------------------------------------------------------------
        case("IAM guide, IP address condition operators", "NotIpAddress outside", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}"#)
            .ctx("aws:SourceIp", "198.51.100.7"),
        case("IAM guide, IP address condition operators", "NotIpAddress inside", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}"#)
            .ctx("aws:SourceIp", "203.0.113.9")
            .want(Allow),
        case("IAM guide, IP address condition operators (IPv6)", "IpAddress v6", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}}}"#)
            .ctx("aws:SourceIp", "2001:db8:1234:5678::1"),
        case("docs/scp-semantics.md#condition-operators missing key (negated)", "NotIpAddress missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}"#),
        // ---- ForAnyValue / ForAllValues -----------------------------------------------------------------------
        case("docs/scp-semantics.md#condition-operators ForAnyValue", "ForAnyValue one matches", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
            .ctx("aws:TagKeys", "c")
            .ctx("aws:TagKeys", "a"),
        case("docs/scp-semantics.md#condition-operators ForAnyValue: false when missing", "ForAnyValue missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["a"]}}}"#)
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators ForAllValues", "ForAllValues one outside", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
            .ctx("aws:TagKeys", "a")
            .ctx("aws:TagKeys", "c")
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators ForAllValues", "ForAllValues all inside", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}}"#)
            .ctx("aws:TagKeys", "b")
            .ctx("aws:TagKeys", "a"),
        case("docs/scp-semantics.md#condition-operators ForAllValues: true when missing", "ForAllValues missing", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}"#),
        case("IAM guide, Multivalued context keys (negated set)", "ForAnyValue:StringNotEquals", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["a","b"]}}}"#)
            .ctx("aws:TagKeys", "a")
            .ctx("aws:TagKeys", "z"),
        case("IAM guide, Multivalued context keys (negated set)", "ForAllValues:StringNotLike", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":["aws:*"]}}}"#)
            .ctx("aws:TagKeys", "aws:cloudformation:stack-name")
            .want(Allow),
        // ---- Policy variables -------------------------------------------------------------------------------
        case("IAM guide, Policy variables", "variable equal", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}}"#)
            .ctx("aws:ResourceAccount", "111122223333")
            .want(Allow),
        case("IAM guide, Policy variables", "variable differs", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}}"#)
            .ctx("aws:ResourceAccount", "444455556666"),
        case("IAM guide, Policy variables", "variable in ArnNotLike", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::${aws:PrincipalAccount}:role/R"}}}"#)
            .want(Allow),
        case("IAM guide, Policy variables (in Resource)", "variable in Resource", r#"{"Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::logs-${aws:PrincipalAccount}/*"}"#)
            .res("arn:aws:s3:::logs-111122223333/x"),
        case("IAM guide, Policy variables: need Version 2012-10-17", "no variables without a Version", r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"k":"${aws:PrincipalAccount}"}}}]}"#)
            .ctx("k", "${aws:PrincipalAccount}"),
        // ${*} is a literal star, not a wildcard.
        case("IAM guide, Policy variables: special characters", "literal star", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home${*}"}}}"#)
            .ctx("s3:prefix", "home/alice")
            .want(Allow),
        case("IAM guide, Policy variables: special characters", "literal star matches star", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringLike":{"s3:prefix":"home${*}"}}}"#)
            .ctx("s3:prefix", "home*"),
        case("IAM guide, Policy variables (our rule: no guessing)", "unresolved variable", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/owner}"}}}"#)
            .ctx("aws:PrincipalTag/team", "a")
            .want(Cannot),
        // ---- Principals / exemptions ----------------------------------------------------------------------
        case("docs/scp-semantics.md#scp-evaluation: not service-linked roles", "service-linked role exempt", r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#)
            .who("arn:aws:iam::111122223333:role/aws-service-role/cloudformation.amazonaws.com/AWSServiceRoleForCloudFormationStackSetsOrgMember")
            .want(NotAffected),
        case("docs/scp-semantics.md#scp-evaluation: member root users affected", "member root affected", r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#)
            .who("arn:aws:iam::111122223333:root"),
        case("docs/scp-semantics.md#condition-operators StackSets roles: not service-linked", "stacksets-exec affected", r#"{"Effect":"Deny","Action":"*","Resource":"*"}"#)
            .who("arn:aws:sts::111122223333:assumed-role/stacksets-exec-abc/s"),
        case("docs/scp-semantics.md#scp-evaluation: not the management account", "management account exempt", r#"{"management_account":"111122223333","levels":[{"name":"root","policies":["FullAWSAccess",{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}]}]}"#)
            .want(NotAffected),
        // ---- Levels -----------------------------------------------------------------------------------------
        // docs/scp-semantics.md#scp-evaluation: an Allow is required at every level.
        case("docs/scp-semantics.md#condition-operators every level needs an Allow", "level lacking Allow", r#"{"levels":[{"name":"root","policies":["FullAWSAccess"]},{"name":"ou","policies":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]},{"name":"acct","policies":["FullAWSAccess"]}]}"#)
            .action("ec2:RunInstances")
            .want(Implicit),
        case("docs/scp-semantics.md#condition-operators every level needs an Allow", "every level allows", r#"{"levels":[{"name":"root","policies":["FullAWSAccess"]},{"name":"ou","policies":[{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}]},{"name":"acct","policies":["FullAWSAccess"]}]}"#)
            .want(Allow),
        case("docs/scp-semantics.md#condition-operators a Deny at any level denies", "deny at account level", r#"{"levels":[{"name":"root","policies":["FullAWSAccess"]},{"name":"acct","policies":["FullAWSAccess",{"Statement":{"Effect":"Deny","Action":"s3:Get*","Resource":"*"}}]}]}"#),
        case("docs/scp-semantics.md#condition-operators every level needs an Allow", "level with no SCP at all", r#"{"levels":[{"name":"root","policies":["FullAWSAccess"]},{"name":"ou","policies":[]}]}"#)
            .want(Implicit),
        case("Orgs guide, SCP evaluation (full IAM language since 2025)", "conditional Allow", r#"{"levels":[{"name":"root","policies":[{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}}]}]}"#)
            .ctx("aws:RequestedRegion", "us-east-1")
            .want(Implicit),
        // ---- RCPs -------------------------------------------------------------------------------------------
        case("Orgs guide, RCPs: a Deny anywhere denies", "RCP outside org", r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-123"}}}"#)
            .ctx("aws:PrincipalOrgID", "o-999"),
        case("Orgs guide, RCPs", "RCP inside org", r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-123"}}}"#)
            .ctx("aws:PrincipalOrgID", "o-123")
            .want(Allow),
        case("Orgs guide, RCPs restrict resources, SCPs principals", "RCP applies cross-account", r#"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}"#)
            .account("444455556666"),
        case("Orgs guide, SCPs govern the account's own principals", "SCP skips other account's principal", r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#)
            .account("444455556666")
            .want(Allow),
        // ---- Unsupported constructs: "cannot evaluate", never a guess --------------------------------------
        case("our rule: no guessing", "unknown operator", r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringSortOf":{"k":"v"}}}"#)
            .want(Cannot),
        case("our rule: a definite Deny wins over an unknown", "definite deny wins", r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Foo":{"k":"v"}}},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#),
    ]
}

#[test]
fn semantics_table() {
    let mut failures = Vec::new();
    let all = cases();
    for c in &all {
        let (got, ev) = c.run();
        if got != c.want {
            failures.push(format!(
                "{} [{}]: want {:?}, got {:?}\n{}",
                c.name,
                c.src,
                c.want,
                got,
                {
                    let mut text = Vec::new();
                    let _ = super::write_check(&ev, &mut text);
                    String::from_utf8_lossy(&text).into_owned()
                }
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    assert!(all.len() >= 70);
}

#[test]
fn reasons_name_the_rule_applied() {
    // The per-condition reason says why, so a person can check it against the IAM guide.
    let c = case(
        "docs/scp-semantics.md#condition-operators missing key",
        "reason",
        r#"{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}"#,
    );
    let (_, ev) = c.run();
    let why = &ev.statements[0].conditions[0].why;
    assert!(
        why.contains("not in the request context") && why.contains("--context aws:PrincipalOrgID"),
        "{why}"
    );
}
