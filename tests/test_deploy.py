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
