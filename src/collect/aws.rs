//! The AWS side of live collection: SDK configuration, the read-only guard, call counting, and turning SDK
//! errors into one-line reasons for the coverage section.
//!
//! Every client the collector builds goes through [`Sdk::cloudformation`] and friends, which attach the
//! [`CallLog`] interceptor. That interceptor refuses, before anything is sent, any operation that is not in
//! [`READ_ONLY_OPERATIONS`]: the tool cannot mutate an account even by a bug.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;

use crate::error::Error;

/// Every operation the tool may call, as `Service:Operation` (the SDK's own names). All are reads (CloudTrail's
/// `LookupEvents` searches the event history), but `STS:AssumeRole`, which only obtains read credentials in a
/// member account. The README's IAM policy lists
/// the same set; a test checks both.
pub const READ_ONLY_OPERATIONS: &[&str] = &[
    "STS:GetCallerIdentity",
    "STS:AssumeRole",
    "CloudFormation:ListStackSets",
    "CloudFormation:DescribeStackSet",
    "CloudFormation:ListStackSetOperations",
    "CloudFormation:DescribeStackSetOperation",
    "CloudFormation:ListStackSetOperationResults",
    "CloudFormation:ListStackInstances",
    "CloudFormation:DescribeStackInstance",
    "CloudFormation:DescribeStacks",
    "CloudFormation:DescribeStackEvents",
    "CloudFormation:DescribeEvents",
    "CloudFormation:GetHookResult",
    "Organizations:DescribeOrganization",
    "Organizations:ListParents",
    "Organizations:ListPoliciesForTarget",
    "Organizations:DescribePolicy",
    "Organizations:ListAccountsForParent",
    "Organizations:ListChildren",
    "SSM:DescribeAutomationExecutions",
    "SSM:GetAutomationExecution",
    "SSM QuickSetup:ListConfigurationManagers",
    "CloudTrail:LookupEvents",
];

/// How the SDK is set up: where credentials and the region come from, retries and timeouts.
#[derive(Debug, Clone)]
pub struct SdkOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// Per attempt; a call that hangs longer is retried, then recorded as a gap.
    pub attempt_timeout: Duration,
    /// Attempts per call, with adaptive retry (client-side rate limiting once AWS throttles).
    pub max_attempts: u32,
}

impl Default for SdkOptions {
    fn default() -> Self {
        SdkOptions {
            profile: None,
            region: None,
            endpoint_url: None,
            attempt_timeout: Duration::from_secs(20),
            max_attempts: 6,
        }
    }
}

/// A service's config builder from the shared SDK configuration, with the guard (call log) and any extra
/// interceptors attached: every client is built through this, so none escapes the read-only guard. (The
/// service crates' builders share these methods but no trait, hence a macro.)
macro_rules! guarded_builder {
    ($sdk:expr, $service:ident) => {{
        let mut b = $service::config::Builder::from(&$sdk.config)
            .interceptor(SharedInterceptor::new($sdk.log.clone()));
        for i in &$sdk.extra {
            b = b.interceptor(i.clone());
        }
        b
    }};
}

/// A loaded SDK configuration plus the interceptors every client gets (the call log; in tests also mocks).
/// Why profile `name` cannot be used, when neither the config file nor the credentials file defines it (the
/// files the AWS CLI reads: `AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
/// `~/.aws/credentials`).
fn profile_missing(name: &str) -> Option<String> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let config = file("AWS_CONFIG_FILE", "config");
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let has = |path: &Option<std::path::PathBuf>, headers: &[String]| {
        path.as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|text| {
                text.lines().any(|l| {
                    let l: String = l.split_whitespace().collect::<Vec<_>>().join(" ");
                    headers.contains(&l)
                })
            })
    };
    let in_config = has(&config, &[format!("[profile {name}]"), format!("[{name}]")]);
    let in_credentials = has(&credentials, &[format!("[{name}]")]);
    if in_config || in_credentials {
        return None;
    }
    let shown = |p: &Option<std::path::PathBuf>| {
        p.as_ref().map_or("(no home directory)".to_owned(), |p| {
            p.display().to_string()
        })
    };
    Some(format!(
        "profile {name:?} is not defined in {} or {} (aws configure list-profiles lists the ones there are)",
        shown(&config),
        shown(&credentials)
    ))
}

#[derive(Clone)]
pub struct Sdk {
    pub config: SdkConfig,
    pub log: CallLog,
    extra: Vec<SharedInterceptor>,
}

impl Sdk {
    /// Load the standard credential chain (environment, profiles, SSO, IMDS) and region, as the AWS CLI does.
    pub async fn load(o: &SdkOptions) -> Result<Sdk, Error> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::adaptive()
                    .with_max_attempts(o.max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(o.attempt_timeout)
                    .build(),
            );
        if let Some(p) = &o.profile {
            // Said as such, before the SDK reports what the missing profile would have given ("no region").
            if let Some(missing) = profile_missing(p) {
                return Err(Error::Aws {
                    what: "profile".into(),
                    reason: missing,
                });
            }
            loader = loader.profile_name(p);
        }
        if let Some(r) = &o.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(u) = &o.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        let config = loader.load().await;
        Sdk::from_config(config, Vec::new())
    }

    /// An SDK from a ready configuration and extra interceptors (tests put mock responses here).
    pub fn from_config(config: SdkConfig, extra: Vec<SharedInterceptor>) -> Result<Sdk, Error> {
        if config.region().is_none() {
            return Err(Error::Aws {
                what: "configuration".into(),
                reason: "no AWS region: pass --region, set AWS_REGION, or set one in the profile"
                    .into(),
            });
        }
        Ok(Sdk {
            config,
            log: CallLog::default(),
            extra,
        })
    }

    pub fn region(&self) -> String {
        self.config
            .region()
            .map(|r| r.to_string())
            .unwrap_or_default()
    }

    pub fn cloudformation(
        &self,
        region: Option<&str>,
        creds: Option<&Credentials>,
    ) -> aws_sdk_cloudformation::Client {
        let mut b = guarded_builder!(self, aws_sdk_cloudformation);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        if let Some(c) = creds {
            b = b.credentials_provider(c.clone());
        }
        aws_sdk_cloudformation::Client::from_conf(b.build())
    }

    /// CloudTrail in `region`, with a member account's credentials (None: the caller's own).
    pub fn cloudtrail(
        &self,
        region: &str,
        creds: Option<&Credentials>,
    ) -> aws_sdk_cloudtrail::Client {
        let mut b =
            guarded_builder!(self, aws_sdk_cloudtrail).region(Region::new(region.to_owned()));
        if let Some(c) = creds {
            b = b.credentials_provider(c.clone());
        }
        aws_sdk_cloudtrail::Client::from_conf(b.build())
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::from_conf(guarded_builder!(self, aws_sdk_sts).build())
    }

    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::from_conf(
            guarded_builder!(self, aws_sdk_organizations).build(),
        )
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::from_conf(guarded_builder!(self, aws_sdk_ssm).build())
    }

    pub fn quick_setup(&self) -> aws_sdk_ssmquicksetup::Client {
        aws_sdk_ssmquicksetup::Client::from_conf(
            guarded_builder!(self, aws_sdk_ssmquicksetup).build(),
        )
    }
}

/// Counts calls (per operation) and HTTP attempts, and refuses any operation outside the allow-list.
/// Cloning shares the counts: every client of one run adds to the same log.
#[derive(Debug, Default, Clone)]
pub struct CallLog {
    inner: Arc<LogInner>,
}

#[derive(Debug, Default)]
struct LogInner {
    calls: Mutex<BTreeMap<String, u64>>,
    attempts: AtomicU64,
    refused: Mutex<Vec<String>>,
}

impl CallLog {
    /// Calls made, per `Service:Operation`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.inner
            .calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// HTTP attempts, retries included.
    pub fn attempts(&self) -> u64 {
        self.inner.attempts.load(Ordering::Relaxed)
    }

    /// Operations the guard refused (always empty unless the code has a bug; tests assert it).
    pub fn refused(&self) -> Vec<String> {
        self.inner
            .refused
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

fn operation_name(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(m) => format!("{}:{}", m.service(), m.name()),
        None => "unknown:unknown".into(),
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "stackset-doctor read-only guard"
    }

    // The operation's metadata is in the config bag from serialization on (not yet at `read_before_execution`);
    // this still runs before any request is built or sent.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = operation_name(cfg);
        if !READ_ONLY_OPERATIONS.contains(&op.as_str()) {
            if let Ok(mut r) = self.inner.refused.lock() {
                r.push(op.clone());
            }
            return Err(
                format!("refused: {op} is not a read-only operation this tool may call").into(),
            );
        }
        if let Ok(mut c) = self.inner.calls.lock() {
            *c.entry(op).or_default() += 1;
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.inner.attempts.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// One line saying why a call failed, for the coverage section: the service's error code and message, or
/// what went wrong on the way (timeout, connection, unreadable answer).
pub fn describe_error<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::TimeoutError(_) => {
            "timed out (no answer within the attempt timeout, after retries)".into()
        }
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            "timed out (no answer within the attempt timeout, after retries)".into()
        }
        SdkError::DispatchFailure(d) if d.is_io() => {
            format!("could not reach the endpoint: {}", chain(e))
        }
        _ => match (e.code(), e.message()) {
            (Some(code), msg) => {
                let throttled = is_throttling(code);
                let mut s = code.to_owned();
                if throttled {
                    s.push_str(" (throttled: retries exhausted)");
                }
                if let Some(m) = msg.filter(|m| !m.is_empty()) {
                    s.push_str(": ");
                    s.push_str(m);
                }
                s
            }
            (None, _) => chain(e),
        },
    }
}

/// An error and its sources as `outer: inner: innermost`, without the SDK's debug dump.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The service's error code of a failed call, if it got that far.
pub fn error_code<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The allow-list holds reads only: every entry is a Describe/List/Get, CloudTrail's LookupEvents (a search
    /// of the event history), or AssumeRole (which only obtains credentials to read a member account's stack
    /// events).
    #[test]
    fn allow_list_is_read_only() {
        for op in READ_ONLY_OPERATIONS {
            let (_, name) = op.rsplit_once(':').unwrap();
            assert!(
                ["Describe", "List", "Get"]
                    .iter()
                    .any(|p| name.starts_with(p))
                    || *op == "STS:AssumeRole"
                    || *op == "CloudTrail:LookupEvents",
                "{op} is not a read"
            );
        }
    }

    /// The README's IAM policy grants exactly the allowed operations (as IAM actions).
    #[test]
    /// The README's IAM policy allows exactly the operations the guard lets through: nothing more, nothing less.
    fn readme_policy_matches_allow_list() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("### IAM permissions")
            .and_then(|i| readme[i..].find("```json").map(|j| i + j + "```json".len()))
            .expect("the README has an IAM policy");
        let end = start + readme[start..].find("```").expect("the policy block ends");
        let policy: serde_json::Value =
            serde_json::from_str(&readme[start..end]).expect("the README's policy is JSON");
        let in_readme: std::collections::BTreeSet<String> = policy["Statement"]
            .as_array()
            .expect("statements")
            .iter()
            .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        let guarded: std::collections::BTreeSet<String> = READ_ONLY_OPERATIONS
            .iter()
            .map(|op| {
                let (svc, name) = op.rsplit_once(':').expect("Service:Operation");
                let prefix = match svc {
                    "STS" => "sts",
                    "CloudFormation" => "cloudformation",
                    "Organizations" => "organizations",
                    "SSM" => "ssm",
                    "SSM QuickSetup" => "ssm-quicksetup",
                    "CloudTrail" => "cloudtrail",
                    other => panic!("unknown service {other}"),
                };
                format!("{prefix}:{name}")
            })
            .collect();
        assert_eq!(in_readme, guarded);
    }
}
