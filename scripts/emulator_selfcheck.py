#!/usr/bin/env python3
"""Checks the test emulator over real HTTP against the saved AWS CLI output in samples/quicksetup-scp-deny.

    .venv/bin/python scripts/emulator_selfcheck.py [--scenario reference|scale] [--accounts N] [--failed K]
    .venv/bin/python scripts/emulator_selfcheck.py http://127.0.0.1:PORT [--scenario ...]

Without a URL it starts `scripts/emulator.sh run` itself (with a small DescribeStackEvents page, so that
pagination is exercised), and at the end closes the emulator's stdin and checks that it exits. With the
AWS CLI on PATH, a few answers are also compared through it, byte for byte with the saved files.
Prints one line per check and `N passed, M failed`; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "quicksetup-scp-deny"
REGION = "ap-northeast-1"
ADMIN = "121212121212"
DUMMY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

passed = failed = 0


def check(what: str, fn: Callable[[], Any]) -> None:
    """Runs one check: fn returns True or None to pass, or a string saying what is wrong."""
    global passed, failed
    try:
        problem = fn()
        problem = None if problem is True else problem
    except Exception as e:  # noqa: BLE001 - any error is a failed check, reported and counted
        problem = f"{type(e).__name__}: {e}"
    if problem:
        failed += 1
        print(f"FAIL - {what}: {problem}")
    else:
        passed += 1
        print(f"ok - {what}")


def norm(o: Any) -> Any:
    """A boto3 answer in the AWS CLI v2's JSON form (timestamps as isoformat), without metadata."""
    if isinstance(o, datetime):
        return o.isoformat()
    if isinstance(o, dict):
        return {k: norm(v) for k, v in o.items() if k not in ("ResponseMetadata", "NextToken")}
    if isinstance(o, list):
        return [norm(v) for v in o]
    return o


def same(got: Any, want: Any) -> str | None:
    got, want = norm(got), norm(want)
    if got == want:
        return None
    show = lambda o: json.dumps(o, sort_keys=True)[:600]  # noqa: E731
    return f"differs:\n  got  {show(got)}\n  want {show(want)}"


def sample(rel: str) -> Any:
    return json.loads((SAMPLES / rel).read_text())


def pages(call: Callable[..., dict], key: str, **kw: Any) -> tuple[list[Any], int]:
    """Every item of a paged listing, and how many pages it took (following NextToken by hand)."""
    items, n, token = [], 0, None
    while True:
        page = call(**kw, **({"NextToken": token} if token else {}))
        items += page[key]
        n += 1
        token = page.get("NextToken")
        if not token:
            return items, n


class Emulator:
    def __init__(self, url: str | None, argv: list[str]):
        self.proc = None
        if url:
            self.url = url
            return
        self.proc = subprocess.Popen([str(ROOT / "scripts" / "emulator.sh"), "run", *argv],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            sys.exit(f"emulator did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def client(self, service: str, creds: dict[str, str] | None = None) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **(creds or DUMMY))

    def member(self, service: str, account: str) -> Any:
        """A client in a member account, through the role the collector assumes there."""
        if account == ADMIN:
            return self.client(service)
        c = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                           RoleSessionName="stackset-doctor")["Credentials"]
        return self.client(service, {"aws_access_key_id": c["AccessKeyId"],
                                     "aws_secret_access_key": c["SecretAccessKey"],
                                     "aws_session_token": c["SessionToken"]})

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.stdin.close()
        start = time.monotonic()
        try:
            self.proc.wait(timeout=10)
            check("the emulator exits when its stdin reaches EOF",
                  lambda: None if self.proc.returncode == 0 else f"exit status {self.proc.returncode}")
            print(f"   (it took {time.monotonic() - start:.1f} s)")
        except subprocess.TimeoutExpired:
            self.proc.kill()
            check("the emulator exits when its stdin reaches EOF", lambda: "still running after 10 s")


def check_reference(emu: Emulator) -> None:
    cfn = emu.client("cloudformation")
    check("sts GetCallerIdentity with dummy keys is the delegated admin",
          lambda: same(emu.client("sts").get_caller_identity()["Account"], ADMIN))
    for call_as in ("SELF", "DELEGATED_ADMIN"):
        check(f"ListStackSets Status=ACTIVE CallAs={call_as}",
              lambda: same(cfn.list_stack_sets(Status="ACTIVE", CallAs=call_as), sample("list-stack-sets.json")))

    saved_events: dict[str, list] = {}
    for kind in ("DA", "TA"):
        name = f"AWS-QuickSetup-SSM-{kind}-abcde"
        d = f"{name}/"
        op_id = sample(d + "list-stack-set-operations.json")["Summaries"][0]["OperationId"]
        check(f"{name}: DescribeStackSet",
              lambda: same(cfn.describe_stack_set(StackSetName=name, CallAs="DELEGATED_ADMIN"),
                           sample(d + "describe-stack-set.json")))
        check(f"{name}: ListStackSetOperations",
              lambda: same(cfn.list_stack_set_operations(StackSetName=name),
                           sample(d + "list-stack-set-operations.json")))
        check(f"{name}: DescribeStackSetOperation",
              lambda: same(cfn.describe_stack_set_operation(StackSetName=name, OperationId=op_id),
                           sample(d + "describe-stack-set-operation.json")))
        results = sample(d + "list-stack-set-operation-results.json")
        check(f"{name}: ListStackSetOperationResults",
              lambda: same(cfn.list_stack_set_operation_results(StackSetName=name, OperationId=op_id), results))
        check(f"{name}: ListStackSetOperationResults MaxResults=1, page by page",
              lambda: same({"Summaries": pages(cfn.list_stack_set_operation_results, "Summaries", StackSetName=name,
                                               OperationId=op_id, MaxResults=1)[0]}, results))
        check(f"{name}: ListStackSetOperationResults Filters OPERATION_RESULT_STATUS=FAILED",
              lambda: same(cfn.list_stack_set_operation_results(
                  StackSetName=name, OperationId=op_id,
                  Filters=[{"Name": "OPERATION_RESULT_STATUS", "Values": "FAILED"}])["Summaries"],
                  [r for r in results["Summaries"] if r["Status"] == "FAILED"]))
        instances = sample(d + "list-stack-instances.json")
        check(f"{name}: ListStackInstances",
              lambda: same(cfn.list_stack_instances(StackSetName=name, CallAs="DELEGATED_ADMIN"), instances))
        check(f"{name}: ListStackInstances MaxResults=1, page by page",
              lambda: same({"Summaries": pages(cfn.list_stack_instances, "Summaries", StackSetName=name,
                                               MaxResults=1)[0]}, instances))
        check(f"{name}: ListStackInstances Filters DETAILED_STATUS=FAILED",
              lambda: same(cfn.list_stack_instances(
                  StackSetName=name, Filters=[{"Name": "DETAILED_STATUS", "Values": "FAILED"}])["Summaries"],
                  [i for i in instances["Summaries"] if i["StackInstanceStatus"]["DetailedStatus"] == "FAILED"]))
        check(f"{name}: ListStackInstances Filters LAST_OPERATION_ID",
              lambda: same(cfn.list_stack_instances(
                  StackSetName=name, Filters=[{"Name": "LAST_OPERATION_ID", "Values": op_id}]), instances))
        for f in sorted((SAMPLES / name).glob("describe-stack-instance-*.json")):
            account = f.name.split("-")[3]
            check(f"{name}: DescribeStackInstance {account}",
                  lambda: same(cfn.describe_stack_instance(StackSetName=name, StackInstanceAccount=account,
                                                           StackInstanceRegion=REGION), json.loads(f.read_text())))
        for inst in instances["Summaries"]:
            account, stack_id = inst["Account"], inst.get("StackId")
            if not stack_id:
                check(f"{name}: {account} ({inst['StackInstanceStatus']['DetailedStatus']}) has no stack",
                      lambda: same(cfn.describe_stack_instance(StackSetName=name, StackInstanceAccount=account,
                                                               StackInstanceRegion=REGION)["StackInstance"]
                                   .get("StackId"), None))
                continue
            path = SAMPLES / name / f"describe-stack-events-{account}-{REGION}.json"
            member_cfn = emu.member("cloudformation", account)
            events, n_pages = pages(member_cfn.describe_stack_events, "StackEvents", StackName=stack_id)
            if path.exists():
                saved_events[kind] = json.loads(path.read_text())["StackEvents"]
                check(f"{name}: DescribeStackEvents in {account} ({n_pages} pages)",
                      lambda: same(events, saved_events[kind]))
            else:
                # Not saved from AWS: the emulator replays the saved account's history for this stack.
                want = [(e["LogicalResourceId"] == e["StackName"], e["ResourceStatus"], e.get("ResourceStatusReason"))
                        for e in saved_events[kind]]
                check(f"{name}: DescribeStackEvents in {account} ({n_pages} pages) replays the saved history",
                      lambda: same([(e["LogicalResourceId"] == e["StackName"], e["ResourceStatus"],
                                     e.get("ResourceStatusReason")) for e in events], want)
                      or same({e["StackId"] for e in events}, {stack_id}))
            newest = next(e for e in events if e["LogicalResourceId"] == e["StackName"])
            check(f"{name}: DescribeStacks in {account} is {newest['ResourceStatus']}",
                  lambda: same(member_cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"],
                               newest["ResourceStatus"]))
    check("the admin account does not see a member account's stack", lambda: expect_error(
        lambda: cfn.describe_stack_events(StackName=sample(
            "AWS-QuickSetup-SSM-TA-abcde/list-stack-instances.json")["Summaries"][0]["StackId"]), "ValidationError"))
    check("DescribeStackInstance of an account without an instance",
          lambda: expect_error(lambda: cfn.describe_stack_instance(
              StackSetName="AWS-QuickSetup-SSM-TA-abcde", StackInstanceAccount="999999999999",
              StackInstanceRegion=REGION), "StackInstanceNotFoundException"))
    check("ListStackInstances MaxResults=101 is refused", lambda: expect_error(
        lambda: cfn.list_stack_instances(StackSetName="AWS-QuickSetup-SSM-TA-abcde", MaxResults=101),
        "ValidationError"))
    check_organization(emu, ["232323232323", "343434343434", "454545454545", "565656565656"])
    check_quick_setup(emu, ["AWS-QuickSetup-SSM-DA-abcde", "AWS-QuickSetup-SSM-TA-abcde"])
    check_cli(emu)


def expect_error(call: Callable[[], Any], code: str) -> str | None:
    try:
        call()
    except ClientError as e:
        return same(e.response["Error"]["Code"], code)
    return f"no error; expected {code}"


def check_organization(emu: Emulator, members: list[str]) -> None:
    org = emu.client("organizations")  # as the delegated admin, not the management account
    scp = sample("scp.json")
    check("Organizations DescribeOrganization as the delegated admin",
          lambda: same({k: org.describe_organization()["Organization"][k] for k in ("Id", "MasterAccountId")},
                       {"Id": "o-a1b2c3d4e5", "MasterAccountId": "909090909090"}))
    for account in [ADMIN, *members[:4]]:
        check(f"Organizations ListParents {account}",
              lambda: same(org.list_parents(ChildId=account)["Parents"], [{"Id": "r-ab12", "Type": "ROOT"}]))
    check("Organizations ListPoliciesForTarget r-ab12 SERVICE_CONTROL_POLICY",
          lambda: same(sorted(p["Id"] for p in org.list_policies_for_target(
              TargetId="r-ab12", Filter="SERVICE_CONTROL_POLICY")["Policies"]), ["p-8x2k4q7m", "p-FullAWSAccess"]))
    check("Organizations ListPoliciesForTarget account RESOURCE_CONTROL_POLICY",
          lambda: same([p["Id"] for p in org.list_policies_for_target(
              TargetId=members[0], Filter="RESOURCE_CONTROL_POLICY")["Policies"]], ["p-RCPFullAWSAccess"]))
    check("Organizations DescribePolicy p-8x2k4q7m",
          lambda: same(org.describe_policy(PolicyId="p-8x2k4q7m"), scp))
    check(f"Organizations DescribeOrganization from member {members[0]} (assumed role)",
          lambda: same(emu.member("organizations", members[0]).describe_organization()["Organization"]["Id"],
                       "o-a1b2c3d4e5"))


def check_quick_setup(emu: Emulator, stack_sets: list[str]) -> None:
    qs = emu.client("ssm-quicksetup")

    def managers() -> str | None:
        listed = qs.list_configuration_managers()["ConfigurationManagersList"]
        if len(listed) != 1:
            return f"{len(listed)} managers"
        m = listed[0]
        deployment = next(s for s in m["StatusSummaries"] if s["StatusType"] == "Deployment")
        return (same([d["Type"] for d in m["ConfigurationDefinitionSummaries"]], ["AWSQuickSetupType-SSM"])
                or same(deployment["Status"], "FAILED")
                or same([n for n in stack_sets if n in deployment["StatusMessage"]], stack_sets)
                or same(qs.get_configuration_manager(ManagerArn=m["ManagerArn"])["ManagerArn"], m["ManagerArn"]))

    check("ssm-quicksetup ListConfigurationManagers / GetConfigurationManager", managers)
    check("ssm-quicksetup GetConfigurationManager of an unknown ARN", lambda: expect_error(
        lambda: qs.get_configuration_manager(ManagerArn="arn:aws:ssm-quicksetup:ap-northeast-1:121212121212:"
                                                        "configuration-manager/nope"), "ResourceNotFoundException"))
    ssm = emu.client("ssm")

    def automation() -> str | None:
        listed = ssm.describe_automation_executions(Filters=[
            {"Key": "ExecutionStatus", "Values": ["Failed", "TimedOut", "Cancelled"]},
            {"Key": "StartTimeAfter", "Values": ["2025-03-10T04:05:00Z"]}])["AutomationExecutionMetadataList"]
        if len(listed) != 1 or "QuickSetup" not in listed[0]["DocumentName"]:
            return f"expected one Quick Setup execution, got {norm(listed)}"
        full = ssm.get_automation_execution(AutomationExecutionId=listed[0]["AutomationExecutionId"])
        failed_steps = [s for s in full["AutomationExecution"]["StepExecutions"] if s["StepStatus"] == "Failed"]
        return same(sorted(n for n in stack_sets for s in failed_steps if n in s["FailureMessage"]), sorted(stack_sets))

    check("ssm DescribeAutomationExecutions ExecutionStatus=Failed / GetAutomationExecution", automation)
    check("ssm DescribeAutomationExecutions StartTimeAfter later than the execution", lambda: same(
        ssm.describe_automation_executions(Filters=[{"Key": "StartTimeAfter", "Values": ["2025-03-11T00:00:00Z"]}])
        ["AutomationExecutionMetadataList"], []))
    member = "232323232323"
    check(f"{member} (assumed role) has no stack sets, Quick Setup or executions", lambda: same(
        [len(emu.member("cloudformation", member).list_stack_sets()["Summaries"]),
         len(emu.member("ssm-quicksetup", member).list_configuration_managers()["ConfigurationManagersList"]),
         len(emu.member("ssm", member).describe_automation_executions()["AutomationExecutionMetadataList"])],
        [0, 0, 0]))
    check("moto's own SSM still answers (PutParameter / GetParameter)", lambda: same(
        (ssm.put_parameter(Name="/emulator/selfcheck", Value="1", Type="String", Overwrite=True),
         ssm.get_parameter(Name="/emulator/selfcheck")["Parameter"]["Value"])[1], "1"))


def check_cli(emu: Emulator) -> None:
    """The AWS CLI's own output (timestamps printed as ISO 8601, like the saved files) byte for byte."""
    aws = shutil.which("aws")
    if not aws:
        print("   (no aws CLI on PATH: CLI checks skipped)")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as cfg:
        cfg.write("[default]\ncli_timestamp_format = iso8601\n")
    env = {**os.environ, "AWS_CONFIG_FILE": cfg.name, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    env.pop("AWS_PROFILE", None)
    ta = "AWS-QuickSetup-SSM-TA-abcde"
    op = "35cc76fd-f03f-49fa-86a9-6e8ed38b7d66"
    cases = [
        (["cloudformation", "list-stack-sets", "--status", "ACTIVE", "--call-as", "DELEGATED_ADMIN"],
         "list-stack-sets.json"),
        (["cloudformation", "list-stack-instances", "--stack-set-name", ta], f"{ta}/list-stack-instances.json"),
        (["cloudformation", "list-stack-set-operation-results", "--stack-set-name", ta, "--operation-id", op],
         f"{ta}/list-stack-set-operation-results.json"),
        (["cloudformation", "describe-stack-set-operation", "--stack-set-name", ta, "--operation-id", op],
         f"{ta}/describe-stack-set-operation.json"),
        (["organizations", "describe-policy", "--policy-id", "p-8x2k4q7m"], "scp.json"),
    ]
    try:
        for args, rel in cases:
            def run() -> str | None:
                out = subprocess.run([aws, "--endpoint-url", emu.url, "--region", REGION, *args], env=env,
                                     capture_output=True, text=True, timeout=60)
                if out.returncode:
                    return out.stderr.strip()
                return None if out.stdout == (SAMPLES / rel).read_text() else "output differs from the saved file"
            check(f"aws {' '.join(args[:2])} prints {rel}", run)
    finally:
        os.unlink(cfg.name)


def check_scale(emu: Emulator) -> None:
    cfn = emu.client("cloudformation")
    name = next(s["StackSetName"] for s in cfn.list_stack_sets(Status="ACTIVE")["Summaries"]
                if s["StackSetName"].startswith("AWS-QuickSetup-SSM-TA-"))
    op = cfn.list_stack_set_operations(StackSetName=name)["Summaries"][0]
    k = op["StatusDetails"]["FailedStackInstancesCount"]
    instances, n_pages = pages(cfn.list_stack_instances, "Summaries", StackSetName=name)
    n = len(instances)
    print(f"   ({name}: {n} instances in {n_pages} pages, operation {op['OperationId']} {op['Status']}, {k} failed)")
    check("scale: one instance per account", lambda: same(len({i["Account"] for i in instances}), n))
    check("scale: statuses", lambda: same(Counter(i["StackInstanceStatus"]["DetailedStatus"] for i in instances),
                                          +Counter({"FAILED": k, "SUCCEEDED": n - k})))
    failed_instances = cfn.list_stack_instances(StackSetName=name,
                                                Filters=[{"Name": "DETAILED_STATUS", "Values": "FAILED"}])["Summaries"]
    check("scale: ListStackInstances DETAILED_STATUS=FAILED", lambda: same(len(failed_instances), k))
    results, _ = pages(cfn.list_stack_set_operation_results, "Summaries", StackSetName=name,
                       OperationId=op["OperationId"], MaxResults=100)
    check("scale: ListStackSetOperationResults lists every account",
          lambda: same(Counter(r["Status"] for r in results), +Counter({"FAILED": k, "SUCCEEDED": n - k})))
    check("scale: ListStackSetOperationResults OPERATION_RESULT_STATUS=FAILED", lambda: same(len(
        cfn.list_stack_set_operation_results(StackSetName=name, OperationId=op["OperationId"], Filters=[
            {"Name": "OPERATION_RESULT_STATUS", "Values": "FAILED"}])["Summaries"]), k))
    first = failed_instances[0]
    member = emu.member("cloudformation", first["Account"])
    events, _ = pages(member.describe_stack_events, "StackEvents", StackName=first["StackId"])
    check(f"scale: the stack of failed {first['Account']} rolled back after a CREATE_FAILED", lambda: same(
        (events[0]["ResourceStatus"], any(e["ResourceStatus"] == "CREATE_FAILED" for e in events),
         member.describe_stacks(StackName=first["StackId"])["Stacks"][0]["StackStatus"]),
        ("ROLLBACK_COMPLETE", True, "ROLLBACK_COMPLETE")))
    check_organization(emu, [i["Account"] for i in failed_instances])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url", nargs="?", help="a running emulator (default: start one)")
    p.add_argument("--scenario", choices=("reference", "scale"), default="reference")
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--failed", type=int, default=5)
    args = p.parse_args()
    argv = ["--scenario", args.scenario, "--events-page-size", "4"]
    if args.scenario == "scale":
        argv += ["--accounts", str(args.accounts), "--failed", str(args.failed)]
    started = time.monotonic()
    emu = Emulator(args.url, argv)
    if emu.proc:
        print(f"   (emulator {emu.url} ready in {time.monotonic() - started:.1f} s)")
    try:
        (check_reference if args.scenario == "reference" else check_scale)(emu)
    finally:
        emu.stop()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
