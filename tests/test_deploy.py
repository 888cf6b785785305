"""Deploy targets: every rendered CloudFormation template passes cfn-lint, the
Lambda handler runs in-process against moto, and the image is built to be
safe. Nothing here needs a Docker daemon or an AWS account."""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .cloudformation import Stack
from .combinations import COMBINATIONS, DEPLOY_TARGETS, STARTER_JOBS, Combination, installable
from .conftest import CloudFormationLoader, bake

CFN_LINT = str(Path(sys.executable).with_name("cfn-lint"))
ZIZMOR = str(Path(sys.executable).with_name("zizmor"))
HADOLINT = str(Path(sys.executable).with_name("hadolint"))
WORKFLOWS = [combo for combo in COMBINATIONS if combo.answer("include_github_actions")]
TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
DEPLOYED = [combo for combo in COMBINATIONS if combo.answer("deploy_target") != "none"]
CONTAINERS = [
    combo
    for combo in COMBINATIONS
    if combo.answer("include_dockerfile") or combo.answer("deploy_target") == "ecs-fargate"
]
LAMBDAS = [combo for combo in DEPLOYED if combo.answer("deploy_target") == "lambda"]
LAMBDA_INSTALLED = [
    combo
    for combo in installable()
    if combo.answer("deploy_target") == "lambda" and combo.answer("starter_job") == "s3-cleanup"
]


def load_template(project: Any) -> dict[str, Any]:
    text = project.read("template.yaml")
    loaded: dict[str, Any] = yaml.load(text, Loader=CloudFormationLoader)
    return loaded


def test_every_starter_is_baked_with_every_deploy_target() -> None:
    pairs = {(combo.answer("deploy_target"), combo.answer("starter_job")) for combo in COMBINATIONS}
    assert pairs >= {(target, job) for target in DEPLOY_TARGETS for job in STARTER_JOBS}
    installed_jobs = {combo.answer("starter_job") for combo in COMBINATIONS if combo.install}
    assert installed_jobs == set(STARTER_JOBS)


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_cfn_lint_passes_in_the_project_s_region(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    region = combo.answer("aws_region") or "us-east-1"
    done = subprocess.run(
        [CFN_LINT, "--regions", region, "--", "template.yaml", "target-role.yaml"],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def sam_transform(template_text: str, region: str) -> dict[str, Any]:
    """The SAM transform CloudFormation runs at deploy time, run as ``sam
    validate`` runs it, offline: a managed-policy loader that calls no IAM,
    the project's region, each local CodeUri as an S3 object."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(template_text)
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        code = properties.get("CodeUri")
        if resource["Type"] == "AWS::Serverless::Function" and not str(code).startswith("s3://"):
            properties["CodeUri"] = "s3://deploy-bucket/function.zip"
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=boto3.Session(region_name=region),
    )
    try:
        result: dict[str, Any] = translator.translate(
            sam_template=sam, parameter_values={}, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        raise AssertionError(f"SAM transform: {[str(cause) for cause in error.causes]}") from error
    return result


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


@pytest.mark.parametrize("combo", LAMBDAS, ids=lambda combo: combo.id)
def test_every_lambda_stack_passes_the_sam_transform(cookies: Any, combo: Combination) -> None:
    """What CloudFormation deploys: the transform succeeds; the dead-letter
    queue keeps encryption, 14 days and a policy that lets only the
    schedule's rule send; the function writes logs only to its own group."""
    project = bake(cookies, combo)
    out = sam_transform(project.read("template.yaml"), combo.answer("aws_region") or "us-east-1")
    resources = out["Resources"]
    queue_arn = {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}
    (queue,) = of_type(out, "AWS::SQS::Queue").values()
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    ((rule_name, rule),) = of_type(out, "AWS::Events::Rule").items()
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": queue_arn}
    (policy,) = of_type(out, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": "ScheduleDeadLetterQueue"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert (statement["Action"], statement["Resource"]) == ("sqs:SendMessage", queue_arn)
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_name, "Arn"]}}
    }
    role = resources["FunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (logs,) = [policy for policy in role["Policies"] if policy["PolicyName"] == "logs"]
    assert logs["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": {"Fn::GetAtt": ["LogGroup", "Arn"]},
        }
    ]
    assert resources["Function"]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": "LogGroup"}}
    assert resources["LogGroup"]["DeletionPolicy"] == "Retain"


def test_the_transform_check_catches_a_queue_declared_twice() -> None:
    """The 0.7.0 stack declared the queue and asked SAM for one of the same name."""
    template = textwrap.dedent(
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          ScheduleDeadLetterQueue:
            Type: AWS::SQS::Queue
          Function:
            Type: AWS::Serverless::Function
            Properties:
              CodeUri: .
              Handler: app.handler
              Runtime: python3.11
              Events:
                Scheduled:
                  Type: Schedule
                  Properties:
                    Schedule: rate(1 day)
                    DeadLetterConfig: {Type: SQS, QueueLogicalId: ScheduleDeadLetterQueue}
        """
    )
    with pytest.raises(AssertionError, match="ScheduleDeadLetterQueue"):
        sam_transform(template, "us-east-1")


# Settings that lose data, or deactivate keys, when an invocation's event
# sets them: a Lambda stack's parameter says so (EventOverridableSettings).
OVERRIDES_THAT_LOSE_DATA = {
    "s3-cleanup": {"RetentionDays", "IncludeVersions"},
    "log-retention": {"LogGroupPrefix", "RetentionDays", "RetentionMode", "ExemptTagKey"},
    "access-key-audit": {"MaxKeyAgeDays", "MaxUnusedDays", "ExemptTagKey"},
    "blank": set(),
}


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_a_parameter_an_event_can_turn_destructive_says_so(
    cookies: Any, combo: Combination
) -> None:
    project = bake(cookies, combo)
    parameters = load_template(project)["Parameters"]
    risky = OVERRIDES_THAT_LOSE_DATA[combo.answer("starter_job")]
    assert risky <= set(parameters)
    lambda_stack = combo.answer("deploy_target") == "lambda"
    for name, spec in parameters.items():
        says = "EventOverridableSettings names" in spec.get("Description", "")
        assert says == (lambda_stack and name in risky), name
        if says:
            assert "event can change it: " in spec["Description"], name
    if lambda_stack:
        assert "lose data" in parameters["EventOverridableSettings"]["Description"]


def parameter_accepts(spec: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation takes ``value`` for a String parameter."""
    if len(value) < spec.get("MinLength", 0):
        return False
    pattern = spec.get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_stack_parameters_refuse_what_the_role_cannot_grant(
    cookies: Any, combo: Combination
) -> None:
    """An empty Prefix would grant the whole bucket (the script reads it as
    temp/); a local ReportPath names no resource and fails the deploy;
    placeholders come at most once each (the stack fills in one of each)."""
    project = bake(cookies, combo)
    target_role = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    stacks = [load_template(project), target_role]
    job = combo.answer("starter_job")
    for stack in stacks:
        parameters = stack["Parameters"]
        if job == "s3-cleanup":
            assert not parameter_accepts(parameters["Prefix"], "")
            assert parameter_accepts(parameters["Prefix"], "logs/2024/")
            bucket = parameters["Bucket"]
            assert parameter_accepts(bucket, "cleanup-{account}-{region}")
            assert not parameter_accepts(bucket, "{account}-{account}")
            assert not parameter_accepts(bucket, "{region}-{region}")
        if job == "access-key-audit":
            report = parameters["ReportPath"]
            for local in ("report.jsonl", "/tmp/report.jsonl", "./s3://x/y", "S3://b/k"):
                assert not parameter_accepts(report, local), local
            for remote in ("", "s3://reports/{account}/keys.jsonl", "s3://bkt/k"):
                assert parameter_accepts(report, remote), remote


def test_the_readmes_say_what_an_empty_s3_prefix_does() -> None:
    """The template-wide rule (an empty variable counts as unset) and the
    stack's refusal, in the same words wherever S3_PREFIX is explained."""
    said = (
        "an empty `S3_PREFIX` counts as unset, so the script uses the default "
        "`temp/`; the stack's `Prefix` refuses the empty string"
    )
    for readme in ("README.md", "templates/starters/s3-cleanup/README.md"):
        text = " ".join((TEMPLATE_ROOT / readme).read_text(encoding="utf-8").split())
        assert said in text or said[0].upper() + said[1:] in text, readme
        assert "S3_PREFIX` is refused" not in text, readme
        assert "empty is refused" not in text, readme


WRITE_VERBS = ("Create", "Delete", "Put", "Publish", "Update", "Tag", "Untag", "Modify", "Send")


def policy_statements(node: Any) -> list[dict[str, Any]]:
    """Every statement in a policy, on either side of any !If."""
    if isinstance(node, list):
        return [found for item in node for found in policy_statements(item)]
    if isinstance(node, dict) and "!If" in node:
        return policy_statements(node["!If"][1:])
    if isinstance(node, dict) and "Action" in node:
        return [node]
    return []


def role_statements(resources: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        f"{name}/{policy['PolicyName']}": policy_statements(policy["PolicyDocument"]["Statement"])
        for name, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role"
        for policy in resource["Properties"].get("Policies", [])
    }


def run_tool(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.parametrize("combo", WORKFLOWS, ids=lambda combo: combo.id)
def test_zizmor_finds_nothing_in_the_rendered_workflow(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    done = run_tool(ZIZMOR, "--offline", "--no-progress", ".github", cwd=project.path)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = project.read(".github/workflows/ci.yml")
    assert workflow.count("uses: actions/checkout@") == workflow.count("persist-credentials: false")


def test_zizmor_finds_nothing_in_the_template_s_own_workflow() -> None:
    done = run_tool(ZIZMOR, "--offline", "--no-progress", ".github", cwd=TEMPLATE_ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = (TEMPLATE_ROOT / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    assert workflow.count("uses: actions/checkout@") == workflow.count("persist-credentials: false")


@pytest.mark.parametrize("combo", CONTAINERS, ids=lambda combo: combo.id)
def test_hadolint_finds_nothing_in_the_rendered_dockerfile(
    cookies: Any, combo: Combination
) -> None:
    project = bake(cookies, combo)
    done = run_tool(HADOLINT, "--no-color", "Dockerfile", cwd=project.path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("combo", WORKFLOWS, ids=lambda combo: combo.id)
def test_dependabot_covers_the_ecosystems_the_project_uses(
    cookies: Any, combo: Combination
) -> None:
    project = bake(cookies, combo)
    config = yaml.safe_load(project.read(".github/dependabot.yml"))
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    container = combo.answer("include_dockerfile") or combo.answer("deploy_target") == "ecs-fargate"
    assert ecosystems == {"pip", "github-actions"} | ({"docker"} if container else set())
    assert (project.path / "Dockerfile").exists() == container


@pytest.mark.parametrize("combo", COMBINATIONS, ids=lambda combo: combo.id)
def test_build_outputs_are_ignored_by_git_and_ruff(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    assert ".aws-sam/" in project.read(".gitignore").split()
    build = project.path / ".aws-sam" / "build" / "Function"
    build.mkdir(parents=True)
    (build / "vendored.py").write_text("import os\nx=1;y = 2\n", encoding="utf-8")
    ruff = str(Path(sys.executable).with_name("ruff"))
    done = run_tool(ruff, "check", "--no-cache", "--select", "E,F", ".", cwd=project.path)
    assert "vendored.py" not in done.stdout, done.stdout


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_templates_keep_dry_run_and_least_privilege(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    template = load_template(project)
    assert template["Parameters"]["DryRun"]["Default"] == "true"
    target_role = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    roles = {**role_statements(template["Resources"]), **role_statements(target_role["Resources"])}
    assert {"TargetRole/job"} < set(roles)  # and the runner's role (and the scheduler's)
    writes = 0
    for role, statements in roles.items():
        for statement in statements:
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", action), action
                if action.split(":")[1].startswith(WRITE_VERBS):
                    writes += 1
                    assert statement["Resource"] != "*", f"{role}: {action} on every resource"
    if combo.answer("starter_job") == "s3-cleanup":
        assert writes >= 6  # the deletes and sns:Publish, in the runner's and the target role
    for log_group in ("LogGroup", "TaskFailuresLogGroup"):
        if log_group in template["Resources"]:
            resource = template["Resources"][log_group]
            assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    retention = template["Resources"]["LogGroup"]["Properties"]["RetentionInDays"]
    assert retention == {"!Ref": "LogRetentionDays"}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == 30
    assert template["Description"].endswith(": " + project.context["description"])


@pytest.mark.parametrize("combo", CONTAINERS, ids=lambda combo: combo.id)
def test_the_image_is_slim_pinned_and_runs_as_non_root(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    dockerfile = project.read("Dockerfile")
    version = combo.answer("python_version")
    assert f"ARG PYTHON_IMAGE=python:{version}-slim-trixie\n" in dockerfile
    assert re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE) == ["${PYTHON_IMAGE}"] * 2
    assert re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE) == ["10001:10001"]
    assert "latest" not in dockerfile
    assert dockerfile.rstrip().endswith(f'ENTRYPOINT ["{project.context["project_slug"]}"]')
    assert ".venv" in project.read(".dockerignore").split()
    assert ".aws-sam" in project.read(".dockerignore").split()
    assert "--no-compile" not in dockerfile
    build, runtime = dockerfile.split("\nFROM ${PYTHON_IMAGE}\n")
    assert "compileall" in build
    assert "pip uninstall --yes pip setuptools" in build  # the venv's own
    assert "pip uninstall --yes pip setuptools" in runtime  # the base image's


HANDLER_RUN = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime, timedelta, timezone

    import boto3
    from moto import mock_aws
    from moto.s3.models import s3_backends

    from {package}.handler import lambda_handler

    class Context:
        aws_request_id = "request-1"

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="lambda-bucket")
        backend = s3_backends["123456789012"]["global"]
        old = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=90)
        for key in ("temp/a", "temp/b", "temp/c"):
            backend.put_object("lambda-bucket", key, b"x").last_modified = old
        backend.put_object("lambda-bucket", "temp/new", b"x")
        results = [lambda_handler(json.loads(event), Context()) for event in sys.argv[1:]]
        left = sorted(backend.get_bucket("lambda-bucket").keys)
    print(json.dumps({{"results": results, "left": left}}))
    """
)


@pytest.mark.parametrize("combo", LAMBDA_INSTALLED, ids=lambda combo: combo.id)
def test_lambda_handler_runs_in_process_against_moto(installed: Any, combo: Combination) -> None:
    project = installed(combo)
    env = {
        "PATH": str(project.venv_bin),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "S3_BUCKET": "lambda-bucket",
        "ALLOWED_ACCOUNT_IDS": "123456789012",
        "DRY_RUN": "false",  # the stack applies; an event may only ask for a dry run
    }
    script = HANDLER_RUN.format(package=project.context["package_name"])
    events = [{"settings": {"DRY_RUN": True}}, {}, {}]
    done = project.run(project.venv_bin / "python", "-c", script, *map(json.dumps, events), env=env)
    *log_lines, result_line = done.stdout.splitlines()
    outcome = json.loads(result_line)
    dry, applied, again = outcome["results"]
    assert (dry["exit_code"], dry["dry_run"], dry["matched"], dry["deleted"]) == (0, True, 3, 0)
    assert (applied["exit_code"], applied["dry_run"], applied["deleted"]) == (0, False, 3)
    assert (again["exit_code"], again["matched"], again["deleted"]) == (0, 0, 0)
    assert outcome["left"] == ["temp/new"]
    summaries = [json.loads(line) for line in log_lines if '"run finished"' in line]
    assert [line["run_id"] for line in summaries] == ["request-1"] * 3
    assert [line["deleted"] for line in summaries] == [0, 3, 0]


# --- IAM resources: {region} never a wildcard, {account} the role's own ---

ACCOUNT = "111122223333"  # the stack's own account in the evaluations below
OTHER_REGIONS = ("eu-west-1", "eu-central-1")


def runner_role(template: dict[str, Any]) -> str:
    return "FunctionRole" if "FunctionRole" in template["Resources"] else "TaskRole"


def job_policy_statements(template: dict[str, Any], role: str) -> list[Any]:
    """The statements of a role's "job" policy, as written (long or short form)."""
    policies = template["Resources"][role]["Properties"]["Policies"]
    (policy,) = [policy for policy in policies if policy["PolicyName"] == "job"]
    statements: list[Any] = policy["PolicyDocument"]["Statement"]
    return statements


def setting_parameters(template: dict[str, Any]) -> dict[str, str]:
    """Setting variable -> the parameter the stack sets it from."""
    resources = template["Resources"]
    found: dict[str, str] = {}
    if "Function" in resources:
        variables = resources["Function"]["Properties"]["Environment"]["Variables"]
        for name, value in variables.items():
            if "!If" in value:
                value = value["!If"][1]
            found[name] = value["!Ref"]
        return found
    (container,) = resources["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    for item in container["Environment"]:
        if "!If" in item:
            item = item["!If"][1]
        if isinstance(item["Value"], dict) and "!Ref" in item["Value"]:
            found[item["Name"]] = item["Value"]["!Ref"]
    return found


def resource_parameters(template: dict[str, Any], declared: dict[str, str]) -> dict[str, str]:
    """Setting variable -> parameter, for the job settings a declared resource names."""
    named = set(re.findall(r"\{([A-Z0-9_]+)\}", " ".join(declared.values())))
    return {
        name: parameter for name, parameter in setting_parameters(template).items() if name in named
    }


def declared_resources(project: Any) -> dict[str, str]:
    """action -> the resource job.IAM_ACTIONS declares (iam-policy.json)."""
    policy = json.loads(project.read("iam-policy.json"))
    return {
        action: statement["Resource"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }


def sample_values(spec: dict[str, Any], region: str, partition: str) -> list[str]:
    """Values the parameter accepts: {region} alone, within a name, and
    none, with {account} where it takes them."""
    candidates = (
        "logs-{account}-{region}",
        "{region}",
        "logs-{account}",
        "s3://reports-{account}/{region}/keys.jsonl",
        "s3://{region}/report.jsonl",
        "s3://reports-{region}-archive/report.jsonl",
        "s3://reports/report.jsonl",
        "logs/2024/",
        f"arn:{partition}:sns:{region}:{ACCOUNT}:alerts",
    )
    accepted = [value for value in candidates if parameter_accepts(spec, value)]
    assert accepted, spec["AllowedPattern"]
    return accepted


def sample_value(spec: dict[str, Any], region: str, partition: str) -> str:
    """A value the parameter accepts, with {account} and {region} where it takes them."""
    return sample_values(spec, region, partition)[0]


def expected_resource(declared: str, values: dict[str, str], region: str, partition: str) -> str:
    """A declared resource with every setting's value and placeholder filled
    in: {account} the stack's own, {region} as given."""

    def value(match: re.Match[str]) -> str:
        return values[match.group(1)].removeprefix("s3://")

    text = re.sub(r"\{([A-Z0-9_]+)\}", value, declared)
    text = text.replace("{partition}", partition).replace("{account}", ACCOUNT)
    return text.replace("{region}", region)


def as_list(resource: Any) -> list[str]:
    return resource if isinstance(resource, list) else [resource]


def check_grants(
    stack: dict[str, Any],
    role: str,
    values: dict[str, str],
    set_values: dict[str, str],
    declared: dict[str, str],
    *,
    region: str,
    partition: str,
    target_regions: str,
) -> None:
    """The role's grants with the parameters set: each resource once per
    region it is used in (``region`` itself when the role's own regions are
    ``[region]``), never a wildcard where {region} was, and no condition."""
    regions = [region] if role != "TargetRole" and target_regions else []
    regions += target_regions.split(",") if target_regions else []
    regions = regions or [region]
    stack_values = {
        name: value for name, value in set_values.items() if name in stack["Parameters"]
    }
    if target_regions:
        stack_values["TargetRegions"] = target_regions
    evaluated = Stack(
        stack, stack_values, account=ACCOUNT, region=region, partition=partition
    ).evaluate(job_policy_statements(stack, role))
    granted = {action: statement for statement in evaluated for action in statement["Action"]}
    assert set(granted) == set(declared), role
    for action, statement in granted.items():
        expected = {
            expected_resource(declared[action], values, each, partition) for each in regions
        }
        resources = as_list(statement["Resource"])
        assert set(resources) == expected, (role, action, target_regions, values)
        assert "Condition" not in statement, (role, action)
        wildcard = expected_resource(declared[action], values, "*", partition)
        if wildcard not in expected:  # {region} was there: never a wildcard in its place
            assert wildcard not in resources, (role, action)
            assert all(
                "*" not in item.split(":")[3] for item in resources if item.startswith("arn:")
            ), resources
        for item in resources:  # the account is the role's own, never a wildcard
            if item != "*" and item.startswith("arn:"):
                assert item.split(":")[4] in ("", ACCOUNT), (role, action, item)


def check_roles(
    project: Any, combo: Combination, stack: dict[str, Any], target: dict[str, Any]
) -> None:
    """The runner's role (``stack``, as written or as the SAM transform wrote
    it) names the stack's region, and with TargetRegions each of the
    stack's region and those regions; the target role names the region it
    is deployed in, or each region of its TargetRegions. {region}, alone or
    within a setting's value, is never a wildcard; the account never is."""
    region = combo.answer("aws_region") or "us-east-1"
    partition = {"cn": "aws-cn", "us-gov": "aws-us-gov"}.get(region.rsplit("-", 2)[0], "aws")
    declared = declared_resources(project)
    template = load_template(project)
    by_variable = resource_parameters(template, declared)
    samples = {
        variable: sample_values(template["Parameters"][parameter], region, partition)
        for variable, parameter in by_variable.items()
    }
    regional = "TargetRegions" in template["Parameters"]
    assert regional == ("TargetRegions" in stack["Parameters"])
    for index in range(max([len(values) for values in samples.values()], default=1)):
        values = {variable: found[index % len(found)] for variable, found in samples.items()}
        set_values = {by_variable[variable]: value for variable, value in values.items()}
        for target_regions in ("", ",".join(OTHER_REGIONS)) if regional else ("",):
            for loaded, role in ((stack, runner_role(stack)), (target, "TargetRole")):
                offered = "TargetRegions" in loaded["Parameters"]
                if target_regions and not offered:  # a target role naming no {region}
                    continue
                check_grants(
                    loaded,
                    role,
                    values,
                    set_values,
                    declared,
                    region=region,
                    partition=partition,
                    target_regions=target_regions,
                )


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_region_in_a_resource_is_each_region_the_run_uses_never_a_wildcard(
    cookies: Any, combo: Combination
) -> None:
    """{region} in a resource (or in a setting a resource names, alone or
    within a name) is the stack's region, or with TargetRegions each of the
    stack's region and those regions, never a wildcard; target-role.yaml
    names its own region, or each region of its TargetRegions, and always
    its own account."""
    project = bake(cookies, combo)
    target = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    check_roles(project, combo, load_template(project), target)


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_a_global_job_s_stacks_offer_no_target_regions(cookies: Any, combo: Combination) -> None:
    """A job whose service is global refuses TARGET_REGIONS: its stacks do
    not offer the parameter (nor pass the variable); a regional job's do,
    and target-role.yaml takes it where a resource names {region}."""
    project = bake(cookies, combo)
    template = load_template(project)
    target = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    regional = combo.answer("starter_job") != "access-key-audit"
    assert ("TargetRegions" in template["Parameters"]) == regional
    assert ("TARGET_REGIONS" in setting_parameters(template)) == regional
    assert "TargetRegions" not in json.dumps(template) or regional
    declared = " ".join(declared_resources(project).values())
    names_region = "{region}" in declared or combo.answer("starter_job") == "s3-cleanup"
    assert ("TargetRegions" in target["Parameters"]) == (regional and names_region)
    if regional:
        spec = template["Parameters"]["TargetRegions"]
        many = ",".join(["eu-west-1"] * 20)
        assert parameter_accepts(spec, many)
        assert not parameter_accepts(spec, many + ",eu-west-1")


@pytest.mark.parametrize("combo", LAMBDAS, ids=lambda combo: combo.id)
def test_the_sam_transform_keeps_each_region_named(cookies: Any, combo: Combination) -> None:
    """The same, on the template CloudFormation deploys after the SAM transform."""
    project = bake(cookies, combo)
    out = sam_transform(project.read("template.yaml"), combo.answer("aws_region") or "us-east-1")
    target = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    check_roles(project, combo, out, target)


# --- AllowedPatterns: portable, and exactly what the script reads -------------

# Only what Java's regex (CloudFormation's) and Python's re read alike.
_QUANTIFIER = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")


def portability_problems(pattern: str) -> list[str]:
    """What in ``pattern`` falls outside the subset both engines read alike:
    explicit ASCII classes (never negated, nested or intersected), no ".",
    no class escapes (\\w \\s \\d ...), no ^ or $, no inline flags,
    lookbehinds, named or atomic groups, no possessive quantifiers, and
    braces escaped unless they count."""
    problems: list[str] = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        ahead = pattern[index + 1 : index + 2]
        if not " " < char < "\x7f":
            problems.append(f"{char!r} at {index}: not printable ASCII")
        if char == "\\":
            if not ahead or ahead.isalnum():
                problems.append(f"\\{ahead} at {index}: an escape the engines read differently")
            index += 2
            continue
        if in_class:
            if char == "[" or (char == "&" and ahead == "&"):
                problems.append(f"{char} at {index}: Java nests or intersects classes")
            in_class = char != "]"
            index += 1
            continue
        if char == "[":
            if ahead in ("^", "]"):
                problems.append(f"[{ahead} at {index}: a negated or empty-looking class")
            in_class = True
        elif char in ".^$":
            problems.append(f"{char} at {index}")
        elif char == "(" and ahead == "?":
            kind = pattern[index + 2 : index + 3]
            if kind not in (":", "=", "!"):
                problems.append(f"(?{kind} at {index}: only (?: (?= (?! are portable")
        elif char == "{":
            count = _QUANTIFIER.match(pattern, index)
            if count is None:
                problems.append(f"{{ at {index}: escape a literal brace")
            else:
                index = count.end() - 1
        elif char == "}":
            problems.append(f"}} at {index}: escape a literal brace")
        elif char in "*+?}" and ahead == "+":
            problems.append(f"{char}+ at {index}: a possessive quantifier")
        index += 1
    if in_class:
        problems.append("an unclosed class")
    return problems


@pytest.mark.parametrize(
    "pattern",
    [
        ".+",
        "[\\w-]+",
        "a\\s",
        "\\d{3}",
        "^a",
        "a$",
        "[^*?]*",
        "(?i)a",
        "(?<=a)b",
        "(?P<x>a)",
        "\\{account}",
        "{account}",
        "é",
        "a b",
        "a++",
        "[a[b]]",
        "[a&&b]",
    ],
)
def test_the_portability_check_refuses_what_the_engines_read_differently(pattern: str) -> None:
    assert portability_problems(pattern), pattern


@pytest.mark.parametrize("combo", DEPLOYED, ids=lambda combo: combo.id)
def test_every_allowed_pattern_is_portable(cookies: Any, combo: Combination) -> None:
    project = bake(cookies, combo)
    target = yaml.load(project.read("target-role.yaml"), Loader=CloudFormationLoader)
    for stack in (load_template(project), target):
        for name, spec in stack["Parameters"].items():
            pattern = spec.get("AllowedPattern")
            if pattern is not None:
                re.compile(pattern)
                assert portability_problems(pattern) == [], (name, pattern)


# action -> declared resource, of each job baked_job baked.
BAKED_DECLARED: dict[str, dict[str, str]] = {}


@functools.cache
def baked_job(job: str) -> tuple[dict[str, Any], dict[str, Any], ModuleType, ModuleType]:
    """(template.yaml, target-role.yaml, config, job) of a Lambda bake of
    ``job``: its package is imported here under a name of its own (config
    and job.py import no AWS library)."""
    output = Path(tempfile.mkdtemp(prefix="stack-patterns-"))
    context = {"starter_job": job, "deploy_target": "lambda"}
    project = Path(
        cookiecutter(
            str(TEMPLATE_ROOT), no_input=True, output_dir=str(output), extra_context=context
        )
    )
    (package,) = (path for path in (project / "src").iterdir() if (path / "__init__.py").exists())
    name = "stack_patterns_" + job.replace("-", "_")
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    stacks = [
        yaml.load((project / file).read_text(encoding="utf-8"), Loader=CloudFormationLoader)
        for file in ("template.yaml", "target-role.yaml")
    ]
    policy = json.loads((project / "iam-policy.json").read_text(encoding="utf-8"))
    BAKED_DECLARED[job] = {
        action: statement["Resource"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }
    return (
        stacks[0],
        stacks[1],
        importlib.import_module(name + ".runtime.settings.config"),
        importlib.import_module(name + ".job"),
    )


# The shortest region name and the longest the script's validator takes:
# a placeholder's value must fit either.
READ_IN_REGIONS = ("us-east-1", "us-isob-northeast-99")


def check_read_as_granted(job: str, parameter: str, value: str) -> None:
    """If the stack takes ``value`` for ``parameter``, the script takes it
    too (its own validator, in every region), reads it as exactly that
    string, and each role grants exactly the resource the run uses with it
    in that region (both stacks deployed there, without TargetRegions)."""
    template, target, config, job_module = baked_job(job)
    declared = BAKED_DECLARED[job]
    spec = template["Parameters"][parameter]
    if not parameter_accepts(spec, value):
        return
    variables = setting_parameters(template)
    (variable,) = [name for name, param in variables.items() if param == parameter]
    rows = [row for row in job_module.SETTINGS if variable in row.env]
    required = {
        name: sample_value(template["Parameters"][param], "us-east-1", "aws")
        for name, param in variables.items()
        if "Default" not in template["Parameters"][param] and name != variable
    }
    for region in READ_IN_REGIONS:
        env = required | {variable: value, "AWS_REGION": region}
        try:
            _, job_settings = config.load(
                argparse.Namespace(),
                env,
                job_module.JobSettings,
                job_module.SETTINGS,
                regional=job_module.REGIONAL,
            )
        except config.ConfigError as error:
            pytest.fail(f"{parameter}={value!r}: the stack takes it, the script refuses: {error}")
        if value == "":  # an optional setting left empty: unset, and its grant left out
            assert spec.get("Default") == "", parameter
            assert all(getattr(job_settings, row.name) is None for row in rows), parameter
            continue
        assert getattr(job_settings, rows[0].name) == value, (parameter, value, region)
        own = config.for_target(job_settings, job_module.SETTINGS, ACCOUNT, region)
        used = str(getattr(own, rows[-1].name))  # what the session policy names
        defaults = {
            name: str(template["Parameters"][param].get("Default", ""))
            for name, param in variables.items()
        }
        values = defaults | required | {variable: used}
        for stack, role in ((template, runner_role(template)), (target, "TargetRole")):
            if parameter not in stack["Parameters"]:
                continue
            stack_values = {
                param: values[name]
                for name, param in variables.items()
                if name in values and param in stack["Parameters"]
            } | {parameter: value}
            evaluated = Stack(stack, stack_values, account=ACCOUNT, region=region).evaluate(
                job_policy_statements(stack, role)
            )
            granted = {
                action: as_list(statement["Resource"])
                for statement in evaluated
                for action in statement["Action"]
            }
            naming = [action for action, text in declared.items() if f"{{{variable}}}" in text]
            assert naming, f"{parameter}: named in no resource"
            for action in naming:
                expected = expected_resource(declared[action], values, region, "aws")
                assert granted[action] == [expected], (parameter, value, region, role)


# Pieces the strategies join: the stack's own syntax, what the script strips
# or reads otherwise (blanks, NBSP, line breaks, a non-BMP character), IAM's
# wildcards and variables, a second s3://, placeholders twice, S3's
# reserved names, and plain text that makes a value valid.
HOSTILE_PIECES = (
    "s3://",
    "{account}",
    "{region}",
    "{",
    "}",
    "{accountx}",
    "/",
    "$",
    "${aws:username}",
    "*",
    "?",
    " ",
    "\t",
    "\u00a0",
    "\u3000",
    "\n",
    "\r",
    "\u2028",
    "\x00",
    "\x1f",
    "\U0001d11e",
    "é",
    ".",
    "..",
    "-",
    ":",
    "=",
    "%",
    "xn--",
    "-s3alias",
    ".mrap",
    "1.2.3.4",
    "a",
    "logs",
    "temp/",
    "0",
    "A",
    "arn:aws:sns:us-east-1:123456789012:topic",
)
# The job parameters each starter names in a role's resource, each with an
# AllowedPattern (a new one needs its cases in REFUSED and ACCEPTED below).
PATTERNED = {
    "s3-cleanup": ["Bucket", "Prefix", "SnsTopicArn"],
    "log-retention": [],
    "access-key-audit": ["ReportPath"],
    "blank": [],
}


def pattern_parameters(job: str) -> list[str]:
    """The job parameters whose AllowedPattern guards a role's resource."""
    template = baked_job(job)[0]
    from_settings = set(setting_parameters(template).values())
    common = {"TargetRoleName", "TargetRegions", "TargetAccounts", "AllowedAccountIds"}
    return sorted(
        name
        for name, spec in template["Parameters"].items()
        if "AllowedPattern" in spec and name in from_settings and name not in common
    )


def values_near(pattern: str) -> st.SearchStrategy[str]:
    """Strings around what ``pattern`` accepts: joined pieces, any text, and
    accepted values with a hostile piece put in anywhere."""
    pieces = st.lists(st.sampled_from(HOSTILE_PIECES), max_size=10).map("".join)
    accepted = st.from_regex(pattern, fullmatch=True)
    spliced = st.tuples(accepted, st.sampled_from(HOSTILE_PIECES), st.integers(0, 80)).map(
        lambda parts: parts[0][: parts[2]] + parts[1] + parts[0][parts[2] :]
    )
    doubled = st.tuples(accepted, st.integers(0, 80)).map(
        lambda parts: parts[0][: parts[1]] + parts[0] + parts[0][parts[1] :]
    )
    return st.one_of(pieces, st.text(max_size=40), accepted, spliced, doubled)


def test_every_starter_s_resource_settings_have_patterns() -> None:
    """The property below covers each starter's resource parameters."""
    assert {job: pattern_parameters(job) for job in STARTER_JOBS} == PATTERNED


@pytest.mark.parametrize("job", [job for job in STARTER_JOBS if PATTERNED[job]])
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(data=st.data())
def test_what_a_stack_parameter_accepts_the_script_reads_as_granted(job: str, data: Any) -> None:
    template = baked_job(job)[0]
    for parameter in pattern_parameters(job):
        pattern = template["Parameters"][parameter]["AllowedPattern"]
        value = data.draw(values_near(pattern), label=parameter)
        check_read_as_granted(job, parameter, value)


# Values a stack took while the script read them otherwise (or refused
# them): each refused now, by the parameter of whichever starter has it.
REFUSED = {
    "Bucket": (
        " logs",
        "logs ",
        "\u00a0logs",
        "logs\n",
        "lo/gs",
        "logs$",
        "{account}\n{account}",
        "{region}\n-{region}",
        "{account}-{account}",
        "a",
        "1.2.3.4",
        "xn--logs",
        "logs-s3alias",
        "logs..{account}",
        "-{region}",
        "{accountx}",
        "x" * 50 + "{region}",
    ),
    "Prefix": (
        " temp/",
        "temp/ ",
        "te mp/",
        "\u00a0",
        "temp/\n",
        "$temp/",
        "${aws:username}/",
        "/temp/",
        "",
        " ",
        "temp/\U0001d11e",
    ),
    "SnsTopicArn": (
        " ",
        "\t",
        "\u00a0",
        " arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws:sns:us-east-1:123456789012:topic ",
        "arn:aws:sns:us-east-1:123456789012:topic\n",
        "arn:aws:sns:us-east-1:123456789012:*",
    ),
    "ReportPath": (
        "s3://reports/keys/s3://other/keys.jsonl",
        "s3://reports/s3://x",
        " s3://reports/keys.jsonl",
        "s3://reports/keys.jsonl ",
        "s3://reports/keys.jsonl\n",
        "s3://re/ports",
        "s3://reports/$keys.jsonl",
        "s3://reports/keys/",
        "s3://reports",
        "s3://{account}\n{account}/keys.jsonl",
        "s3://reports-{account}/{account}.jsonl",
        "s3://reports/{region}\n{region}.jsonl",
        "s3://Reports/keys.jsonl",
        "s3://reports/key s.jsonl",
    ),
}
ACCEPTED = {
    "Bucket": ("logs", "cleanup-{account}-{region}", "{account}", "a.b-c", "x" * 63),
    "Prefix": ("temp/", "logs/2024/", "year=2024/", "a", "x" * 1024),
    "SnsTopicArn": (
        "",
        "arn:aws:sns:us-east-1:123456789012:topic",
        "arn:aws-cn:sns:cn-north-1:123456789012:t.fifo",
    ),
    "ReportPath": (
        "",
        "s3://reports/keys.jsonl",
        "s3://reports-{account}/{region}/keys.jsonl",
        "s3://b.c/a/b/c",
    ),
}


@pytest.mark.parametrize("job", [job for job in STARTER_JOBS if PATTERNED[job]])
def test_values_the_script_reads_otherwise_are_refused_by_the_stack(job: str) -> None:
    template, target = baked_job(job)[:2]
    parameters = pattern_parameters(job)
    assert set(parameters) <= set(REFUSED), parameters
    for parameter in parameters:
        for stack in (template, target):
            spec = stack["Parameters"].get(parameter)
            if spec is None:
                continue
            for value in REFUSED[parameter]:
                assert not parameter_accepts(spec, value), (parameter, value)
            for value in ACCEPTED[parameter]:
                assert parameter_accepts(spec, value), (parameter, value)
        for value in REFUSED[parameter] + ACCEPTED[parameter]:
            check_read_as_granted(job, parameter, value)


COMMON_NAMED = (("TargetRegions", "TARGET_REGIONS"), ("TargetRoleName", "TARGET_ROLE_NAME"))


def check_common_setting(parameter: str, variable: str, spec: dict[str, Any], value: str) -> None:
    """TargetRegions (the role's aws:RequestedRegion condition splits it on
    commas) and TargetRoleName (the sts:AssumeRole resource): what the
    stack takes, the script takes and reads as the role names it."""
    _, _, config, job_module = baked_job("s3-cleanup")  # a regional job
    if value == "" or not parameter_accepts(spec, value):
        return
    env = {variable: value, "S3_BUCKET": "logs-{account}-{region}"}
    if variable == "TARGET_ROLE_NAME":
        env |= {"TARGET_ACCOUNTS": ACCOUNT, "ALLOWED_ACCOUNT_IDS": ACCOUNT}
    try:
        common, _ = config.load(
            argparse.Namespace(), env, job_module.JobSettings, job_module.SETTINGS
        )
    except config.ConfigError as error:
        pytest.fail(f"{parameter}={value!r}: the stack takes it, the script refuses: {error}")
    if variable == "TARGET_REGIONS":
        assert common.target_regions == tuple(dict.fromkeys(value.split(","))), value
    else:
        assert common.target_role_name == value, value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_what_target_regions_and_role_name_accept_the_script_reads_alike(data: Any) -> None:
    template, target = baked_job("s3-cleanup")[:2]
    for parameter, variable in COMMON_NAMED:
        for stack in (template, target):
            if parameter in stack["Parameters"]:
                spec = stack["Parameters"][parameter]
                value = data.draw(values_near(spec["AllowedPattern"]), label=parameter)
                check_common_setting(parameter, variable, spec, value)


def test_target_regions_take_region_names_with_no_spaces() -> None:
    spec = baked_job("s3-cleanup")[0]["Parameters"]["TargetRegions"]
    for value in ("", "us-east-1", "us-east-1,eu-west-1", "us-gov-west-1,us-gov-east-1"):
        assert parameter_accepts(spec, value), value
    for value in ("us-east-1, eu-west-1", " us-east-1", "us-east-1,", ",", "*", "us-east-1\n"):
        assert not parameter_accepts(spec, value), value
