"""Deploy targets: every rendered CloudFormation template passes cfn-lint, the
Lambda handler runs in-process against moto, and the image is built to be
safe. Nothing here needs a Docker daemon or an AWS account."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

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
            for remote in ("", "s3://reports/{account}/keys.jsonl", "s3://b/k"):
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
