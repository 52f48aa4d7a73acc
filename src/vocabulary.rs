//! The domain's vocabulary, shared by every stage: what a failure can be (category, role, level), how one failure
//! explains another (link kinds and how much each is trusted), what the statuses AWS reports mean, the id of a
//! failure, and the deployment topologies that say which stack sets provide what.
//!
//! Nothing here depends on a stage; every stage depends on this.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The fixed category vocabulary. The category follows the innermost error a message names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    ScpDeny,
    RcpDeny,
    PermissionsBoundaryDeny,
    SessionPolicyDeny,
    IdentityPolicyMissing,
    VpcePolicyDeny,
    AccessDeniedOther,
    InvalidPrincipal,
    MalformedPolicy,
    AlreadyExists,
    CancelledCascade,
    StackRollup,
    StacksetExecutionRole,
    StacksetTrustedAccess,
    StacksetFailureTolerance,
    AccountGate,
    RegionNotEnabled,
    AccountSuspended,
    LimitExceeded,
    Throttling,
    Kms,
    NotFound,
    InvalidRequest,
    Validation,
    TemplateError,
    CapabilitiesMissing,
    HookFailure,
    StackPolicyDeny,
    StackState,
    OperationInProgress,
    CustomResource,
    StabilizationTimeout,
    SignalTimeout,
    DeleteFailed,
    InternalFailure,
    Other,
}

impl Category {
    pub const ALL: [Category; 36] = [
        Category::ScpDeny,
        Category::RcpDeny,
        Category::PermissionsBoundaryDeny,
        Category::SessionPolicyDeny,
        Category::IdentityPolicyMissing,
        Category::VpcePolicyDeny,
        Category::AccessDeniedOther,
        Category::InvalidPrincipal,
        Category::MalformedPolicy,
        Category::AlreadyExists,
        Category::CancelledCascade,
        Category::StackRollup,
        Category::StacksetExecutionRole,
        Category::StacksetTrustedAccess,
        Category::StacksetFailureTolerance,
        Category::AccountGate,
        Category::RegionNotEnabled,
        Category::AccountSuspended,
        Category::LimitExceeded,
        Category::Throttling,
        Category::Kms,
        Category::NotFound,
        Category::InvalidRequest,
        Category::Validation,
        Category::TemplateError,
        Category::CapabilitiesMissing,
        Category::HookFailure,
        Category::StackPolicyDeny,
        Category::StackState,
        Category::OperationInProgress,
        Category::CustomResource,
        Category::StabilizationTimeout,
        Category::SignalTimeout,
        Category::DeleteFailed,
        Category::InternalFailure,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::ScpDeny => "scp-deny",
            Category::RcpDeny => "rcp-deny",
            Category::PermissionsBoundaryDeny => "permissions-boundary-deny",
            Category::SessionPolicyDeny => "session-policy-deny",
            Category::IdentityPolicyMissing => "identity-policy-missing",
            Category::VpcePolicyDeny => "vpce-policy-deny",
            Category::AccessDeniedOther => "access-denied-other",
            Category::InvalidPrincipal => "invalid-principal",
            Category::MalformedPolicy => "malformed-policy",
            Category::AlreadyExists => "already-exists",
            Category::CancelledCascade => "cancelled-cascade",
            Category::StackRollup => "stack-rollup",
            Category::StacksetExecutionRole => "stackset-execution-role",
            Category::StacksetTrustedAccess => "stackset-trusted-access",
            Category::StacksetFailureTolerance => "stackset-failure-tolerance",
            Category::AccountGate => "account-gate",
            Category::RegionNotEnabled => "region-not-enabled",
            Category::AccountSuspended => "account-suspended",
            Category::LimitExceeded => "limit-exceeded",
            Category::Throttling => "throttling",
            Category::Kms => "kms",
            Category::NotFound => "not-found",
            Category::InvalidRequest => "invalid-request",
            Category::Validation => "validation",
            Category::TemplateError => "template-error",
            Category::CapabilitiesMissing => "capabilities-missing",
            Category::HookFailure => "hook-failure",
            Category::StackPolicyDeny => "stack-policy-deny",
            Category::StackState => "stack-state",
            Category::OperationInProgress => "operation-in-progress",
            Category::CustomResource => "custom-resource",
            Category::StabilizationTimeout => "stabilization-timeout",
            Category::SignalTimeout => "signal-timeout",
            Category::DeleteFailed => "delete-failed",
            Category::InternalFailure => "internal-failure",
            Category::Other => "other",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether what a rule matches is a cause, or the effect of another failure.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Root,
    Consequence,
    /// Not a failure at all (e.g. `Update successful. One or more resources could not be deleted.`): such
    /// sightings are dropped from the diagnosis and only counted.
    Benign,
    /// No rule matched.
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Root => "root",
            Role::Consequence => "consequence",
            Role::Benign => "benign",
            Role::Unknown => "unknown",
        }
    }
}

/// Which layer of the catalog decided a message's category, from the most to the least it knows
/// (docs/classification.md#layers). Rules and wordings match the text; the code layers match what AWS says about
/// the error in machine-readable form.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layer {
    /// A known wording, with captures, explanation and remediation.
    Rule,
    /// An error code named in the text: `Error Code: X`, `An error occurred (X)`, `XException: ...`.
    ErrorCode,
    /// The registry handler's `HandlerErrorCode`.
    HandlerCode,
    /// The HTTP status of the service tail.
    Status,
    /// A rule for an envelope (a custom resource's FAILED, a resource that did not stabilize): it decides only
    /// when nothing more specific is inside.
    Wrapper,
    /// A wording family (`does not exist`, `maximum number of`, ...).
    Wording,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Rule => "rule",
            Layer::ErrorCode => "error-code",
            Layer::HandlerCode => "handler-code",
            Layer::Status => "status",
            Layer::Wrapper => "wrapper",
            Layer::Wording => "wording",
        }
    }

    /// Whether the layer matches codes (of the message's facts) rather than text.
    pub fn matches_codes(self) -> bool {
        matches!(self, Layer::ErrorCode | Layer::HandlerCode | Layer::Status)
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The codes CloudFormation documents for a resource handler's `FAILED` progress event (`HandlerErrorCode`;
/// docs/classification.md#codes).
pub const HANDLER_ERROR_CODES: [&str; 19] = [
    "NotUpdatable",
    "InvalidRequest",
    "AccessDenied",
    "InvalidCredentials",
    "AlreadyExists",
    "NotFound",
    "ResourceConflict",
    "Throttling",
    "ServiceLimitExceeded",
    "NotStabilized",
    "GeneralServiceException",
    "ServiceInternalError",
    "NetworkFailure",
    "InternalFailure",
    "InvalidTypeConfiguration",
    "HandlerInternalFailure",
    "NonCompliant",
    "Unknown",
    "UnsupportedTarget",
];

/// How far down the deployment a failure sits; merging keeps the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    Resource,
    Stack,
    Instance,
    AccountGate,
    Operation,
}

/// Why one failure is the consequence of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LinkKind {
    /// CloudFormation cancelled this resource because another in the same stack failed.
    Cancellation,
    /// A stack's summary naming the resources that failed.
    Rollup,
    /// A parent stack's resource for a nested stack that failed.
    EmbeddedStack,
    /// A stack instance or operation result carrying its stack's failure.
    InstanceSummary,
    /// The operation stopped deploying because failures exceeded its tolerance.
    FailureTolerance,
    /// An operation's summary of its failed results.
    OperationSummary,
    /// Another stack set's template creates the principal this failure names.
    TemplateReference,
    /// A known topology (rules/topologies) says another stack set creates it.
    KnownTopology,
    /// The stack set's auto-deployment declares it depends on the other (`AutoDeployment.DependsOn`), which
    /// failed in the same account first.
    DependsOn,
    /// The named principal's account had a failed deployment of another stack set at about the same time.
    TimingInference,
    /// The stack set was busy: another of its operations (RUNNING, STOPPING or QUEUED) held it, and that
    /// operation's failures explain this one.
    LockHolder,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Cancellation => "cancellation",
            LinkKind::Rollup => "rollup",
            LinkKind::EmbeddedStack => "embedded-stack",
            LinkKind::InstanceSummary => "instance-summary",
            LinkKind::FailureTolerance => "failure-tolerance",
            LinkKind::OperationSummary => "operation-summary",
            LinkKind::TemplateReference => "template-reference",
            LinkKind::KnownTopology => "known-topology",
            LinkKind::DependsOn => "depends-on",
            LinkKind::TimingInference => "timing-inference",
            LinkKind::LockHolder => "lock-holder",
        }
    }
}

/// A race the timeline shows behind a failure whose message names none (docs/races.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RaceKind {
    /// A principal created seconds before was not yet visible: IAM is eventually consistent.
    IamPropagation,
    /// Another Region of the same stack set created what this Region needed, seconds before: the Regions ran in
    /// parallel.
    ParallelRegions,
    /// A global resource with one name, created by every Region of the stack set: the first wins, the rest find
    /// it existing.
    GlobalInParallelRegions,
    /// A CREATE that found what a DELETE of the same stack set, in the same account at the same time, had not yet
    /// removed: an account moved between OUs while auto-deployment runs both.
    ConcurrentDelete,
}

impl RaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RaceKind::IamPropagation => "iam-propagation",
            RaceKind::ParallelRegions => "parallel-regions",
            RaceKind::GlobalInParallelRegions => "global-in-parallel-regions",
            RaceKind::ConcurrentDelete => "concurrent-delete",
        }
    }
}

/// How much each kind of link, and each kind of root cause, is trusted (0–1). Reports show them; the best cause
/// of a failure is its most confident link.
pub mod confidence {
    /// Cancelled after a failure in the same stack.
    pub const CANCELLATION: f32 = 0.95;
    /// Named in the stack's rollback summary.
    pub const ROLLUP: f32 = 0.95;
    /// A parent stack's resource for a nested stack that failed.
    pub const NESTED_STACK_FAILED: f32 = 0.95;
    /// A nested stack whose resources were all cancelled, linked to its parent's resource for it.
    pub const NESTED_STACK_CANCELLED: f32 = 0.9;
    /// A stack instance or operation result carrying its stack's failure.
    pub const INSTANCE_SUMMARY: f32 = 0.9;
    /// An operation's summary of its failed results.
    pub const OPERATION_SUMMARY: f32 = 0.9;
    /// Cancelled since the operation's failure tolerance was exceeded.
    pub const FAILURE_TOLERANCE: f32 = 0.8;
    /// Another stack set's template creates the missing principal.
    pub const TEMPLATE_REFERENCE: f32 = 0.9;
    /// A declared `AutoDeployment.DependsOn`: as strong as a template reference.
    pub const DEPENDS_ON: f32 = 0.9;
    /// A known topology says another stack set creates it.
    pub const KNOWN_TOPOLOGY: f32 = 0.85;
    /// Another stack set failed in the principal's account at about the same time.
    pub const TIMING_INFERENCE: f32 = 0.5;
    /// A refusal because another operation held the stack set, linked to that operation's failures.
    pub const LOCK_HOLDER: f32 = 0.9;
    /// A dependency found in the consumer's resource properties rather than its message: that much less trusted.
    pub const NAMED_IN_PROPERTIES_PENALTY: f32 = 0.05;
    /// Found in the consumer's template, resolved for its account and Region.
    pub const NAMED_IN_TEMPLATE_PENALTY: f32 = 0.1;

    /// A root cause whose rule calls such messages a cause.
    pub const ROOT_BY_RULE: f32 = 0.9;
    /// A root cause only a consequence rule matched, with nothing upstream found.
    pub const ROOT_BY_CONSEQUENCE_RULE: f32 = 0.5;
    /// A race the producer's own completion event shows, seconds before the failure (docs/races.md).
    pub const RACE_BY_EVENT: f32 = 0.85;
    /// A race only the end of the producer's operation bounds: it finished no later than that.
    pub const RACE_BY_OPERATION_END: f32 = 0.7;
    /// A root cause no rule matched.
    pub const ROOT_WITHOUT_RULE: f32 = 0.3;

    /// How much a classification knows, by the tier that decided it (docs/classification.md#precedence): a
    /// specific rule knows the wording, a code knows the family, a status only the kind of answer.
    pub mod class {
        pub const RULE: f32 = 0.9;
        pub const ERROR_CODE: f32 = 0.8;
        pub const HANDLER_CODE: f32 = 0.7;
        pub const STATUS: f32 = 0.6;
        pub const WORDING: f32 = 0.55;
        pub const WRAPPER: f32 = 0.5;
        pub const GENERIC_WORDING: f32 = 0.45;
        pub const GENERIC_ERROR_CODE: f32 = 0.4;
        pub const GENERIC_HANDLER_CODE: f32 = 0.35;
        pub const GENERIC_STATUS: f32 = 0.3;
    }
}

/// One failure's id, the same in every stage: its position in the diagnosis's failures, shown as `F1`, `F2`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FailureId(pub usize);

impl FailureId {
    pub fn index(self) -> usize {
        self.0
    }
}

impl std::fmt::Display for FailureId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "F{}", self.0 + 1)
    }
}

impl Serialize for FailureId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// As it is serialised: `F` and the failure's 1-based position.
impl JsonSchema for FailureId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "FailureId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^F[1-9][0-9]*$",
            "description": "A failure's id: `F` and its 1-based position in `failures`."
        })
    }
}

/// What the statuses AWS reports mean.
pub mod status {
    /// A stack instance's detailed statuses that mean it failed (`StackInstanceDetailedStatus`). Not
    /// `SKIPPED_SUSPENDED_ACCOUNT`: a suspended account is skipped, and reported as such.
    pub const FAILED_INSTANCE_DETAILS: [&str; 4] =
        ["FAILED", "CANCELLED", "INOPERABLE", "FAILED_IMPORT"];
    /// A detailed status that means the instance was skipped: the account is suspended.
    pub const SKIPPED_SUSPENDED_ACCOUNT: &str = "SKIPPED_SUSPENDED_ACCOUNT";

    /// Whether a stack instance failed: a failed detailed status, or `INOPERABLE` (a stack instance whose
    /// deletion failed is left inoperable).
    pub fn instance_failed(detailed: Option<&str>, status: &str) -> bool {
        detailed.is_some_and(|d| FAILED_INSTANCE_DETAILS.contains(&d)) || status == "INOPERABLE"
    }

    /// Whether an operation deploys (`CREATE`, `UPDATE`, `DELETE`, `IMPORT`): `DETECT_DRIFT` only reads, so its
    /// failure or stop is no deployment failure. An unknown action counts as a deployment.
    pub fn is_deployment(action: Option<&str>) -> bool {
        action != Some("DETECT_DRIFT")
    }

    /// A StackSet operation that holds its stack set: one operation runs at a time, and with managed execution
    /// the others wait QUEUED (`StackSetOperationSummary.Status`; docs/cloudtrail.md#the-lock-holder).
    pub fn holds_lock(status: &str) -> bool {
        matches!(status, "RUNNING" | "STOPPING" | "QUEUED")
    }

    /// A StackSet operation that did not succeed.
    pub fn operation_failed(status: &str) -> bool {
        matches!(status, "FAILED" | "STOPPED")
    }

    /// A stack or resource status that reports a failure (`CREATE_FAILED`, ..., or plain `FAILED`).
    pub fn failed(status: &str) -> bool {
        status.ends_with("_FAILED") || status == "FAILED"
    }

    /// Whether a hook invocation failed (`HookStatus`): its reason explains the resource's failure, or, in `WARN`
    /// mode, is a warning the deployment went on past.
    pub fn hook_failed(hook_status: &str) -> bool {
        matches!(hook_status, "HOOK_COMPLETE_FAILED" | "HOOK_FAILED")
    }

    /// Whether a stack event records a failure: a `*_FAILED` status, a failed hook invocation (whose resource
    /// status is still `*_IN_PROGRESS`), or a stack-level rollback whose reason names what failed. Only these
    /// events are kept as evidence; successful ones are not stored, since at organisation scale they are most of
    /// the bytes and none of the diagnosis.
    /// Whether an event is kept as evidence: a failure ([`event_is_failure`]), or a global resource's
    /// completion (an IAM principal or policy, an S3 bucket), which dates what a later failure may have raced for
    /// (docs/races.md#the-evidence). Those are few per stack.
    pub fn event_is_kept(
        status: &str,
        reason: Option<&str>,
        is_stack: bool,
        hook_status: Option<&str>,
        resource_type: Option<&str>,
    ) -> bool {
        event_is_failure(status, reason, is_stack, hook_status)
            || (completed(status) && resource_type.is_some_and(is_global_type))
    }

    /// A resource (or stack) that finished creating or updating.
    pub fn completed(status: &str) -> bool {
        matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE")
    }

    /// A resource type whose names are global, not per Region: IAM's, and S3 buckets' (one namespace per
    /// partition).
    pub fn is_global_type(resource_type: &str) -> bool {
        resource_type.starts_with("AWS::IAM::") || resource_type == "AWS::S3::Bucket"
    }

    pub fn event_is_failure(
        status: &str,
        reason: Option<&str>,
        is_stack: bool,
        hook_status: Option<&str>,
    ) -> bool {
        status.ends_with("_FAILED")
            || hook_status.is_some_and(hook_failed)
            || (is_stack
                && matches!(
                    status,
                    "ROLLBACK_IN_PROGRESS"
                        | "UPDATE_ROLLBACK_IN_PROGRESS"
                        | "IMPORT_ROLLBACK_IN_PROGRESS"
                )
                && reason.is_some_and(|r| !r.is_empty()))
    }
}

/// A deployment topology: which stack sets provide what others rely on (e.g. Quick Setup DA → TA), and the
/// runbook for fixing stack sets of that family.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    pub id: String,
    pub title: String,
    /// Stack set name patterns (`*` wildcards) this topology is about.
    pub stack_sets: Vec<String>,
    /// Steps that replace the generic "retry the operation" step for root causes in these stack sets.
    #[serde(default)]
    pub runbook: Vec<String>,
    #[serde(default)]
    pub provides: Vec<Provision>,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(skip)]
    pub origin: String,
}

/// "Instances of stack sets named like `stack_set` create the IAM role `role_name` in their account" — or, for
/// another kind of resource, the `resource_type` named `name`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Provision {
    pub stack_set: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_id: Option<String>,
}

impl Provision {
    /// The name of what it provides.
    pub fn name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.role_name.as_deref())
            .unwrap_or("")
    }
}
