"""template.yaml agrees with the code: settings, permissions and safe defaults.

When you add a setting or an IAM action to the job, these tests say which
part of the deploy template to update (cfn-lint checks the rest in CI).
"""

from __future__ import annotations

import argparse
{%- if cookiecutter.deploy_target == "lambda" %}
import importlib
{%- endif %}
import re
{%- if cookiecutter.deploy_target == "lambda" %}
import tomllib
{%- endif %}
from pathlib import Path
from typing import Any

import pytest
import yaml

from {{ cookiecutter.package_name }} import cli, config, job, targets
from {{ cookiecutter.package_name }}.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref X) as {"!Ref": X}."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"!" + suffix: value}


_CloudFormationLoader.add_multi_constructor("!", _tagged)


def load(name: str) -> dict[str, Any]:
    text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - safe loader
    return loaded


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load("template.yaml")


def environment(template: dict[str, Any]) -> dict[str, str]:
    """Setting variable -> the parameter it is set from."""
{%- if cookiecutter.deploy_target == "lambda" %}
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    return {name: value["!Ref"] for name, value in variables.items()}
{%- else %}
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    pairs = {item["Name"]: item["Value"]["!Ref"] for item in container["Environment"]}
    assert pairs.pop("AWS_REGION") == "AWS::Region"
    return pairs
{%- endif %}


def test_dry_run_stays_the_default(template: dict[str, Any]) -> None:
    assert environment(template)["DRY_RUN"] == "DryRun"
    assert template["Parameters"]["DryRun"]["Default"] == "true"


def test_every_variable_is_a_setting_and_every_required_one_is_set(
    template: dict[str, Any],
) -> None:
    names = set(environment(template))
    known = {name for setting in (*config.COMMON_SETTINGS, *job.SETTINGS) for name in setting.env}
    assert names <= known, f"not settings of this script: {sorted(names - known)}"
    required = {setting.env[0] for setting in job.SETTINGS if setting.required}
    assert required <= names, f"add parameters for {sorted(required - names)}"


def test_parameter_defaults_are_valid_settings(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    env = {
        name: str(parameters[parameter].get("Default", "example-{account}"))
        for name, parameter in environment(template).items()
    }
    try:
        config.load(argparse.Namespace(), env, job.JobSettings, job.SETTINGS)
    except ConfigError as error:
        pytest.fail(f"template defaults are not valid settings: {error}")


def test_the_role_allows_exactly_what_the_job_declares(template: dict[str, Any]) -> None:
    role = "{{ 'FunctionRole' if cookiecutter.deploy_target == 'lambda' else 'TaskRole' }}"
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    first, second = policy["PolicyDocument"]["Statement"]
    condition, fan_out, own = first["!If"]
    assert condition == "FansOutToAccounts"
    assert own["Action"] == sorted(set(job.IAM_ACTIONS)), "match job.IAM_ACTIONS"
    assume_role = second["!If"][1]
    assert {fan_out["Action"], assume_role["Action"]} == set(targets.FAN_OUT_ACTIONS)
    assert assume_role["Resource"]["!Sub"].endswith(":role/${TargetRoleName}")
    assert template["Outputs"]["RunnerRoleArn"]["Value"] == {"!GetAtt": f"{role}.Arn"}


def test_the_failed_run_alarm_matches_a_failed_run_s_summary(template: dict[str, Any]) -> None:
    pattern = template["Resources"]["FailedRunsMetric"]["Properties"]["FilterPattern"]
    assert re.findall(r"\$\.(\w+)", pattern) == ["summary", "exit_code"]
    failed = cli.execute([], {"LOG_LEVEL": "LOUD"})  # a configuration error: exit 1
    assert failed["summary"] is True
    assert failed["exit_code"] != 0


def test_the_target_role_trusts_the_runner_and_allows_the_job_s_actions() -> None:
    target = load("target-role.yaml")
    role = target["Resources"]["TargetRole"]["Properties"]
    assert role["RoleName"] == {"!Ref": "TargetRoleName"}
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"!Ref": "RunnerRoleArn"}}
    (policy,) = role["Policies"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == sorted(set(job.IAM_ACTIONS)), "match job.IAM_ACTIONS"
{%- if cookiecutter.deploy_target == "lambda" %}


def test_the_function_runs_the_handler_on_the_project_s_python(template: dict[str, Any]) -> None:
    properties = template["Resources"]["Function"]["Properties"]
    module, _, function = properties["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert properties["Runtime"] == "python" + pyproject["project"]["requires-python"][2:]
    assert properties["Timeout"] <= 900
    assert template["Resources"]["Function"]["Metadata"]["BuildMethod"] == "makefile"
    assert "build-Function:" in (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
{%- else %}


def test_the_image_runs_as_a_non_root_user_from_a_slim_base() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    (user,) = re.findall(r"^USER (\S+)$", dockerfile, re.MULTILINE)
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) > 0
    bases = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert len(bases) == 1
    assert "-slim-" in bases[0]


def test_the_schedule_does_not_retry_and_a_stop_has_time_to_settle(
    template: dict[str, Any],
) -> None:
    target = template["Resources"]["RunSchedule"]["Properties"]["Target"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert container["StopTimeout"] == 120  # SIGTERM, then this long before SIGKILL


def test_the_task_runs_the_image_by_digest(template: dict[str, Any]) -> None:
    pattern = template["Parameters"]["ImageUri"]["AllowedPattern"]
    repository = "123456789012.dkr.ecr.us-east-1.amazonaws.com/script"
    assert re.fullmatch(pattern, repository + "@sha256:" + "a" * 64)
    assert not re.fullmatch(pattern, repository + ":latest")
{%- endif %}
