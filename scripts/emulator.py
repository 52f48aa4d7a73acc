#!/usr/bin/env python3
"""Test emulator for stackset-doctor's live collector: a moto server on loopback, seeded with a FAILED
Quick Setup StackSet deployment that the real AWS APIs then return over real HTTP.

Start it with `scripts/emulator.sh run [--scenario reference|scale] [--accounts N] [--failed K]`, which
installs the pinned moto first. Once seeded it prints exactly one line, `READY http://127.0.0.1:<port>`,
on stdout, and serves until its stdin reaches EOF, its parent process dies, or it gets SIGTERM/SIGINT,
so a test that spawns it never leaves it behind. Everything else goes to stderr.

What is seeded, what is moto's own behaviour and what this file changes, and why: scripts/EMULATOR.md.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import logging
import os
import re
import signal
import stat
import sys
import threading
import time
import uuid
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

# The process whose death ends the emulator. emulator.sh passes its caller's pid (it execs this script,
# so that is our parent too): a caller that dies while moto is still being installed counts too.
PARENT_PID = int(os.environ.pop("EMULATOR_PARENT_PID", "0") or 0) or os.getppid()


def _exit_when_parent_dies() -> None:
    """Polled, from the start (importing moto takes seconds): PR_SET_PDEATHSIG would follow the parent
    *thread*, and a test harness may start the emulator from a thread that ends long before its tests."""
    while True:
        time.sleep(0.5)
        if os.getppid() != PARENT_PID:
            print(f"emulator: stopping: parent process {PARENT_PID} is gone", file=sys.stderr, flush=True)
            os._exit(0)


if PARENT_PID != 1:  # 1: started detached on purpose
    threading.Thread(target=_exit_when_parent_dies, daemon=True).start()

REGION = "ap-northeast-1"
ADMIN = "121212121212"  # the delegated administrator: the account the collector runs as
MANAGEMENT = "909090909090"
ORG_ID = "o-a1b2c3d4e5"
ROOT_ID = "r-ab12"
REFERENCE_MEMBERS = ["232323232323", "343434343434", "454545454545", "565656565656"]
ACCOUNT_NAMES = {
    MANAGEMENT: "Management",
    ADMIN: "SystemsManager-DelegatedAdmin",
    "232323232323": "Workload-Dev",
    "343434343434": "Workload-Staging",
    "454545454545": "Workload-Prod",
    "565656565656": "Sandbox",
}
SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "quicksetup-scp-deny"
# Everything the samples do not pin (the scale scenario, replayed stacks) gets deterministic ids.
ID_NAMESPACE = uuid.UUID("6f1f6f0e-2a43-4b5e-9d3c-5d2b0c6a9e11")

# moto answers a request whose access key it does not know as its default account; that must be the
# delegated admin, set before any moto service module copies the constant. The MOTO_ACCOUNT_ID variable
# would do it too, but moto ranks it above the access key, so the keys that AssumeRole hands out would
# also land in 121212121212 instead of the member accounts.
os.environ.pop("MOTO_ACCOUNT_ID", None)
import moto.core  # noqa: E402
import moto.core.models  # noqa: E402

moto.core.models.DEFAULT_ACCOUNT_ID = ADMIN
moto.core.DEFAULT_ACCOUNT_ID = ADMIN

from moto.cloudformation import models as cfn_models  # noqa: E402
from moto.cloudformation.exceptions import CloudFormationError, ValidationError  # noqa: E402
from moto.cloudformation.models import Event, Stack, StackInstance, StackSet, cloudformation_backends  # noqa: E402
from moto.cloudformation.responses import CloudFormationResponse  # noqa: E402
from moto.core.responses import ActionResult  # noqa: E402
from moto.core.serialize import TimestampSerializer  # noqa: E402
from moto.iam import models as iam_models  # noqa: E402
from moto.organizations import utils as org_utils  # noqa: E402
from moto.organizations.models import organizations_backends  # noqa: E402
from moto.server import DomainDispatcherApplication, create_backend_app  # noqa: E402
from botocore import xform_name  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

assert iam_models.DEFAULT_ACCOUNT_ID == ADMIN, "moto.iam was imported before the default account was set"


def log(msg: str) -> None:
    print(f"emulator: {msg}", file=sys.stderr, flush=True)


def ts(value: str) -> datetime:
    """A timestamp as the AWS CLI prints it (2025-03-10T05:11:15.890000+00:00)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso_ms(t: datetime) -> str:
    """ISO 8601 with milliseconds, as AWS writes it (2025-03-10T05:11:15.890Z)."""
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def det_uuid(*parts: object) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, "/".join(str(p) for p in parts)))


# ==================================================================================================
# Changes to moto. Each one is listed in EMULATOR.md; everything else is moto 5.2.1 as released.
# ==================================================================================================


def _timestamp_iso8601(_self: TimestampSerializer, value: datetime) -> str:
    """AWS writes milliseconds (05:11:15.890Z) and no fraction at a whole second; moto microseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond // 1000:03d}Z" if value.microsecond else "Z")


TimestampSerializer._timestamp_iso8601 = _timestamp_iso8601


_key_accounts: dict[str, str] = {}


def get_account_id_from(access_key: str) -> str:
    """moto's lookup of the account that owns an access key (an assumed role's), which it runs on every
    request by going through every partition of every account, creating an IAM backend for each on the
    way: 100 ms a call in a 10,000-account organization. The answer is remembered instead (moto makes
    up new keys at random, so one that was unknown stays unknown)."""
    if access_key not in _key_accounts:
        _key_accounts[access_key] = next(
            (account_id for account_id, account in list(iam_models.iam_backends.items())
             for backend in list(account.values()) if access_key in backend.access_keys), ADMIN)
    return _key_accounts[access_key]


iam_models.get_account_id_from = get_account_id_from


# ---- Seeded CloudFormation models. moto 5.2.1 only produces SUCCEEDED operations and CURRENT
# ---- instances (it "deploys" by creating a stack that always completes), so the failed state is set on
# ---- subclasses of its models, which its unchanged code then stores, finds and serialises.


class SeededStackSet(StackSet):
    """A stack set with the fields of a SERVICE_MANAGED one that moto's StackSet lacks."""

    __module__ = cfn_models.__name__  # moto's model registry files a class under its module's name

    class Meta:  # moto's serialiser finds StackSetName as `name` through the class name, StackSet
        serialization_aliases = {"StackSetName": "name", "StackSetId": "id", "StackSetARN": "arn"}

    def __init__(self, described: dict[str, Any], summary: dict[str, Any]):
        super().__init__(
            stackset_id=described["StackSetId"],
            account_id=ADMIN,
            name=described["StackSetName"],
            template=described["TemplateBody"],
            region=REGION,
            description=described.get("Description"),
            parameters={p["ParameterKey"]: p["ParameterValue"] for p in described.get("Parameters", [])},
            permission_model=described["PermissionModel"],
            tags={t["Key"]: t["Value"] for t in described.get("Tags", [])},
            admin_role=None,
            execution_role=None,
        )
        self.arn = described["StackSetARN"]
        # A SERVICE_MANAGED stack set has neither (moto fills in SELF_MANAGED defaults).
        self.administration_role_arn = described.get("AdministrationRoleARN")
        self.execution_role_name = described.get("ExecutionRoleName")
        self.status = described.get("Status", "ACTIVE")
        self.capabilities = described.get("Capabilities")
        self.auto_deployment = described.get("AutoDeployment")
        self.organizational_unit_ids = described.get("OrganizationalUnitIds")
        self.regions = described.get("Regions")
        self.stack_set_drift_detection_details = described.get("StackSetDriftDetectionDetails")
        self.drift_status = summary.get("DriftStatus")
        self._managed_execution = described.get("ManagedExecution", {"Active": False})

    @property
    def managed_execution(self) -> dict[str, Any]:  # moto's is hard-coded to {"Active": False}
        return self._managed_execution


class SeededStackInstance(StackInstance):
    """A stack instance whose status is recorded, not simulated."""

    __module__ = cfn_models.__name__

    def __init__(self, record: dict[str, Any]):  # no super().__init__(): that would deploy a stack
        self.record = record
        self.account_id = record["Account"]
        self.region_name = record["Region"]
        self.stackset_id = record["StackSetId"]
        self.parameters = record.get("ParameterOverrides", [])
        self.permission_model = "SERVICE_MANAGED"

    def to_dict(self) -> dict[str, Any]:
        return {"ParameterOverrides": [], **self.record}

    def delete(self) -> None:
        # As in AWS, deleting the instance deletes its stack.
        stack_id = self.record.get("StackId")
        if stack_id:
            backend = cloudformation_backends[self.account_id][self.region_name]
            stack = backend.stacks.pop(stack_id, None)
            if stack is not None:
                stack.status = "DELETE_COMPLETE"
                backend.deleted_stacks[stack_id] = stack


class _NoResources(dict):
    """Stands in for moto's ResourceMap and OutputMap of a stack with no resources."""

    def __init__(self, parameters: dict[str, str]):
        super().__init__()
        self.resolved_parameters = parameters
        self.no_echo_parameter_keys: list[str] = []
        self.exports: list[Any] = []

    def delete(self) -> None:
        pass

    def creation_complete(self) -> bool:
        return True


class SeededStack(Stack):
    """A stack in its final state with a recorded event history. moto's Stack parses its template and
    creates the resources; these stacks rolled back (no resources left) or only matter for their status
    and events, so nothing is simulated, and a thousand of them seed in well under a second."""

    __module__ = cfn_models.__name__

    class Meta:  # as SeededStackSet's
        serialization_aliases = {**Stack.Meta.serialization_aliases, "StackName": "name", "StackStatus": "status"}

    def __init__(
        self, *, stack_id: str, account_id: str, template: str, description: str | None,
        parameters: dict[str, str], tags: dict[str, str], status: str, events: list[Event],
    ):  # no super().__init__(): see the docstring
        self.stack_id = stack_id
        self.name = stack_name_of(stack_id)
        self.account_id = account_id
        self.region_name = REGION
        self.template = template
        self.template_dict: dict[str, Any] = {}
        self.description = description
        self.parameters = parameters
        self.notification_arns: list[str] = []
        self.role_arn = None
        self.tags = tags
        self.events = events  # oldest first, as moto keeps them
        self.timeout_in_minutes = None
        self.policy = ""
        self.cross_stack_resources: dict[str, Any] = {}
        self.enable_termination_protection = False
        self.resource_map = _NoResources(parameters)
        self.output_map = _NoResources(parameters)
        self.custom_resources: dict[str, Any] = {}
        self.creation_time = events[0].timestamp
        self.status = status
        self.disable_rollback = False
        self.capabilities = ["CAPABILITY_NAMED_IAM"]  # moto's stacks have no capabilities
        self.drift_information = {"StackDriftStatus": "NOT_CHECKED"}
        self.rollback_configuration: dict[str, Any] = {}

    @property
    def outputs(self) -> None:
        return None

    @property
    def template_description(self) -> str | None:
        return self.description


def make_event(e: dict[str, Any]) -> Event:
    """A moto Event from one entry of `aws cloudformation describe-stack-events` output."""
    ev = Event(
        stack_id=e["StackId"],
        stack_name=e["StackName"],
        logical_resource_id=e["LogicalResourceId"],
        physical_resource_id=e.get("PhysicalResourceId"),
        resource_type=e["ResourceType"],
        resource_status=e["ResourceStatus"],
        resource_status_reason=e.get("ResourceStatusReason"),
        resource_properties=e.get("ResourceProperties"),
    )
    ev.timestamp = ts(e["Timestamp"])
    ev.event_id = e["EventId"]
    # moto's Event has no hook fields; its serialiser finds them by their snake_case names.
    for key in HOOK_FIELDS:
        if key in e:
            setattr(ev, xform_name(key), e[key])
    return ev


HOOK_FIELDS = ("HookType", "HookStatus", "HookStatusReason", "HookInvocationPoint", "HookInvocationId",
               "HookFailureMode")


# ---- Pagination. moto answers every stack set listing and DescribeStackEvents in one page; AWS
# ---- pages them, and the collector's paginators need exercising.

DEFAULT_PAGE = 100
EVENTS_PAGE = 100  # DescribeStackEvents has no MaxResults; --events-page-size sets this


def paginate(
    items: list[Any], max_results: Any, token: str | None, *, limit: int = 100, default: int = DEFAULT_PAGE,
    error: Callable[[str], Exception] = lambda m: ValidationError(message=m),
) -> tuple[list[Any], str | None]:
    """One page of `items` and the token of the next (None on the last), validated as AWS does."""
    size = default
    if max_results not in (None, ""):
        size = int(max_results)
        if not 1 <= size <= limit:
            bound, word = (limit, "less") if size > limit else (1, "greater")
            raise error(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                        f"constraint: Member must have value {word} than or equal to {bound}")
    start = 0
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (ValueError, KeyError, TypeError):
            raise error("Invalid NextToken") from None
    end = start + size
    next_token = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], next_token


# ---- CloudFormation responses: filters, pagination and fields that moto 5.2.1 does not serve. Each
# ---- handler falls back to moto's own for stack sets and operations that moto created itself.


class StackInstanceNotFound(CloudFormationError):
    code = "StackInstanceNotFoundException"


class OperationNotFound(CloudFormationError):
    code = "OperationNotFoundException"


class HookResultNotFound(CloudFormationError):
    code = "HookResultNotFoundException"


class InvalidAction(CloudFormationError):
    """What AWS's query services answer for an action they do not have."""
    code = "InvalidAction"


# moto warns that InvalidAction is no error shape of CloudFormation's model: it is a common error, not modelled.
warnings.filterwarnings("ignore", message=r"Exception\(InvalidAction\)")


# --without-describe-events: answer DescribeEvents as an endpoint that does not have it.
DESCRIBE_EVENTS = True
# GetHookResult's answers, by (account, HookResultId); filled while seeding.
HOOK_RESULTS: dict[tuple[str, str], dict[str, Any]] = {}


_moto_handler = {
    name: getattr(CloudFormationResponse, name)
    for name in ("describe_stack_set_operation", "list_stack_set_operation_results")
}


# --running-for SECONDS: a seeded operation is RUNNING for that long after its stack set's operations are first
# asked about (ListStackSetOperations, DescribeStackSetOperation, ListStackSetOperationResults), its results
# ending one by one meanwhile, then as seeded; 0 (the default): always as seeded. For `watch`'s tests.
RUNNING_FOR = 0.0
# Stack set name -> time.monotonic() of the first question about its operations.
_FIRST_ASKED: dict[str, float] = {}
_FIRST_ASKED_LOCK = threading.Lock()


def running_view(stack_set: str, op: dict[str, Any]) -> dict[str, Any]:
    """The operation as seen `RUNNING_FOR` seconds before it ends: RUNNING, no end, no failed count; result i of n
    shows its seeded status from (i + 1) / (n + 1) of the time on, the next one RUNNING, the rest PENDING (without
    reasons). Once the time is up, or without --running-for, the seeded operation itself."""
    if RUNNING_FOR <= 0:
        return op
    with _FIRST_ASKED_LOCK:
        first = _FIRST_ASKED.setdefault(stack_set, time.monotonic())
    elapsed = time.monotonic() - first
    if elapsed >= RUNNING_FOR:
        return op
    results = op.get("Results", [])
    n = len(results)
    ended = sum(1 for i in range(n) if elapsed >= (i + 1) * RUNNING_FOR / (n + 1))
    shown = []
    for i, r in enumerate(results):
        if i < ended:
            shown.append(r)
        else:
            shown.append({**{k: v for k, v in r.items() if k != "StatusReason"},
                          "Status": "RUNNING" if i == ended else "PENDING"})
    view = {k: v for k, v in op.items() if k not in ("EndTimestamp", "StatusDetails", "StatusReason")}
    view.update(Status="RUNNING", Results=shown)
    return view


def _find_operation(stack_set: StackSet, operation_id: str) -> dict[str, Any]:
    for op in stack_set.operations:
        if op["OperationId"] == operation_id:
            return op
    raise OperationNotFound(f"Operation {operation_id} not found for stack set {stack_set.name}")


def _filters(self: CloudFormationResponse) -> list[tuple[str, str]]:
    return [(f.get("Name"), f.get("Values")) for f in (self._get_param("Filters") or [])]


def list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    """moto ignores Status and does not paginate."""
    status = self._get_param("Status")
    sets = [s for s in self.cloudformation_backend.list_stack_sets() if not status or s.status == status]
    page, token = paginate(sets, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"Summaries": page, "NextToken": token})


def list_stack_instances(self: CloudFormationResponse) -> ActionResult:
    """moto ignores Filters, StackInstanceAccount and StackInstanceRegion, and does not paginate."""
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    items = [i.to_dict() for i in stack_set.instances.stack_instances]
    account, region = self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion")
    items = [i for i in items if account in (None, i["Account"]) and region in (None, i["Region"])]
    for name, value in _filters(self):
        if name == "DETAILED_STATUS":
            items = [i for i in items if i.get("StackInstanceStatus", {}).get("DetailedStatus") == value]
        elif name == "LAST_OPERATION_ID":
            items = [i for i in items if i.get("LastOperationId") == value]
        elif name == "DRIFT_STATUS":
            items = [i for i in items if i.get("DriftStatus", "NOT_CHECKED") == value]
        else:
            raise ValidationError(message=f"Invalid filter name: {name}")
    page, token = paginate(items, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"Summaries": page, "NextToken": token})


def describe_stack_instance(self: CloudFormationResponse) -> ActionResult:
    """moto fails with an internal error when there is no such instance."""
    name = self._get_param("StackSetName")
    account, region = self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion")
    instance = self.cloudformation_backend.describe_stack_set(name).instances.get_instance(account, region)
    if instance is None:
        raise StackInstanceNotFound(f"Stack instance for account {account} and region {region} not found in {name}")
    return ActionResult({"StackInstance": instance.to_dict()})


def list_stack_set_operations(self: CloudFormationResponse) -> ActionResult:
    """moto does not paginate, and lists the oldest operation first; AWS the newest."""
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    ops = sorted(stack_set.operations, key=lambda o: o["CreationTimestamp"].timestamp(), reverse=True)
    ops = [running_view(stack_set.name, o) for o in ops]
    page, token = paginate(ops, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"Summaries": page, "NextToken": token})


def describe_stack_set_operation(self: CloudFormationResponse) -> ActionResult:
    """moto's answer lacks OperationPreferences, DeploymentTargets, StatusDetails and RetainStacks."""
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    op = _find_operation(stack_set, self._get_param("OperationId"))
    if "Results" not in op:
        return _moto_handler["describe_stack_set_operation"](self)
    op = running_view(stack_set.name, op)
    return ActionResult({"StackSetOperation": {k: v for k, v in op.items() if k != "Results"}})


def list_stack_set_operation_results(self: CloudFormationResponse) -> ActionResult:
    """moto makes up one result per instance (with the operation's status and a us-west-2 account gate
    reason); seeded operations have recorded results. moto also ignores Filters and does not paginate."""
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    op = _find_operation(stack_set, self._get_param("OperationId"))
    if "Results" not in op:
        return _moto_handler["list_stack_set_operation_results"](self)
    results = running_view(stack_set.name, op)["Results"]
    for name, value in _filters(self):
        if name != "OPERATION_RESULT_STATUS":
            raise ValidationError(message=f"Invalid filter name: {name}")
        results = [r for r in results if r["Status"] == value]
    page, token = paginate(results, self._get_param("MaxResults"), self._get_param("NextToken"))
    return ActionResult({"Summaries": page, "NextToken": token})


def describe_stack_events(self: CloudFormationResponse) -> ActionResult:
    """moto returns every event in one page. AWS pages them, newest first, at a size of its choosing."""
    events = self.cloudformation_backend.describe_stack_events(self._get_param("StackName"))[::-1]
    page, token = paginate(events, None, self._get_param("NextToken"), default=EVENTS_PAGE)
    return ActionResult({"StackEvents": page, "NextToken": token})


def _event_type(e: Event) -> str:
    if getattr(e, "hook_status", None) in ("HOOK_COMPLETE_FAILED", "HOOK_FAILED"):
        return "HOOK_INVOCATION_ERROR"
    if e.resource_status.endswith("_FAILED"):
        return "PROVISIONING_ERROR"
    return "STACK_EVENT"


def _failed(e: Event) -> bool:
    """Our reading of the FailedEvents filter: the errors, and the stack's own rollback whose reason names what
    failed (a STACK_EVENT)."""
    rollback = (e.logical_resource_id == e.stack_name and e.resource_status.endswith("ROLLBACK_IN_PROGRESS")
                and bool(e.resource_status_reason))
    return _event_type(e) != "STACK_EVENT" or rollback


def describe_events(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.1 lacks DescribeEvents. Served by StackName from the stack's events, newest first, each as an
    OperationEvent (StackId, no StackName; no HookInvocationId, which the shape lacks). EventType: a failed hook
    invocation is HOOK_INVOCATION_ERROR, a *_FAILED status PROVISIONING_ERROR, the rest STACK_EVENT. The
    FailedEvents filter keeps the first two and the stack's rollback with its reason (our reading of "failed
    events": the API reference does not list them).
    Paged like DescribeStackEvents (--events-page-size)."""
    if not DESCRIBE_EVENTS:
        raise InvalidAction("The action DescribeEvents is not valid for this web service.")
    name = self._get_param("StackName")
    if not name:
        raise ValidationError(message="One of ChangeSetName, OperationId or StackName must be specified")
    events = self.cloudformation_backend.describe_stack_events(name)[::-1]
    filters = self._get_param("Filters") or {}
    failed_only = str(filters.get("FailedEvents", "")).lower() == "true"
    out = []
    for e in events:
        kind = _event_type(e)
        if failed_only and not _failed(e):
            continue
        oe = {"EventId": e.event_id, "StackId": e.stack_id, "EventType": kind,
              "LogicalResourceId": e.logical_resource_id, "PhysicalResourceId": e.physical_resource_id,
              "ResourceType": e.resource_type, "Timestamp": e.timestamp, "ResourceStatus": e.resource_status}
        for key, value in (("ResourceStatusReason", e.resource_status_reason),
                           ("ResourceProperties", e.resource_properties)):
            if value:
                oe[key] = value
        for key in HOOK_FIELDS:
            if key != "HookInvocationId" and getattr(e, xform_name(key), None):
                oe[key] = getattr(e, xform_name(key))
        out.append(oe)
    page, token = paginate(out, None, self._get_param("NextToken"), default=EVENTS_PAGE)
    return ActionResult({"OperationEvents": page, "NextToken": token})


def get_hook_result(self: CloudFormationResponse) -> ActionResult:
    """moto 5.2.1 lacks GetHookResult. Served for the hook invocations seeded in the caller's account."""
    wanted = self._get_param("HookResultId")
    result = HOOK_RESULTS.get((self.current_account, wanted))
    if result is None:
        raise HookResultNotFound(f"Hook result {wanted} not found")
    return ActionResult(result)


for _handler in (
    list_stack_sets, list_stack_instances, describe_stack_instance, list_stack_set_operations,
    describe_stack_set_operation, list_stack_set_operation_results, describe_stack_events, describe_events,
    get_hook_result,
):
    setattr(CloudFormationResponse, _handler.__name__, _handler)


# ==================================================================================================
# Scenario data, in the shapes of the AWS CLI's JSON output: read from the saved output of the
# reference case, or generated for the scale scenario.
# ==================================================================================================


def read_sample(rel: str, qs_id: str) -> Any:
    """A saved CLI answer; for another Quick Setup id than the sample's `abcde`, renamed to it."""
    text = (SAMPLES / rel).read_text()
    return json.loads(text.replace("abcde", qs_id) if qs_id != "abcde" else text)


def stack_name_of(stack_id: str) -> str:
    return stack_id.split(":stack/", 1)[1].split("/", 1)[0]


def replay_events(events: list[dict[str, Any]], stack_id: str, shift: timedelta) -> list[dict[str, Any]]:
    """A stack's event history replayed as another stack's: same resources and reasons, that stack's id
    and name, timestamps moved by `shift`, event ids made anew in the same two forms as AWS's."""
    old_id, new_name = events[0]["StackId"], stack_name_of(stack_id)
    old_name = stack_name_of(old_id)
    out = []
    for e in events:
        e = dict(e)
        t = ts(e["Timestamp"]) + shift
        e["Timestamp"] = t.isoformat()
        e["StackId"], e["StackName"] = stack_id, new_name
        if e["LogicalResourceId"] == old_name:
            e["LogicalResourceId"], e["PhysicalResourceId"] = new_name, stack_id
            e["EventId"] = det_uuid(stack_id, e["EventId"])
        else:
            e["EventId"] = f"{e['LogicalResourceId']}-{e['ResourceStatus']}-{iso_ms(t)}"
        out.append(e)
    return out


def success_events(stack_id: str, start: datetime) -> list[dict[str, Any]]:
    """A successful creation of the member-account template, newest first."""
    name, role = stack_name_of(stack_id), "ManagedInstanceCrossAccountExecutionRole"
    physical = "ManagedInstance-CrossAccountExecutionRole"
    rows = [
        (0.0, name, stack_id, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
        (3.6, role, "", "AWS::IAM::Role", "CREATE_IN_PROGRESS", None),
        (4.7, role, physical, "AWS::IAM::Role", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        (21.9, role, physical, "AWS::IAM::Role", "CREATE_COMPLETE", None),
        (22.4, name, stack_id, "AWS::CloudFormation::Stack", "CREATE_COMPLETE", None),
    ]
    out = []
    for dt, logical, physical_id, rtype, status, reason in rows:
        t = start + timedelta(seconds=dt)
        e = {
            "StackId": stack_id, "StackName": name, "LogicalResourceId": logical, "PhysicalResourceId": physical_id,
            "ResourceType": rtype, "Timestamp": t.isoformat(), "ResourceStatus": status,
            "EventId": det_uuid(stack_id, status) if logical == name else f"{logical}-{status}-{iso_ms(t)}",
        }
        if reason:
            e["ResourceStatusReason"] = reason
        out.append(e)
    return out[::-1]


class Scenario:
    def __init__(self, name: str, qs_id: str):
        self.name = name
        self.qs_id = qs_id  # the Quick Setup configuration id in the stack set names
        self.members: list[str] = []  # organization accounts besides the management and admin accounts
        # stack set name -> {"described", "summary", "operations" (with "Results"), "instances"}
        self.stack_sets: dict[str, dict[str, Any]] = {}
        # (account, stack id) -> {"stack_set", "events" (newest first)}
        self.stacks: dict[tuple[str, str], dict[str, Any]] = {}
        # (account, region) -> CloudTrail records (the JSON of one event each), for LookupEvents
        self.trail: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def add_trail(self, record: dict[str, Any]) -> None:
        self.trail.setdefault((record["recipientAccountId"], record["awsRegion"]), []).append(record)

    def add_stack_set(self, described: dict, summary: dict, op_summary: dict, op_described: dict,
                      results: list[dict], instances: list[dict]) -> None:
        op = {**op_summary, **op_described, "Results": results}
        for k in ("CreationTimestamp", "EndTimestamp"):
            op[k] = ts(op[k])
        self.stack_sets[described["StackSetName"]] = {
            "described": described, "summary": summary, "operations": [op], "instances": instances,
        }

    def add_stack(self, account: str, stack_set: str, events: list[dict[str, Any]]) -> None:
        self.stacks[(account, events[0]["StackId"])] = {"stack_set": stack_set, "events": events}


def saved_stack_set(qs_id: str, kind: str) -> tuple[dict, ...]:
    """The saved answers about the DA or TA stack set: DescribeStackSet, its ListStackSets summary, the
    operation's summary and description, its results, and the instances (ListStackInstances, completed
    with DescribeStackInstance where it was saved, which adds ParameterOverrides)."""
    d = f"AWS-QuickSetup-SSM-{kind}-abcde"
    described = read_sample(f"{d}/describe-stack-set.json", qs_id)["StackSet"]
    summary = next(s for s in read_sample("list-stack-sets.json", qs_id)["Summaries"]
                   if s["StackSetName"] == described["StackSetName"])
    op_summary = read_sample(f"{d}/list-stack-set-operations.json", qs_id)["Summaries"][0]
    op_described = read_sample(f"{d}/describe-stack-set-operation.json", qs_id)["StackSetOperation"]
    results = read_sample(f"{d}/list-stack-set-operation-results.json", qs_id)["Summaries"]
    instances = read_sample(f"{d}/list-stack-instances.json", qs_id)["Summaries"]
    for inst in instances:
        rel = f"{d}/describe-stack-instance-{inst['Account']}-{REGION}.json"
        if (SAMPLES / rel).exists():
            inst.update(read_sample(rel, qs_id)["StackInstance"])
    return described, summary, op_summary, op_described, results, instances


def saved_events(qs_id: str, kind: str, account: str) -> list[dict[str, Any]]:
    rel = f"AWS-QuickSetup-SSM-{kind}-abcde/describe-stack-events-{account}-{REGION}.json"
    return read_sample(rel, qs_id)["StackEvents"]


CFN = "cloudformation.amazonaws.com"


def trail_record(account: str, region: str, when: datetime, source: str, name: str, *, role: str, session: str,
                 by_cloudformation: bool = True, error: tuple[str, str] | None = None,
                 request: dict[str, Any] | None = None, resources: list[tuple[str, str]] = (),
                 read_only: bool = False) -> dict[str, Any]:
    """A CloudTrail record as AWS writes it for a call made by an assumed role (CloudFormation's execution role
    when `by_cloudformation`, which then names CloudFormation as invoker and source). `resources`: (type, ARN)."""
    key = "ASIA" + det_uuid("key", account, role).replace("-", "")[:16].upper()
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROA{det_uuid('role', account, role).replace('-', '')[:17].upper()}:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": f"AROA{det_uuid('role', account, role).replace('-', '')[:17].upper()}",
                              "arn": f"arn:aws:iam::{account}:role/{role}", "accountId": account, "userName": role},
            "attributes": {"creationDate": (when - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "mfaAuthenticated": "false"},
        },
    }
    if by_cloudformation:
        identity["invokedBy"] = CFN
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": CFN if by_cloudformation else "203.0.113.24",
        "userAgent": CFN if by_cloudformation else "aws-cli/2.22.0 md/awscrt#0.23.4 ua/2.0 os/macos",
    }
    if error:
        record["errorCode"], record["errorMessage"] = error
    record.update({
        "requestParameters": request,
        "responseElements": None,
        "requestID": det_uuid("request", account, name, when.isoformat()).replace("-", "")[:16].upper(),
        "eventID": det_uuid("trail-event", account, region, name, when.isoformat()),
        "readOnly": read_only,
        "resources": [{"accountId": account, "type": ty, "ARN": arn} for ty, arn in resources],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    })
    return record


def scp_deny_message(reason: str) -> str:
    """The service's own message inside a handler's reason: `Resource handler returned message: "<this> (Service:`."""
    m = re.search(r'Resource handler returned message: "(.*?) \(Service: ', reason)
    return m.group(1) if m else reason


def seed_da_trail(sc: Scenario, events: list[dict[str, Any]]) -> None:
    """The DA account's CloudTrail around its failure: the S3 call the SCP denied (with the stack event's own
    message), the execution role's successful CreateBucket before it, a person's denied call on the same bucket (not
    CloudFormation's), and a call half an hour later (outside any window of the failure)."""
    failed = next(e for e in events if e["ResourceType"] == "AWS::S3::Bucket" and e["ResourceStatus"] == "CREATE_FAILED")
    role, session = re.search(r"assumed-role/([^/]+)/([^ ]+) is not", failed["ResourceStatusReason"]).groups()
    bucket = failed["PhysicalResourceId"]
    arn = f"arn:aws:s3:::{bucket}"
    at = ts(failed["Timestamp"])
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com", "publicAccessBlock": "",
              "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                 "BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                 "BlockPublicPolicy": True, "RestrictPublicBuckets": True}}
    s3 = "s3.amazonaws.com"
    sc.add_trail(trail_record(ADMIN, REGION, at - timedelta(seconds=0.6), s3, "PutBucketPublicAccessBlock",
                              role=role, session=session, request=params, resources=[("AWS::S3::Bucket", arn)],
                              error=("AccessDenied", scp_deny_message(failed["ResourceStatusReason"]))))
    sc.add_trail(trail_record(ADMIN, REGION, at - timedelta(seconds=2.4), s3, "CreateBucket", role=role,
                              session=session, request={"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com"},
                              resources=[("AWS::S3::Bucket", arn)]))
    sc.add_trail(trail_record(ADMIN, REGION, at - timedelta(seconds=40), s3, "PutBucketPublicAccessBlock",
                              role="Admin", session="alice@example.com", by_cloudformation=False, request=params,
                              resources=[("AWS::S3::Bucket", arn)],
                              error=("AccessDenied", "Access Denied")))
    sc.add_trail(trail_record(ADMIN, REGION, at + timedelta(minutes=30), s3, "PutBucketPublicAccessBlock",
                              role=role, session=session, request=params, resources=[("AWS::S3::Bucket", arn)],
                              error=("AccessDenied", "Access Denied")))


def seed_ta_trail(sc: Scenario, account: str, events: list[dict[str, Any]]) -> None:
    """A TA account's CloudTrail: IAM's CreateRole that failed on the invalid principal. IAM is a global service, so
    the event is in us-east-1's history, not in the stack's Region."""
    failed = next(e for e in events if e["ResourceType"] == "AWS::IAM::Role" and e["ResourceStatus"] == "CREATE_FAILED")
    m = re.search(r'Resource handler returned message: "(Invalid principal in policy: .*?) \(Service: ',
                  failed["ResourceStatusReason"])
    role = f"stacksets-exec-{det_uuid('exec', account).replace('-', '')[:32]}"
    name = (failed["PhysicalResourceId"] or json.loads(failed.get("ResourceProperties") or "{}").get("RoleName")
            or failed["LogicalResourceId"])
    sc.add_trail(trail_record(account, "us-east-1", ts(failed["Timestamp"]) - timedelta(seconds=0.4),
                              "iam.amazonaws.com", "CreateRole", role=role, session=det_uuid("session", account)[:8],
                              request={"roleName": name, "assumeRolePolicyDocument": "{\"Version\":\"2012-10-17\"}"},
                              error=("MalformedPolicyDocumentException", m.group(1) if m else "Invalid principal")))


def build_reference(qs_id: str = "abcde", with_ta: bool = True) -> Scenario:
    sc = Scenario("reference", qs_id)
    da = saved_stack_set(qs_id, "DA")
    sc.add_stack_set(*da)
    da_events = saved_events(qs_id, "DA", ADMIN)
    sc.add_stack(ADMIN, da[0]["StackSetName"], da_events)
    seed_da_trail(sc, da_events)
    if not with_ta:
        return sc
    sc.members = list(REFERENCE_MEMBERS)
    ta = saved_stack_set(qs_id, "TA")
    sc.add_stack_set(*ta)
    # Only 232323232323's events were saved. The other two failed accounts ran the same template at the
    # same time (MaxConcurrentCount 3): their histories are that one, a fraction of a second later.
    saved = saved_events(qs_id, "TA", "232323232323")
    seed_ta_trail(sc, "232323232323", saved)
    for n, inst in enumerate(i for i in ta[5] if i.get("StackId")):
        events = saved if inst["Account"] == "232323232323" else replay_events(
            saved, inst["StackId"], timedelta(milliseconds=437 * n))
        sc.add_stack(inst["Account"], ta[0]["StackSetName"], events)
    return sc


def build_scale(accounts: int, failed: int) -> Scenario:
    """The reference DA stack set, and a TA stack set over `accounts` generated accounts of which
    `failed` failed as the reference TA's did; the rest succeeded."""
    qs_id = "scale1"
    sc = build_reference(qs_id, with_ta=False)
    sc.name = "scale"
    sc.members = [f"{700000000000 + i:012d}" for i in range(1, accounts + 1)]
    described, summary, op_summary, op_described, saved_results, _ = saved_stack_set(qs_id, "TA")
    name = described["StackSetName"]
    set_id = f"{name}:{det_uuid('stack-set', name)}"
    described = {**described, "StackSetId": set_id,
                 "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ADMIN}:stackset/{set_id}"}
    summary = {**summary, "StackSetId": set_id}
    op_id = det_uuid("operation", name)
    created = ts(op_described["CreationTimestamp"])
    prefs = {**op_described["OperationPreferences"], "FailureToleranceCount": max(failed - 1, 0),
             "MaxConcurrentCount": max(failed, 3)}
    op_summary = {**op_summary, "OperationId": op_id, "OperationPreferences": prefs,
                  "EndTimestamp": (created + timedelta(minutes=17, seconds=41.2)).isoformat(),
                  "StatusDetails": {"FailedStackInstancesCount": failed}}
    op_described = {**op_described, **op_summary, "StackSetId": set_id}
    reason = saved_results[0]["StatusReason"]
    template_events = saved_events(qs_id, "TA", "232323232323")
    # Spread the failures over the list, so that they land on different pages.
    failing = {int((j + 0.5) * accounts / failed) for j in range(failed)}
    results, instances = [], []
    for n, account in enumerate(sc.members):
        stack_id = (f"arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{name}-"
                    f"{det_uuid('stack-name', account)}/{det_uuid('stack', account)}")
        gate = {"Status": "SKIPPED",
                "StatusReason": f"Function not found: arn:aws:lambda:{REGION}:{account}:function:"
                                "AWSCloudFormationStackSetAccountGate"}
        result = {"Account": account, "Region": REGION, "AccountGateResult": gate, "OrganizationalUnitId": ROOT_ID}
        inst = {"StackSetId": set_id, "Region": REGION, "Account": account, "StackId": stack_id,
                "OrganizationalUnitId": ROOT_ID, "DriftStatus": "NOT_CHECKED", "LastOperationId": op_id}
        start = created + timedelta(seconds=19.2 + 3 * (n // prefs["MaxConcurrentCount"]))
        if n in failing:
            result.update(Status="FAILED", StatusReason=reason)
            inst.update(Status="OUTDATED", StatusReason=reason, StackInstanceStatus={"DetailedStatus": "FAILED"})
            shift = start - ts(template_events[-1]["Timestamp"])
            sc.add_stack(account, name, replay_events(template_events, stack_id, shift))
        else:
            result.update(Status="SUCCEEDED")
            inst.update(Status="CURRENT", StackInstanceStatus={"DetailedStatus": "SUCCEEDED"})
            sc.add_stack(account, name, success_events(stack_id, start))
        results.append(result)
        instances.append(inst)
    sc.add_stack_set(described, summary, op_summary, op_described, results, instances)
    return sc


EDGE_SET = "guarded-baseline"
EDGE_T0 = datetime(2025, 3, 12, 9, 0, 0, 310000, tzinfo=timezone.utc)
EDGE_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Description: Logging baseline for every account (a Guard hook checks bucket encryption)
Resources:
  LogBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub logs-guarded-baseline-${AWS::AccountId}
"""
EDGE_HOOK = "Private::Guard::BucketEncryption"


def edge_hook_report(account: str) -> str:
    """The whole text of the Guard hook's failed validation: longer than the 1,024 characters CloudFormation keeps
    of a stack event's HookStatusReason, with the rule that failed at the end, past the cut."""
    checks = "".join(
        f"\n  Rule [S3_BUCKET_{name}] PASS: LogBucket (AWS::S3::Bucket) in account {account} satisfied "
        f"'Properties.{prop}' as the organisation's logging standard LOG-{n:03d} requires."
        for n, (name, prop) in enumerate([
            ("VERSIONING", "VersioningConfiguration.Status == Enabled"),
            ("PUBLIC_ACCESS", "PublicAccessBlockConfiguration.BlockPublicAcls == true"),
            ("OWNERSHIP", "OwnershipControls.Rules[*].ObjectOwnership == BucketOwnerEnforced"),
            ("LIFECYCLE", "LifecycleConfiguration.Rules[*].Status == Enabled"),
            ("TLS_ONLY", "the bucket policy's aws:SecureTransport condition"),
            ("LOGGING_TARGET", "LoggingConfiguration.DestinationBucketName exists"),
            ("TAGS", "Tags[*].Key contains 'cost-center'"),
        ], start=1))
    return (f"Template failed validation, the following rule(s) failed: [S3_BUCKET_SSE_KMS]. Guard report for "
            f"{EDGE_HOOK} on LogBucket:{checks}"
            "\n  Rule [S3_BUCKET_SSE_KMS] FAIL: LogBucket (AWS::S3::Bucket): "
            "Properties.BucketEncryption.ServerSideEncryptionConfiguration[*].ServerSideEncryptionByDefault"
            ".SSEAlgorithm must be 'aws:kms' with a KMSMasterKeyID; the template sets no BucketEncryption, so "
            "the bucket would use SSE-S3. Add BucketEncryption with SSEAlgorithm aws:kms and the account's "
            "logging key (alias/logging).")


def build_edge() -> Scenario:
    """One stack set with what the reference case lacks: a Guard hook that failed with a reason longer than
    CloudFormation keeps in a stack event (GetHookResult has it whole), a suspended account
    (SKIPPED_SUSPENDED_ACCOUNT), an auto-deployment that ran its own operation for an account added later, a
    STOPPED drift detection newer than both failed deployments, and a healthy instance."""
    sc = Scenario("edge", "edge")
    sc.members = list(REFERENCE_MEMBERS)
    hooked, suspended, added, healthy = REFERENCE_MEMBERS
    set_id = f"{EDGE_SET}:{det_uuid('stack-set', EDGE_SET)}"
    described = {
        "StackSetName": EDGE_SET, "StackSetId": set_id, "Description": "Logging baseline for every account",
        "Status": "ACTIVE", "TemplateBody": EDGE_TEMPLATE, "Parameters": [], "Capabilities": [], "Tags": [],
        "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ADMIN}:stackset/{set_id}",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "PermissionModel": "SERVICE_MANAGED", "OrganizationalUnitIds": [ROOT_ID], "Regions": [REGION],
        "ManagedExecution": {"Active": True},
    }
    summary = {k: described[k] for k in ("StackSetName", "StackSetId", "Description", "Status", "AutoDeployment",
                                          "PermissionModel", "ManagedExecution")}
    summary["DriftStatus"] = "NOT_CHECKED"
    prefs = {"RegionConcurrencyType": "PARALLEL", "RegionOrder": [REGION], "FailureToleranceCount": 1,
             "MaxConcurrentCount": 2, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
    targets = {"OrganizationalUnitIds": [ROOT_ID], "AccountFilterType": "NONE"}
    create_id, auto_id, drift_id = (det_uuid("operation", EDGE_SET, k) for k in ("create", "auto", "drift"))
    auto_t0 = EDGE_T0 + timedelta(hours=2)

    def stack_id(account: str) -> str:
        return (f"arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{EDGE_SET}-"
                f"{det_uuid('stack-name', EDGE_SET, account)}/{det_uuid('stack', EDGE_SET, account)}")

    hook_report = edge_hook_report(hooked)
    hooked_reason = (f"ResourceLogicalId:LogBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:The following "
                     f"hook(s)/validations failed: [{EDGE_HOOK}].")
    exists = (f"Resource handler returned message: \"logs-guarded-baseline-{added} already exists (Service: S3, "
              f"Status Code: 0, Request ID: null)\" (RequestToken: {det_uuid('token', added)}, HandlerErrorCode: "
              "AlreadyExists)")
    added_reason = f"ResourceLogicalId:LogBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:{exists}"
    suspended_reason = f"Account {suspended} is suspended: its stack instance was skipped."
    operations = [
        {"OperationId": create_id, "StackSetId": set_id, "Action": "CREATE", "Status": "FAILED",
         "OperationPreferences": prefs, "DeploymentTargets": targets, "RetainStacks": False,
         "CreationTimestamp": EDGE_T0, "EndTimestamp": EDGE_T0 + timedelta(minutes=6, seconds=12.4),
         "StatusDetails": {"FailedStackInstancesCount": 1},
         "Results": [
             {"Account": hooked, "Region": REGION, "Status": "FAILED", "StatusReason": hooked_reason,
              "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID},
             # Made up: the API reference says how a suspended account's instance reads, not its result.
             {"Account": suspended, "Region": REGION, "Status": "CANCELLED", "StatusReason": suspended_reason,
              "OrganizationalUnitId": ROOT_ID},
             {"Account": healthy, "Region": REGION, "Status": "SUCCEEDED",
              "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID},
         ]},
        # The account that joined the OU later: auto-deployment ran an operation of its own.
        {"OperationId": auto_id, "StackSetId": set_id, "Action": "CREATE", "Status": "FAILED",
         "OperationPreferences": prefs, "DeploymentTargets": targets, "RetainStacks": False,
         "CreationTimestamp": auto_t0, "EndTimestamp": auto_t0 + timedelta(minutes=3, seconds=4.8),
         "StatusDetails": {"FailedStackInstancesCount": 1},
         "Results": [{"Account": added, "Region": REGION, "Status": "FAILED", "StatusReason": added_reason,
                      "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID}]},
        {"OperationId": drift_id, "StackSetId": set_id, "Action": "DETECT_DRIFT", "Status": "STOPPED",
         "OperationPreferences": prefs, "CreationTimestamp": EDGE_T0 + timedelta(hours=3),
         "EndTimestamp": EDGE_T0 + timedelta(hours=3, minutes=1, seconds=2.5),
         "StatusReason": "The operation was stopped by the user.", "StatusDetails": {"FailedStackInstancesCount": 0},
         "Results": []},
    ]

    def instance(account: str, status: str, detailed: str, op: str, reason: str | None, stack: bool) -> dict:
        i = {"StackSetId": set_id, "Region": REGION, "Account": account, "Status": status,
             "StackInstanceStatus": {"DetailedStatus": detailed}, "OrganizationalUnitId": ROOT_ID,
             "DriftStatus": "NOT_CHECKED", "LastOperationId": op}
        if reason:
            i["StatusReason"] = reason
        if stack:
            i["StackId"] = stack_id(account)
        return i

    instances = [
        instance(hooked, "OUTDATED", "FAILED", create_id, hooked_reason, True),
        instance(suspended, "OUTDATED", "SKIPPED_SUSPENDED_ACCOUNT", create_id, suspended_reason, False),
        instance(added, "OUTDATED", "FAILED", auto_id, added_reason, True),
        instance(healthy, "CURRENT", "SUCCEEDED", create_id, None, True),
    ]
    sc.stack_sets[EDGE_SET] = {"described": described, "summary": summary, "operations": operations,
                               "instances": instances}

    def rows(account: str, start: datetime, spec: list[tuple]) -> list[dict[str, Any]]:
        sid = stack_id(account)
        name = stack_name_of(sid)
        out = []
        for dt, logical, rtype, status, reason, extra in spec:
            t = start + timedelta(seconds=dt)
            logical = logical or name
            e = {"StackId": sid, "StackName": name, "LogicalResourceId": logical, "ResourceType": rtype,
                 "PhysicalResourceId": sid if logical == name else (f"logs-guarded-baseline-{account}"
                                                                     if "COMPLETE" in status else ""),
                 "Timestamp": t.isoformat(), "ResourceStatus": status,
                 "EventId": det_uuid(sid, logical, status, dt) if logical == name else f"{logical}-{status}-{iso_ms(t)}"}
            if reason:
                e["ResourceStatusReason"] = reason
            e.update(extra)
            out.append(e)
        return out[::-1]

    stack_t = "AWS::CloudFormation::Stack"
    bucket_t = "AWS::S3::Bucket"
    invocation = det_uuid("hook-invocation", hooked)
    hook = {"HookType": EDGE_HOOK, "HookInvocationPoint": "PRE_PROVISION", "HookFailureMode": "FAIL",
            "HookInvocationId": invocation}
    cut = hook_report[:1024]
    hooked_start = EDGE_T0 + timedelta(seconds=21.7)
    sc.add_stack(hooked, EDGE_SET, rows(hooked, hooked_start, [
        (0.0, None, stack_t, "CREATE_IN_PROGRESS", "User Initiated", {}),
        (2.1, "LogBucket", bucket_t, "CREATE_IN_PROGRESS", None, {**hook, "HookStatus": "HOOK_IN_PROGRESS",
                                                                     "HookStatusReason": "Hook invocation is in progress"}),
        (4.9, "LogBucket", bucket_t, "CREATE_IN_PROGRESS", None, {**hook, "HookStatus": "HOOK_COMPLETE_FAILED",
                                                                     "HookStatusReason": cut}),
        (5.3, "LogBucket", bucket_t, "CREATE_FAILED", f"The following hook(s)/validations failed: [{EDGE_HOOK}]", {}),
        (5.8, None, stack_t, "ROLLBACK_IN_PROGRESS",
         "The following resource(s) failed to create: [LogBucket]. Rollback requested by user.", {}),
        (7.2, "LogBucket", bucket_t, "DELETE_COMPLETE", None, {}),
        (8.0, None, stack_t, "ROLLBACK_COMPLETE", None, {}),
    ]))
    HOOK_RESULTS[(hooked, invocation)] = {
        "HookResultId": invocation, "InvocationPoint": "PRE_PROVISION", "FailureMode": "FAIL", "TypeName": EDGE_HOOK,
        "TypeVersionId": "00000001", "Status": "HOOK_COMPLETE_FAILED", "HookStatusReason": cut,
        "InvokedAt": hooked_start + timedelta(seconds=2.1),
        "TypeArn": f"arn:aws:cloudformation:{REGION}:{hooked}:type/hook/Private-Guard-BucketEncryption",
        "Target": {"TargetType": "RESOURCE", "TargetTypeName": bucket_t, "TargetId": "LogBucket",
                   "Action": "CREATE"},
        "Annotations": [{"AnnotationName": "S3_BUCKET_SSE_KMS", "Status": "FAILED", "StatusMessage": hook_report,
                         "RemediationMessage": "Set BucketEncryption with SSEAlgorithm aws:kms and a KMSMasterKeyID.",
                         "SeverityLevel": "HIGH"}],
    }
    added_start = auto_t0 + timedelta(seconds=18.4)
    sc.add_stack(added, EDGE_SET, rows(added, added_start, [
        (0.0, None, stack_t, "CREATE_IN_PROGRESS", "User Initiated", {}),
        (1.9, "LogBucket", bucket_t, "CREATE_IN_PROGRESS", None, {}),
        (3.4, "LogBucket", bucket_t, "CREATE_FAILED", exists, {}),
        (3.9, None, stack_t, "ROLLBACK_IN_PROGRESS",
         "The following resource(s) failed to create: [LogBucket]. Rollback requested by user.", {}),
        (5.1, "LogBucket", bucket_t, "DELETE_COMPLETE", None, {}),
        (5.6, None, stack_t, "ROLLBACK_COMPLETE", None, {}),
    ]))
    sc.add_stack(healthy, EDGE_SET, rows(healthy, EDGE_T0 + timedelta(seconds=22.2), [
        (0.0, None, stack_t, "CREATE_IN_PROGRESS", "User Initiated", {}),
        (1.8, "LogBucket", bucket_t, "CREATE_IN_PROGRESS", None, {}),
        (2.9, "LogBucket", bucket_t, "CREATE_IN_PROGRESS", "Resource creation Initiated", {}),
        (24.3, "LogBucket", bucket_t, "CREATE_COMPLETE", None, {}),
        (24.9, None, stack_t, "CREATE_COMPLETE", None, {}),
    ]))
    return sc


VAGUE_SET = "bucket-baseline"
VAGUE_T0 = datetime(2025, 3, 14, 2, 30, 0, 120000, tzinfo=timezone.utc)
VAGUE_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Description: Shared artifacts bucket in every account, public access blocked
Resources:
  ArtifactsBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub artifacts-${AWS::AccountId}-${AWS::Region}
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        BlockPublicPolicy: true
        IgnorePublicAcls: true
        RestrictPublicBuckets: true
"""


def build_vague() -> Scenario:
    """A member account whose stack event says only `Access Denied` (S3's old message form, no policy type) while its
    CloudTrail holds the same call with the explicit SCP deny: the root's SCP denies s3:PutBucketPublicAccessBlock to
    every principal but its exemptions, the stack set's execution role among those denied. One stack set, one failed
    and one healthy account."""
    sc = Scenario("vague-deny", "vague")
    sc.members = list(REFERENCE_MEMBERS)
    failed, healthy = "232323232323", "565656565656"
    set_id = f"{VAGUE_SET}:{det_uuid('stack-set', VAGUE_SET)}"
    described = {
        "StackSetName": VAGUE_SET, "StackSetId": set_id, "Description": "Shared artifacts bucket in every account",
        "Status": "ACTIVE", "TemplateBody": VAGUE_TEMPLATE, "Parameters": [], "Capabilities": [], "Tags": [],
        "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ADMIN}:stackset/{set_id}",
        "AutoDeployment": {"Enabled": False}, "PermissionModel": "SERVICE_MANAGED",
        "OrganizationalUnitIds": [ROOT_ID], "Regions": [REGION], "ManagedExecution": {"Active": True},
    }
    summary = {k: described[k] for k in ("StackSetName", "StackSetId", "Description", "Status", "AutoDeployment",
                                          "PermissionModel", "ManagedExecution")}
    summary["DriftStatus"] = "NOT_CHECKED"
    op_id = det_uuid("operation", VAGUE_SET, "create")
    prefs = {"RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": [REGION], "FailureToleranceCount": 0,
             "MaxConcurrentCount": 2, "ConcurrencyMode": "STRICT_FAILURE_TOLERANCE"}

    def stack_id(account: str) -> str:
        return (f"arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{VAGUE_SET}-"
                f"{det_uuid('stack-name', VAGUE_SET, account)}/{det_uuid('stack', VAGUE_SET, account)}")

    bucket = f"artifacts-{failed}-{REGION}"
    request_id = "8F3C2B1A0D9E7F65"
    vague = (f"Resource handler returned message: \"Access Denied (Service: Amazon S3; Status Code: 403; Error Code: "
             f"AccessDenied; Request ID: {request_id}; S3 Extended Request ID: "
             f"{det_uuid('s3-ext', failed).replace('-', '')}; Proxy: null)\" (RequestToken: "
             f"{det_uuid('token', VAGUE_SET, failed)}, HandlerErrorCode: AccessDenied)")
    reason = f"ResourceLogicalId:ArtifactsBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:{vague}"
    results = [
        {"Account": failed, "Region": REGION, "Status": "FAILED", "StatusReason": reason,
         "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID},
        {"Account": healthy, "Region": REGION, "Status": "SUCCEEDED",
         "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID},
    ]
    operations = [{"OperationId": op_id, "StackSetId": set_id, "Action": "CREATE", "Status": "FAILED",
                   "OperationPreferences": prefs, "DeploymentTargets": {"OrganizationalUnitIds": [ROOT_ID],
                                                                         "AccountFilterType": "NONE"},
                   "RetainStacks": False, "CreationTimestamp": VAGUE_T0,
                   "EndTimestamp": VAGUE_T0 + timedelta(minutes=2, seconds=41.3),
                   "StatusDetails": {"FailedStackInstancesCount": 1}, "Results": results}]
    instances = []
    for account, status, detailed, why in [(failed, "OUTDATED", "FAILED", reason),
                                           (healthy, "CURRENT", "SUCCEEDED", None)]:
        i = {"StackSetId": set_id, "Region": REGION, "Account": account, "Status": status,
             "StackInstanceStatus": {"DetailedStatus": detailed}, "OrganizationalUnitId": ROOT_ID,
             "DriftStatus": "NOT_CHECKED", "LastOperationId": op_id, "StackId": stack_id(account)}
        if why:
            i["StatusReason"] = why
        instances.append(i)
    sc.stack_sets[VAGUE_SET] = {"described": described, "summary": summary, "operations": operations,
                                "instances": instances}

    def history(account: str, start: datetime, spec: list[tuple]) -> list[dict[str, Any]]:
        sid = stack_id(account)
        name = stack_name_of(sid)
        out = []
        for dt, logical, rtype, status, why, physical in spec:
            at = start + timedelta(seconds=dt)
            logical = logical or name
            e = {"StackId": sid, "StackName": name, "LogicalResourceId": logical, "ResourceType": rtype,
                 "PhysicalResourceId": sid if logical == name else physical, "Timestamp": at.isoformat(),
                 "ResourceStatus": status,
                 "EventId": det_uuid(sid, logical, status, dt) if logical == name else f"{logical}-{status}-{iso_ms(at)}"}
            if why:
                e["ResourceStatusReason"] = why
            out.append(e)
        return out[::-1]

    stack_t, bucket_t = "AWS::CloudFormation::Stack", "AWS::S3::Bucket"
    start = VAGUE_T0 + timedelta(seconds=19.8)
    sc.add_stack(failed, VAGUE_SET, history(failed, start, [
        (0.0, None, stack_t, "CREATE_IN_PROGRESS", "User Initiated", None),
        (2.2, "ArtifactsBucket", bucket_t, "CREATE_IN_PROGRESS", None, ""),
        (3.5, "ArtifactsBucket", bucket_t, "CREATE_IN_PROGRESS", "Resource creation Initiated", bucket),
        (27.9, "ArtifactsBucket", bucket_t, "CREATE_FAILED", vague, bucket),
        (28.4, None, stack_t, "ROLLBACK_IN_PROGRESS",
         "The following resource(s) failed to create: [ArtifactsBucket]. Rollback requested by user.", None),
        (31.0, "ArtifactsBucket", bucket_t, "DELETE_COMPLETE", None, bucket),
        (31.6, None, stack_t, "ROLLBACK_COMPLETE", None, None),
    ]))
    sc.add_stack(healthy, VAGUE_SET, history(healthy, start + timedelta(seconds=0.3), [
        (0.0, None, stack_t, "CREATE_IN_PROGRESS", "User Initiated", None),
        (2.0, "ArtifactsBucket", bucket_t, "CREATE_IN_PROGRESS", None, ""),
        (23.1, "ArtifactsBucket", bucket_t, "CREATE_COMPLETE", None, f"artifacts-{healthy}-{REGION}"),
        (23.6, None, stack_t, "CREATE_COMPLETE", None, None),
    ]))
    role = f"stacksets-exec-{det_uuid('exec', failed).replace('-', '')[:32]}"
    session = det_uuid("session", VAGUE_SET, failed)[:8]
    arn = f"arn:aws:s3:::{bucket}"
    denied = (f"User: arn:aws:sts::{failed}:assumed-role/{role}/{session} is not authorized to perform: "
              f"s3:PutBucketPublicAccessBlock on resource: \"{arn}\" with an explicit deny in a service control policy")
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com", "publicAccessBlock": "",
              "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                                                 "BlockPublicAcls": True, "IgnorePublicAcls": True,
                                                 "BlockPublicPolicy": True, "RestrictPublicBuckets": True}}
    # The handler retried the denied call with back-off before it gave up: the first attempt is 20 s before the
    # stack event, within the window's 5 minutes.
    for dt in (4.1, 11.6, 26.8):
        sc.add_trail(trail_record(failed, REGION, start + timedelta(seconds=dt), "s3.amazonaws.com",
                                  "PutBucketPublicAccessBlock", role=role, session=session, request=params,
                                  resources=[(bucket_t, arn)], error=("AccessDenied", denied)))
    sc.add_trail(trail_record(failed, REGION, start + timedelta(seconds=3.6), "s3.amazonaws.com", "CreateBucket",
                              role=role, session=session, request={"bucketName": bucket},
                              resources=[(bucket_t, arn)]))
    return sc


RACE_SAMPLE = "role-propagation-race"
RACE_SAMPLE_REGION = "eu-central-1"


def build_from_sample(name: str, folder: str, sample_region: str) -> Scenario:
    """A scenario from a saved sample folder: each sub-folder holding a describe-stack-set.json is a stack set,
    with its operations (the saved results belong to the newest), its instances and its stacks' events. The
    emulator serves one Region, so the sample's Region is read as it."""
    sc = Scenario(name, name)
    base = SAMPLES.parent / folder

    def read(path: Path) -> Any:
        return json.loads(path.read_text().replace(sample_region, REGION))

    for d in sorted(p for p in base.iterdir() if (p / "describe-stack-set.json").exists()):
        described = read(d / "describe-stack-set.json")["StackSet"]
        summary = {k: described[k] for k in ("StackSetName", "StackSetId", "Description", "Status",
                                             "AutoDeployment", "PermissionModel", "ManagedExecution")
                   if k in described}
        summary["DriftStatus"] = "NOT_CHECKED"
        results = read(d / "list-stack-set-operation-results.json")["Summaries"] \
            if (d / "list-stack-set-operation-results.json").exists() else []
        described_op = read(d / "describe-stack-set-operation.json")["StackSetOperation"] \
            if (d / "describe-stack-set-operation.json").exists() else {}
        operations = []
        for n, o in enumerate(read(d / "list-stack-set-operations.json")["Summaries"]):
            o = {**o, **(described_op if described_op.get("OperationId") == o["OperationId"] else {})}
            o.setdefault("StackSetId", described["StackSetId"])
            own = d / f"list-stack-set-operation-results-{o['OperationId']}.json"
            o["Results"] = read(own)["Summaries"] if own.exists() else results if n == 0 else []
            for k in ("CreationTimestamp", "EndTimestamp"):
                if k in o:
                    o[k] = ts(o[k])
            operations.append(o)
        instances = read(d / "list-stack-instances.json")["Summaries"]
        for inst in instances:
            one = d / f"describe-stack-instance-{inst['Account']}-{sample_region}.json"
            if one.exists():
                inst.update(read(one)["StackInstance"])
        sc.stack_sets[described["StackSetName"]] = {"described": described, "summary": summary,
                                                    "operations": operations, "instances": instances}
        for f in sorted(d.glob("describe-stack-events-*.json")):
            events = read(f)["StackEvents"]
            sc.add_stack(events[0]["StackId"].split(":")[4], described["StackSetName"], events)
    sc.members = sorted({i["Account"] for s in sc.stack_sets.values() for i in s["instances"]} - {ADMIN})
    return sc


LOCKED_SAMPLE = "stackset-locked"
LOCKED_SAMPLE_REGION = "us-east-1"


def build_locked() -> Scenario:
    """A stack set held by a RUNNING operation (samples/stackset-locked): an UPDATE refused with "Another Operation
    on StackSet … is in progress" while the RUNNING one fails in 454545454545. Not in the sample, made up to fit it:
    the administrator's CloudTrail holds the UpdateStackSet call that started the RUNNING operation, by a person's
    session, 0.4 s before the operation's creation."""
    sc = build_from_sample("locked", LOCKED_SAMPLE, LOCKED_SAMPLE_REGION)
    for s in sc.stack_sets.values():
        for o in s["operations"]:
            if o["Status"] != "RUNNING":
                continue
            record = trail_record(ADMIN, REGION, o["CreationTimestamp"] - timedelta(seconds=0.4),
                                  "cloudformation.amazonaws.com", "UpdateStackSet", role="PlatformDeployer",
                                  session="jane.doe", by_cloudformation=False,
                                  request={"stackSetName": s["described"]["StackSetName"],
                                           "usePreviousTemplate": True})
            record["responseElements"] = {"operationId": o["OperationId"]}
            sc.add_trail(record)
    return sc


def build_race() -> Scenario:
    """The role-propagation race (samples/role-propagation-race): org-audit-roles created OrgAuditReadRole and
    SUCCEEDED; org-audit-bucket started two seconds later and its bucket policy, naming the role, failed 30 s after
    the role's operation ended with "Invalid principal in policy"."""
    return build_from_sample("race", RACE_SAMPLE, RACE_SAMPLE_REGION)


HEALTHY_SET = "healthy-baseline"
HEALTHY_T0 = datetime(2025, 3, 15, 8, 0, 0, 250000, tzinfo=timezone.utc)
HEALTHY_TEMPLATE = """AWSTemplateFormatVersion: '2010-09-09'
Description: Cross-account execution role in every account
Resources:
  ManagedInstanceCrossAccountExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: ManagedInstance-CrossAccountExecutionRole
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: ssm.amazonaws.com}
            Action: sts:AssumeRole
"""


def build_healthy() -> Scenario:
    """A deployment that succeeded: one SERVICE_MANAGED stack set, one SUCCEEDED `CREATE` operation in two member
    accounts, both instances CURRENT with CREATE_COMPLETE stacks. With --running-for, the operation runs first,
    so that `watch` sees it end well. Made up, not saved from AWS."""
    sc = Scenario("healthy", "healthy")
    sc.members = list(REFERENCE_MEMBERS)
    accounts = ["232323232323", "565656565656"]
    set_id = f"{HEALTHY_SET}:{det_uuid('stack-set', HEALTHY_SET)}"
    described = {
        "StackSetName": HEALTHY_SET, "StackSetId": set_id, "Description": "Cross-account execution role",
        "Status": "ACTIVE", "TemplateBody": HEALTHY_TEMPLATE, "Parameters": [], "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Tags": [], "StackSetARN": f"arn:aws:cloudformation:{REGION}:{ADMIN}:stackset/{set_id}",
        "AutoDeployment": {"Enabled": False}, "PermissionModel": "SERVICE_MANAGED",
        "OrganizationalUnitIds": [ROOT_ID], "Regions": [REGION], "ManagedExecution": {"Active": True},
    }
    summary = {k: described[k] for k in ("StackSetName", "StackSetId", "Description", "Status", "AutoDeployment",
                                          "PermissionModel", "ManagedExecution")}
    summary["DriftStatus"] = "NOT_CHECKED"
    op_id = det_uuid("operation", HEALTHY_SET, "create")
    results, instances = [], []
    for n, account in enumerate(accounts):
        stack_id = (f"arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{HEALTHY_SET}-"
                    f"{det_uuid('stack-name', HEALTHY_SET, account)}/{det_uuid('stack', HEALTHY_SET, account)}")
        results.append({"Account": account, "Region": REGION, "Status": "SUCCEEDED",
                        "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": ROOT_ID})
        instances.append({"StackSetId": set_id, "Region": REGION, "Account": account, "Status": "CURRENT",
                          "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}, "OrganizationalUnitId": ROOT_ID,
                          "DriftStatus": "NOT_CHECKED", "LastOperationId": op_id, "StackId": stack_id})
        sc.add_stack(account, HEALTHY_SET, success_events(stack_id, HEALTHY_T0 + timedelta(seconds=18.5 + n)))
    operations = [{"OperationId": op_id, "StackSetId": set_id, "Action": "CREATE", "Status": "SUCCEEDED",
                   "OperationPreferences": {"RegionConcurrencyType": "SEQUENTIAL", "RegionOrder": [REGION],
                                            "FailureToleranceCount": 0, "MaxConcurrentCount": 2},
                   "DeploymentTargets": {"OrganizationalUnitIds": [ROOT_ID], "AccountFilterType": "NONE"},
                   "RetainStacks": False, "CreationTimestamp": HEALTHY_T0,
                   "EndTimestamp": HEALTHY_T0 + timedelta(minutes=1, seconds=12.4),
                   "StatusDetails": {"FailedStackInstancesCount": 0}, "Results": results}]
    sc.stack_sets[HEALTHY_SET] = {"described": described, "summary": summary, "operations": operations,
                                  "instances": instances}
    return sc


# ==================================================================================================
# Seeding moto's backends directly (no API calls: fast at scale, and free to set any state).
# ==================================================================================================


class fixed_ids:
    """Makes moto's Organizations id generators return the reference case's ids while seeding."""

    def __init__(self, **generators: Callable[[], str]):
        self.generators = generators

    def __enter__(self) -> None:
        self.saved = {name: getattr(org_utils, name) for name in self.generators}
        for name, fn in self.generators.items():
            setattr(org_utils, name, fn)

    def __exit__(self, *exc: object) -> None:
        for name, fn in self.saved.items():
            setattr(org_utils, name, fn)


def seed_organization(members: list[str]) -> str:
    """The organization, its accounts directly under the root, and the SCP attached to the root."""
    scp = read_sample("scp.json", "abcde")["Policy"]
    mgmt = organizations_backends[MANAGEMENT]["aws"]
    with fixed_ids(make_random_org_id=lambda: ORG_ID, make_random_root_id=lambda: ROOT_ID):
        mgmt.create_organization(region="us-east-1", FeatureSet="ALL")
    mgmt.accounts[0].name = ACCOUNT_NAMES[MANAGEMENT]
    mgmt.accounts[0].email = mgmt.org.master_account_email = f"aws-{MANAGEMENT}@example.com"
    for policy_type in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        mgmt.enable_policy_type(RootId=ROOT_ID, PolicyType=policy_type)
    for account in [ADMIN, *members]:
        with fixed_ids(make_random_account_id=lambda a=account: a):
            mgmt.create_account(AccountName=ACCOUNT_NAMES.get(account, f"member-{account[-4:]}"),
                                Email=f"aws-{account}@example.com")
    summary = scp["PolicySummary"]
    with fixed_ids(make_random_policy_id=lambda: summary["Id"]):
        mgmt.create_policy(Content=scp["Content"], Description=summary["Description"], Name=summary["Name"],
                           Type=summary["Type"])
    mgmt.attach_policy(PolicyId=summary["Id"], TargetId=ROOT_ID)
    for principal in ("member.org.stacksets.cloudformation.amazonaws.com", "ssm.amazonaws.com"):
        mgmt.enable_aws_service_access(ServicePrincipal=principal)
    # moto 5.2.1 refuses to register a StackSets delegated administrator; a Systems Manager one it takes.
    mgmt.register_delegated_administrator(AccountId=ADMIN, ServicePrincipal="ssm.amazonaws.com")
    # moto keeps Organizations state per account, readable from the management account only. A delegated
    # administrator reads it in AWS: its backend is made the management account's, the same object.
    organizations_backends[ADMIN]["aws"] = mgmt
    return summary["Id"]


def seed_cloudformation(sc: Scenario) -> None:
    admin = cloudformation_backends[ADMIN][REGION]
    sets: dict[str, SeededStackSet] = {}
    for name, s in sc.stack_sets.items():
        ss = SeededStackSet(s["described"], s["summary"])
        ss.operations = copy.deepcopy(s["operations"])
        ss.instances.stack_instances.extend(SeededStackInstance(i) for i in s["instances"])
        admin.stacksets[ss.id] = ss
        sets[name] = ss
    descriptions = {name: Stack.parse_template(ss.template).get("Description") for name, ss in sets.items()}
    for (account, stack_id), st in sc.stacks.items():
        ss = sets[st["stack_set"]]
        final = next(e for e in st["events"] if e["LogicalResourceId"] == e["StackName"])  # newest stack event
        cloudformation_backends[account][REGION].stacks[stack_id] = SeededStack(
            stack_id=stack_id, account_id=account, template=ss.template, description=descriptions[st["stack_set"]],
            parameters=dict(ss.parameters), tags=dict(ss.tags or {}), status=final["ResourceStatus"],
            events=[make_event(e) for e in reversed(st["events"])],
        )


# ==================================================================================================
# Quick Setup (ssm-quicksetup) and Automation executions: moto 5.2.1 has neither, so a WSGI middleware
# in front of moto serves them, in the request and response shapes of botocore's service models.
# ==================================================================================================


def quick_setup_data(sc: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Quick Setup's configuration manager, and its failed lifecycle Automation execution. Neither
    was saved from AWS: the names, messages and steps are made up to fit the saved operations."""
    da = sc.stack_sets[f"AWS-QuickSetup-SSM-DA-{sc.qs_id}"]
    ta = sc.stack_sets.get(f"AWS-QuickSetup-SSM-TA-{sc.qs_id}")
    last_end = (ta or da)["operations"][0]["EndTimestamp"]
    created = da["operations"][0]["CreationTimestamp"] - timedelta(seconds=4.218)
    manager_arn = f"arn:aws:ssm-quicksetup:{REGION}:{ADMIN}:configuration-manager/{det_uuid('manager', sc.qs_id)}"
    execution_id = det_uuid("automation", sc.qs_id)
    document = f"AWSQuickSetupType-SSM-LifecycleManagement-{sc.qs_id}"
    failed_sets = "; ".join(
        f"{name} (operation {s['operations'][0]['OperationId']}: "
        f"{s['operations'][0]['StatusDetails']['FailedStackInstancesCount']} failed stack instances)"
        for name, s in sc.stack_sets.items() if s["operations"][0]["Status"] == "FAILED")
    params = {
        "DelegatedAccountId": ADMIN, "TargetOrganizationalUnits": ROOT_ID, "TargetRegions": REGION,
        "HomeRegion": REGION, "InventoryCollectionSchedule": "rate(12 hours)",
        "AgentUpdateSchedule": "rate(14 days)", "EnableDHMCSchedule": "rate(1 day)",
    }
    definition = {"Id": sc.qs_id, "Type": "AWSQuickSetupType-SSM", "TypeVersion": "1.0"}
    manager = {
        "ManagerArn": manager_arn,
        "Name": f"SystemsManager-{sc.qs_id}",
        "Description": f"Quick Setup ({sc.qs_id}) - Systems Manager unified console",
        "CreatedAt": created,
        "LastModifiedAt": created,
        "StatusSummaries": [
            {"StatusType": "Deployment", "Status": "FAILED", "LastUpdatedAt": last_end,
             "StatusMessage": f"Deployment failed for stack set(s) {failed_sets}. "
                              "See the stack set operation results for the reasons.",
             "StatusDetails": {name: s["operations"][0]["Status"] for name, s in sc.stack_sets.items()}},
            {"StatusType": "AsyncExecutions", "Status": "FAILED", "LastUpdatedAt": last_end,
             "StatusMessage": f"Automation execution {execution_id} ({document}) failed.",
             "StatusDetails": {"AutomationExecutionId": execution_id}},
        ],
        "ConfigurationDefinitions": [{**definition, "Parameters": params}],
        "ConfigurationDefinitionSummaries": [{**definition, "FirstClassParameters": {
            k: params[k] for k in ("DelegatedAccountId", "TargetOrganizationalUnits", "TargetRegions")}}],
        "Tags": {"QuickSetupID": sc.qs_id},
    }

    def step(name: str, action: str, start: datetime, end: datetime, status: str, inputs: dict[str, str],
             outputs: dict[str, list[str]] | None = None, failure: str | None = None) -> dict[str, Any]:
        st = {"StepName": name, "Action": action, "ExecutionStartTime": start, "ExecutionEndTime": end,
              "StepStatus": status, "Inputs": inputs, "Outputs": outputs or {}, "MaxAttempts": 1,
              "TimeoutSeconds": 3600, "IsCritical": True, "IsEnd": False,
              # The deployment goes on to the member accounts even when the admin account's fails.
              "OnFailure": "Continue", "StepExecutionId": det_uuid(execution_id, name)}
        if failure:
            st.update(FailureMessage=failure,
                      FailureDetails={"FailureStage": "Execution", "FailureType": "Unknown", "Details": {}})
        return st

    def deploy(what: str, s: dict[str, Any]) -> list[dict[str, Any]]:
        """Starting one stack set's operation, then waiting for it: the wait fails with its outcome."""
        op, set_name = s["operations"][0], s["described"]["StackSetName"]
        started = step(f"Create{what}StackInstances", "aws:executeAwsApi",
                       op["CreationTimestamp"] - timedelta(seconds=1.174),
                       op["CreationTimestamp"] + timedelta(seconds=0.35), "Success",
                       {"Service": "cloudformation", "Api": "CreateStackInstances", "StackSetName": set_name},
                       {"OperationId": [op["OperationId"]]})
        failed = [r for r in op["Results"] if r["Status"] == "FAILED"]
        accounts = ", ".join(r["Account"] for r in failed[:3]) + (f" and {len(failed) - 3} more"
                                                                   if len(failed) > 3 else "")
        message = (f"Step fails when it is Poll action status for completion. Exception: Stack set operation "
                   f"{op['OperationId']} on {set_name} finished with status {op['Status']}; {len(failed)} "
                   f"stack instance(s) failed ({accounts}): {failed[0]['StatusReason'] if failed else ''} "
                   "Please refer to Automation Service Troubleshooting Guide for more diagnosis details.")
        waited = step(f"WaitFor{what}StackSet", "aws:executeScript", started["ExecutionEndTime"],
                      op["EndTimestamp"] + timedelta(seconds=1.6), "Failed" if failed else "Success",
                      {"Runtime": "python3.11", "Handler": "wait_for_stack_set_operation",
                       "InputPayload": json.dumps({"StackSetName": set_name, "OperationId": op["OperationId"]})},
                      failure=message if failed else None)
        return [started, waited]

    steps = deploy("DelegatedAdmin", da) + (deploy("MemberAccount", ta) if ta else [])
    steps[-1]["IsEnd"] = True
    failed_steps = [s for s in steps if s["StepStatus"] == "Failed"]
    execution = {
        "AutomationExecutionId": execution_id,
        "DocumentName": document,
        "DocumentVersion": "1",
        "ExecutionStartTime": steps[0]["ExecutionStartTime"],
        "ExecutionEndTime": steps[-1]["ExecutionEndTime"] + timedelta(seconds=0.4),
        "AutomationExecutionStatus": "Failed" if failed_steps else "Success",
        "StepExecutions": steps,
        "StepExecutionsTruncated": False,
        "Parameters": {"QuickSetupId": [sc.qs_id], "ManagerArn": [manager_arn], "AutomationAssumeRole": [
            f"arn:aws:iam::{ADMIN}:role/AWS-QuickSetup-SSM-LifecycleManagement-{sc.qs_id}"]},
        "Outputs": {},
        "Mode": "Auto",
        "ExecutedBy": f"arn:aws:sts::{ADMIN}:assumed-role/AWSServiceRoleForSSMQuickSetup/ssm-quicksetup",
        "AutomationType": "Local",
        "ProgressCounters": {"TotalSteps": len(steps), "SuccessSteps": len(steps) - len(failed_steps),
                             "FailedSteps": len(failed_steps), "CancelledSteps": 0, "TimedOutSteps": 0},
    }
    if failed_steps:
        execution["FailureMessage"] = failed_steps[-1]["FailureMessage"]
    return manager, execution


AUTOMATION_METADATA = (  # what DescribeAutomationExecutions tells of an execution that GetAutomationExecution has
    "AutomationExecutionId", "DocumentName", "DocumentVersion", "AutomationExecutionStatus", "ExecutionStartTime",
    "ExecutionEndTime", "ExecutedBy", "Outputs", "Mode", "FailureMessage", "AutomationType",
)
AUTOMATION_FILTER_KEYS = {
    "DocumentNamePrefix", "ExecutionStatus", "ExecutionId", "ParentExecutionId", "CurrentAction", "StartTimeBefore",
    "StartTimeAfter", "AutomationType", "TagKey", "TargetResourceGroup", "AutomationSubtype", "OpsItemId",
}
SIGV4_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _automation_matches(e: dict[str, Any], key: str, values: list[str]) -> bool:
    def when(v: str) -> datetime:
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            raise ApiError(400, "InvalidFilterValue", f"Invalid time {v!r} for filter {key}") from None
        return t if t.tzinfo else t.replace(tzinfo=timezone.utc)

    if key == "ExecutionStatus":
        return e["AutomationExecutionStatus"] in values
    if key == "DocumentNamePrefix":
        return any(e["DocumentName"].startswith(v) for v in values)
    if key == "ExecutionId":
        return e["AutomationExecutionId"] in values
    if key == "StartTimeAfter":
        return all(e["ExecutionStartTime"] >= when(v) for v in values)
    if key == "StartTimeBefore":
        return all(e["ExecutionStartTime"] <= when(v) for v in values)
    if key == "AutomationType":
        return e["AutomationType"] in values
    return False  # ParentExecutionId, TagKey, OpsItemId, ...: the seeded execution has none


def _wire(o: Any, timestamps: Callable[[datetime], Any]) -> Any:
    if isinstance(o, datetime):
        return timestamps(o)
    if isinstance(o, dict):
        return {k: _wire(v, timestamps) for k, v in o.items()}
    if isinstance(o, list):
        return [_wire(v, timestamps) for v in o]
    return o


TRAIL_PAGE = 50  # LookupEvents' MaxResults maximum (and default); --trail-page-size serves smaller pages
LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
               "AccessKeyId")


def lookup_event(record: dict[str, Any]) -> dict[str, Any]:
    """One entry of LookupEvents' `Events`: the record's summary fields, and the record itself as a JSON string.
    `Username` is what CloudTrail shows for the caller: an assumed role's session name, else the user's name."""
    identity = record.get("userIdentity") or {}
    username = identity.get("userName") or identity.get("arn", "").rsplit("/", 1)[-1] or None
    event = {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "true" if record.get("readOnly") else "false",
        "AccessKeyId": identity.get("accessKeyId"),
        "EventTime": ts(record["eventTime"]),
        "EventSource": record["eventSource"],
        "Username": username,
        "Resources": [{"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in record.get("resources") or []],
        "CloudTrailEvent": json.dumps(record, separators=(",", ":")),
    }
    return {k: v for k, v in event.items() if v is not None}


def lookup_events(records: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """LookupEvents over one account's records in one Region: at most one lookup attribute, the time range (both
    ends included), newest first, pages of MaxResults (1-50, default 50) with an opaque NextToken."""
    attributes = body.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise ApiError(400, "InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    events = [lookup_event(r) for r in records]
    for a in attributes:
        key, value = a.get("AttributeKey"), a.get("AttributeValue")
        if key not in LOOKUP_KEYS or value is None:
            raise ApiError(400, "InvalidLookupAttributesException", f"Invalid lookup attribute key: {key}")
        if key in ("ResourceType", "ResourceName"):
            events = [e for e in events if any(r.get(key) == value for r in e.get("Resources", []))]
        else:
            events = [e for e in events if e.get(key) == value]

    def when(name: str) -> datetime | None:
        v = body.get(name)
        return None if v is None else datetime.fromtimestamp(float(v), tz=timezone.utc)

    start, end = when("StartTime"), when("EndTime")
    if start and end and start > end:
        raise ApiError(400, "InvalidTimeRangeException", "Start time must be before end time.")
    events = [e for e in events if (start is None or e["EventTime"] >= start) and (end is None or e["EventTime"] <= end)]
    events.sort(key=lambda e: e["EventTime"], reverse=True)
    size = body.get("MaxResults", TRAIL_PAGE)
    if not isinstance(size, int) or not 1 <= size <= 50:
        raise ApiError(400, "InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    page, token = paginate(events, min(size, TRAIL_PAGE), body.get("NextToken"), limit=50, default=TRAIL_PAGE,
                           error=lambda m: ApiError(400, "InvalidNextTokenException", m))
    return {"Events": page, **({"NextToken": token} if token else {})}


class Middleware:
    """Serves Quick Setup, Automation executions and CloudTrail's LookupEvents, and hands every other request to
    moto. Requests are told apart by the SigV4 credential scope's service name and by X-Amz-Target, as moto does."""

    AUTOMATION = ("AmazonSSM.DescribeAutomationExecutions", "AmazonSSM.GetAutomationExecution")
    # botocore sends the model's targetPrefix (com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101), the Rust SDK
    # the service shape's name alone (CloudTrail_20131101); CloudTrail takes both.
    LOOKUP_EVENTS = ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
                     "CloudTrail_20131101.LookupEvents")

    def __init__(self, moto_app: Callable, manager: dict[str, Any] | None, execution: dict[str, Any] | None,
                 trail: dict[tuple[str, str], list[dict[str, Any]]] | None = None):
        self.moto_app, self.manager, self.execution = moto_app, manager, execution
        self.trail = trail or {}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        scope = SIGV4_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if scope and scope.group(3) == "ssm-quicksetup":
            rest_json = True  # rest-json: ISO 8601 timestamps, errors named in a header
        elif target in self.AUTOMATION or target in self.LOOKUP_EVENTS:
            rest_json = False  # json 1.1: epoch-second timestamps, errors named in the body
        else:
            return self.moto_app(environ, start_response)
        # Quick Setup and the execution exist in the admin account's home region only. The caller's account
        # is moto's answer for its key: an assumed role's keys are the role's account, any other the admin.
        home = (get_account_id_from(scope.group(1)) == ADMIN and scope.group(2) == REGION
                if scope else True)
        headers = []
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise ApiError(400, "SerializationException", "The request body is not valid JSON") from None
            if rest_json:
                payload = _wire(self.quick_setup(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), body,
                                                 home), iso_ms)
            elif target in self.LOOKUP_EVENTS:
                # The caller's account (an assumed role's keys are the role's account) and the signed Region.
                where = (get_account_id_from(scope.group(1)), scope.group(2)) if scope else (ADMIN, REGION)
                payload = _wire(lookup_events(self.trail.get(where, []), body), lambda t: t.timestamp())
            else:
                payload = _wire(self.automation(target.split(".", 1)[1], body, home), lambda t: t.timestamp())
            status = 200
        except ApiError as e:
            status = e.status
            payload = {"Message": e.message} if rest_json else {"__type": e.code, "message": e.message}
            headers.append(("x-amzn-ErrorType", e.code))
        data = json.dumps(payload).encode()
        headers += [("Content-Type", "application/json" if rest_json else "application/x-amz-json-1.1"),
                    ("Content-Length", str(len(data))), ("x-amzn-RequestId", str(uuid.uuid4()))]
        start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
        return [data]

    def quick_setup(self, method: str, path: str, body: dict[str, Any], home: bool) -> dict[str, Any]:
        managers = [self.manager] if home and self.manager else []
        if method == "POST" and path == "/listConfigurationManagers":
            summaries = [{k: m[k] for k in ("ManagerArn", "Name", "Description", "StatusSummaries",
                                            "ConfigurationDefinitionSummaries")} for m in managers]
            page, token = paginate(summaries, body.get("MaxItems"), body.get("StartingToken"),
                                   error=lambda msg: ApiError(400, "ValidationException", msg))
            return {"ConfigurationManagersList": page, **({"NextToken": token} if token else {})}
        if method == "GET" and path.startswith("/configurationManager/"):
            arn = path[len("/configurationManager/"):]  # PATH_INFO arrives percent-decoded
            for m in managers:
                if m["ManagerArn"] == arn:
                    return {k: v for k, v in m.items() if k != "ConfigurationDefinitionSummaries"}
            raise ApiError(404, "ResourceNotFoundException", f"Configuration manager {arn} not found")
        raise ApiError(400, "ValidationException", f"{method} {path}: the test emulator does not serve this "
                                                   "Quick Setup operation")

    def automation(self, operation: str, body: dict[str, Any], home: bool) -> dict[str, Any]:
        executions = [self.execution] if home and self.execution else []
        if operation == "GetAutomationExecution":
            wanted = body.get("AutomationExecutionId")
            for e in executions:
                if e["AutomationExecutionId"] == wanted:
                    return {"AutomationExecution": e}
            raise ApiError(400, "AutomationExecutionNotFoundException", f"Automation execution {wanted} not found")
        for f in body.get("Filters") or []:
            key, values = f.get("Key"), f.get("Values") or []
            if key not in AUTOMATION_FILTER_KEYS:
                raise ApiError(400, "ValidationException", f"Invalid filter key: {key}")
            executions = [e for e in executions if _automation_matches(e, key, values)]
        metadata = [{k: e[k] for k in AUTOMATION_METADATA if k in e} for e in executions]
        page, token = paginate(metadata, body.get("MaxResults"), body.get("NextToken"), limit=50, default=50,
                               error=lambda msg: ApiError(400, "ValidationException", msg))
        return {"AutomationExecutionMetadataList": page, **({"NextToken": token} if token else {})}


def deny_organizations(app: Callable) -> Callable:
    """--deny-organizations: every Organizations call answers AccessDeniedException, as AWS answers a caller that is
    neither the management account nor a delegated administrator for Organizations."""
    def wrapped(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("AWSOrganizationsV20161128."):
            return app(environ, start_response)
        data = json.dumps({"__type": "AccessDeniedException",
                           "Message": "You don't have permissions to access this resource."}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("Content-Length", str(len(data))),
                                           ("x-amzn-RequestId", str(uuid.uuid4()))])
        return [data]
    return wrapped


# ==================================================================================================
# Server and lifecycle.
# ==================================================================================================


def stdin_tells_parent_exit() -> bool:
    """A pipe, socket or terminal on stdin reaches EOF when the other end goes. /dev/null (what a shell
    gives a background job) or a file is at EOF from the start and would end the emulator at once."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(0)


def main(argv: list[str] | None = None) -> None:
    global EVENTS_PAGE, DESCRIBE_EVENTS, TRAIL_PAGE, RUNNING_FOR
    p = argparse.ArgumentParser(prog="emulator.sh run", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--scenario", choices=("reference", "scale", "edge", "vague-deny", "race", "locked", "healthy"),
                   default="reference")
    p.add_argument("--accounts", type=int, help="scale: member accounts, one stack instance each (default 1000)")
    p.add_argument("--failed", type=int, help="scale: how many of those instances failed (default 5)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: the OS picks a free one)")
    p.add_argument("--events-page-size", type=int, default=EVENTS_PAGE, metavar="N",
                   help="DescribeStackEvents page size (default 100); a small one exercises pagination")
    p.add_argument("--trail-page-size", type=int, default=TRAIL_PAGE, metavar="N",
                   help="LookupEvents page size at most (default 50, its maximum); a small one exercises NextToken")
    p.add_argument("--without-describe-events", action="store_true",
                   help="answer DescribeEvents with InvalidAction, as an endpoint that does not have it")
    p.add_argument("--running-for", type=float, default=0.0, metavar="SECONDS",
                   help="seeded operations are RUNNING for this long after first asked about, then as seeded")
    p.add_argument("--deny-organizations", action="store_true",
                   help="answer every Organizations call with AccessDeniedException")
    p.add_argument("--ignore-stdin", action="store_true", help="do not stop when stdin reaches EOF")
    p.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = p.parse_args(argv)
    if args.scenario != "scale" and (args.accounts is not None or args.failed is not None):
        p.error("--accounts and --failed apply to --scenario scale")
    accounts = 1000 if args.accounts is None else args.accounts
    failed = 5 if args.failed is None else args.failed
    if args.scenario == "scale" and not (1 <= accounts <= 100_000 and 1 <= failed <= accounts):
        p.error("--scenario scale needs 1 <= --failed <= --accounts <= 100000")
    if args.events_page_size < 1:
        p.error("--events-page-size must be at least 1")
    EVENTS_PAGE = args.events_page_size
    if not 1 <= args.trail_page_size <= 50:
        p.error("--trail-page-size must be between 1 and 50")
    TRAIL_PAGE = args.trail_page_size
    DESCRIBE_EVENTS = not args.without_describe_events
    if not 0 <= args.running_for <= 3600:
        p.error("--running-for must be between 0 and 3600 seconds")
    RUNNING_FOR = args.running_for
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)

    started = time.monotonic()
    sc = {"reference": build_reference, "edge": build_edge, "vague-deny": build_vague, "race": build_race,
          "locked": build_locked, "healthy": build_healthy}.get(
        args.scenario, lambda: build_scale(accounts, failed))()
    scp_id = seed_organization(sc.members)
    seed_cloudformation(sc)
    # The edge, vague-deny, race, locked and healthy scenarios have no Quick Setup: no configuration manager, no
    # Automation execution.
    manager, execution = (quick_setup_data(sc) if sc.name not in ("edge", "vague-deny", "race", "locked", "healthy")
                          else (None, None))
    moto_app = DomainDispatcherApplication(create_backend_app)
    for service in ("cloudformation", "sts", "organizations", "ssm", "iam"):  # not on each one's first request
        moto_app.app_instances[service] = create_backend_app(service)
    app: Callable = Middleware(moto_app, manager, execution, sc.trail)
    if args.deny_organizations:
        app = deny_organizations(app)
    server = make_server(args.host, args.port, app, threaded=True)
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    log(f"scenario {sc.name} seeded in {time.monotonic() - started:.1f} s: caller (delegated admin) {ADMIN}, "
        f"management {MANAGEMENT}, organization {ORG_ID}, root {ROOT_ID}, SCP {scp_id} on the root, "
        f"{len(sc.members)} member accounts, stack sets {', '.join(sc.stack_sets)}")

    stop = threading.Event()
    why: list[str] = []

    def request_stop(reason: str) -> None:
        why.append(reason)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda n, _frame: request_stop(signal.Signals(n).name))
    if not args.ignore_stdin and stdin_tells_parent_exit():
        def watch_stdin() -> None:
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            request_stop("stdin reached EOF")

        threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        print(f"READY http://{host}:{port}", flush=True)
    except BrokenPipeError:
        request_stop("stdout is closed")
    while not stop.wait(0.5):  # a timeout, so that signal handlers get to run
        pass
    log(f"stopping: {why[0]}")
    server.shutdown()
    os._exit(0)  # request threads may still be writing to a client that left; do not wait for them


if __name__ == "__main__":
    main()
