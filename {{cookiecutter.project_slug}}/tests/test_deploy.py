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

from {{ cookiecutter.package_name }} import (
    cli,
    config,
    job,
    targets,
)
from {{ cookiecutter.package_name }}.errors import ConfigError
from {{ cookiecutter.package_name }}.overrides import (
    ALLOW_LIST_VARIABLE,
)

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


NO_VALUE = {"!Ref": "AWS::NoValue"}


def unless_unset(value: Any) -> tuple[str | None, Any]:
    """(condition, value) for ``!If [condition, value, !Ref AWS::NoValue]``, else (None, value)."""
    if isinstance(value, dict) and "!If" in value:
        condition, when, otherwise = value["!If"]
        assert otherwise == NO_VALUE
        return condition, when
    return None, value


def passed(template: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """Setting variable -> (the parameter it is set from, the condition it is passed under)."""
    found: dict[str, tuple[str, str | None]] = {}
{%- if cookiecutter.deploy_target == "lambda" %}
    variables = template["Resources"]["Function"]["Properties"]["Environment"]["Variables"]
    for name, value in variables.items():
        condition, ref = unless_unset(value)
        found[name] = (ref["!Ref"], condition)
{%- else %}
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    for item in container["Environment"]:
        condition, pair = unless_unset(item)
        found[pair["Name"]] = (pair["Value"]["!Ref"], condition)
    assert found.pop("AWS_REGION") == ("AWS::Region", None)
{%- endif %}
    return found


def environment(template: dict[str, Any]) -> dict[str, str]:
    """Setting variable -> the parameter it is set from."""
    return {name: parameter for name, (parameter, _) in passed(template).items()}


def test_dry_run_stays_the_default(template: dict[str, Any]) -> None:
    assert environment(template)["DRY_RUN"] == "DryRun"
    assert template["Parameters"]["DryRun"]["Default"] == "true"


def test_every_variable_is_a_setting_and_every_job_setting_is_a_parameter(
    template: dict[str, Any],
) -> None:
    names = set(environment(template))
    known = {name for setting in (*config.COMMON_SETTINGS, *job.SETTINGS) for name in setting.env}
    known.add(ALLOW_LIST_VARIABLE)
    assert names <= known, f"not settings of this script: {sorted(names - known)}"
    rows = {setting.env[0] for setting in job.SETTINGS}
    assert rows <= names, f"add stack parameters for {sorted(rows - names)}"


def test_optional_settings_are_passed_only_when_set(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    for name, (parameter, condition) in passed(template).items():
        default = parameters[parameter].get("Default")
        if default == "":
            assert condition is not None, f"{name}: pass it only when {parameter} is set"
        if condition is not None:  # an empty value is not passed: the baked default holds
            test = template["Conditions"][condition]
            assert test == {"!Not": [{"!Equals": [{"!Ref": parameter}, ""]}]}
    required = {setting.env[0] for setting in job.SETTINGS if setting.required}
    for name in required:
        assert "Default" not in parameters[environment(template)[name]], f"{name} is required"


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


def declared_form(resource: Any, template: dict[str, Any]) -> str:
    """A role's resource written back the way job.IAM_ACTIONS declares it."""
    by_parameter = {parameter: name for name, parameter in environment(template).items()}
    if resource == "*":
        return "*"
    if "!Ref" in resource:
        return "{" + by_parameter[resource["!Ref"]] + "}"
    text: str
    variables: dict[str, Any]
    if isinstance(resource["!Sub"], str):  # !Sub "arn:${AWS::Partition}:...": no variables
        text, variables = resource["!Sub"], {}
    else:
        text, variables = resource["!Sub"]
    for name, value in variables.items():
        if name == "Region":
            text = text.replace("${Region}", "{region}")
            continue
        refs = re.findall(r"'!Ref': '(\w+)'", str(value))
        assert refs == [template_parameter(template, name)], f"{name} comes from its parameter"
        text = text.replace("${" + name + "}", "{" + name + "}")
    text = text.replace("${AWS::Partition}", "{partition}")
    return text.replace("${AWS::AccountId}", "{account}")


def template_parameter(template: dict[str, Any], variable: str) -> str:
    return environment(template)[variable]


def grants(statements: list[Any], template: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """action -> (declared resource, the condition it is granted under)."""
    found: dict[str, tuple[str, str | None]] = {}
    for statement in statements:
        condition, body = unless_unset(statement)
        for action in body["Action"]:
            found[action] = (declared_form(body["Resource"], template), condition)
    return found


def expected_grants(template: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    """What job.IAM_ACTIONS declares: a grant naming an optional setting only when set."""
    conditions = {name: condition for name, (_, condition) in passed(template).items()}
    expected: dict[str, tuple[str, str | None]] = {}
    for action, resource in job.IAM_ACTIONS.items():
        named = [conditions.get(name) for name in re.findall(r"\{(\w+)\}", resource)]
        optional = [condition for condition in named if condition]
        expected[action] = (resource, optional[0] if optional else None)
    return expected


def test_the_role_allows_exactly_what_the_job_declares(template: dict[str, Any]) -> None:
    role = "{{ 'FunctionRole' if cookiecutter.deploy_target == 'lambda' else 'TaskRole' }}"
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    fan_out, assume_role, *own = policy["PolicyDocument"]["Statement"]
    assert unless_unset(fan_out)[0] == unless_unset(assume_role)[0] == "FansOutToAccounts"
    fan_out_actions = {unless_unset(fan_out)[1]["Action"], unless_unset(assume_role)[1]["Action"]}
    assert fan_out_actions == set(targets.FAN_OUT_ACTIONS)
    assert unless_unset(assume_role)[1]["Resource"]["!Sub"].endswith(":role/${TargetRoleName}")
    here = []
    for statement in own:  # the job's grants only when the role does not fan out
        condition, when, otherwise = statement["!If"]
        assert (condition, when) == ("FansOutToAccounts", NO_VALUE)
        here.append(otherwise)
    assert grants(here, template) == expected_grants(template), "match job.IAM_ACTIONS"
    assert template["Outputs"]["RunnerRoleArn"]["Value"] == {"!GetAtt": f"{role}.Arn"}


def test_the_failed_run_alarm_matches_a_failed_run_s_summary(template: dict[str, Any]) -> None:
    pattern = template["Resources"]["FailedRunsMetric"]["Properties"]["FilterPattern"]
    assert re.findall(r"\$\.(\w+)", pattern) == ["summary", "exit_code"]
    failed = cli.execute([], {"LOG_LEVEL": "LOUD"})  # a configuration error: exit 1
    assert failed["summary"] is True
    assert failed["exit_code"] != 0


def test_the_target_role_trusts_the_runner_and_allows_the_job_s_actions(
    template: dict[str, Any],
) -> None:
    target = load("target-role.yaml")
    role = target["Resources"]["TargetRole"]["Properties"]
    assert role["RoleName"] == {"!Ref": "TargetRoleName"}
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"!Ref": "RunnerRoleArn"}}
    (policy,) = role["Policies"]
    # Its parameters carry the stack's names (Bucket), so one reading serves both.
    assert grants(policy["PolicyDocument"]["Statement"], template) == expected_grants(template)


def test_logs_outlive_the_stack(template: dict[str, Any]) -> None:
    log_groups = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Logs::LogGroup"
    ]
    assert log_groups
    for resource in log_groups:
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


def parameters_in_resources(node: Any, parameters: dict[str, Any]) -> set[str]:
    """Every parameter that a policy statement's Resource names, however written."""
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            walk = named_parameters if key == "Resource" else parameters_in_resources
            found |= walk(value, parameters)
        return found
    if isinstance(node, list):
        return set().union(*(parameters_in_resources(item, parameters) for item in node))
    return set()


def named_parameters(value: Any, parameters: dict[str, Any]) -> set[str]:
    """The parameters a Resource value names: ``${Name}`` in !Sub, or !Ref Name."""
    if isinstance(value, str):
        return {name for name in re.findall(r"\$\{(\w+)\}", value) if name in parameters}
    if isinstance(value, dict):
        found = {value["!Ref"]} & set(parameters) if isinstance(value.get("!Ref"), str) else set()
        return found.union(*(named_parameters(item, parameters) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(named_parameters(item, parameters) for item in value))
    return set()


@pytest.mark.parametrize("stack", ["template.yaml", "target-role.yaml"])
def test_parameters_named_in_a_resource_refuse_iam_wildcards(stack: str) -> None:
    """A parameter inside a role's Resource (a bucket, the target role's
    name) must refuse * and ?, or one stack parameter widens the role."""
    loaded = load(stack)
    parameters = loaded["Parameters"]
    named = parameters_in_resources(loaded["Resources"], parameters)
    if stack == "template.yaml":
        assert "TargetRoleName" in named
    for parameter in sorted(named):
        pattern = parameters[parameter].get("AllowedPattern")
        assert pattern is not None, f"{parameter}: give it an AllowedPattern refusing * and ?"
        assert re.fullmatch(pattern, "plain-value"), parameter
        assert not re.fullmatch(pattern, "any*"), parameter
        assert not re.fullmatch(pattern, "one?"), parameter


def deploy_commands() -> list[tuple[str, set[str]]]:
    """(template file, parameters it passes) for each deploy command in README.md."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)
    found: list[tuple[str, set[str]]] = []
    for line in "\n".join(blocks).replace("\\\n", " ").splitlines():
        if "create-stack-set" in line:
            (name,) = re.findall(r"file://(\S+)", line)
            found.append((name, set(re.findall(r"ParameterKey=(\w+)", line))))
        elif "sam deploy" in line or "cloudformation deploy" in line:
            named = re.findall(r"--template-file (\S+)", line)
            overrides = line.partition("--parameter-overrides")[2].split(" --")[0]
            name = named[0] if named else "template.yaml"
            found.append((name, set(re.findall(r"(\w+)=", overrides))))
    return found


def test_every_readme_deploy_command_passes_every_required_parameter() -> None:
    commands = deploy_commands()
    assert {name for name, _ in commands} == {"template.yaml", "target-role.yaml"}
    for name, passed_keys in commands:
        parameters = load(name)["Parameters"]
        required = {key for key, value in parameters.items() if "Default" not in value}
        assert required <= passed_keys, f"{name}: the command leaves out {required - passed_keys}"
        assert passed_keys <= set(parameters), f"{name}: unknown {passed_keys - set(parameters)}"


def test_every_alarm_notifies_the_alarm_topic_when_one_is_set(template: dict[str, Any]) -> None:
    alarms = {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert {"FailedRunsAlarm", "MissedRunsAlarm", "ScheduleDeadLetterAlarm"} <= set(alarms)
    for properties in alarms.values():
        condition, actions = unless_unset(properties["AlarmActions"])
        assert (condition, actions) == ("HasAlarmTopicArn", [{"!Ref": "AlarmTopicArn"}])


def test_a_run_that_never_logs_its_summary_raises_the_missed_runs_alarm(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    runs = resources["RunsMetric"]["Properties"]
    assert runs["FilterPattern"] == "{ $.summary IS TRUE }"
    assert "DefaultValue" not in runs["MetricTransformations"][0]  # no summary: no data
    alarm = resources["MissedRunsAlarm"]["Properties"]
    assert alarm["MetricName"] == runs["MetricTransformations"][0]["MetricName"]
    assert alarm["TreatMissingData"] == "breaching"
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["Period"] == 3600
    hours = {"!Ref": "MissedRunAlarmHours"}
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == hours
    assert template["Parameters"]["MissedRunAlarmHours"]["Default"] == 25
    summary = cli.execute([], {"LOG_LEVEL": "LOUD"})  # even a failed run logs it
    assert summary["summary"] is True


def test_schedule_delivery_failures_land_in_the_dead_letter_queue(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    assert resources["ScheduleDeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    alarm = resources["ScheduleDeadLetterAlarm"]["Properties"]
    (dimension,) = alarm["Dimensions"]
    assert dimension["Value"] == {"!GetAtt": "ScheduleDeadLetterQueue.QueueName"}
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
{%- if cookiecutter.deploy_target == "lambda" %}
    schedule = resources["Function"]["Properties"]["Events"]["Scheduled"]["Properties"]
    assert schedule["DeadLetterConfig"] == {
        "Type": "SQS",
        "QueueLogicalId": "ScheduleDeadLetterQueue",
    }
{%- else %}
    target = resources["RunSchedule"]["Properties"]["Target"]
    assert target["DeadLetterConfig"] == {"Arn": {"!GetAtt": "ScheduleDeadLetterQueue.Arn"}}
    statements = resources["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"!GetAtt": "ScheduleDeadLetterQueue.Arn"},
    } in statements["Statement"]
{%- endif %}
{%- if cookiecutter.deploy_target == "lambda" %}


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_invocations_that_fail_or_are_throttled_raise_an_alarm(
    template: dict[str, Any], metric: str
) -> None:
    alarm = template["Resources"][f"{metric}Alarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/Lambda", metric)
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"!Ref": "Function"}}]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
{%- else %}


def test_tasks_that_fail_or_never_start_raise_an_alarm(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    rule = resources["TaskFailuresRule"]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert detail["clusterArn"] == [{"!GetAtt": "Cluster.Arn"}]
    assert detail["lastStatus"] == ["STOPPED"]
    assert detail["$or"] == [
        {"containers": {"exitCode": [{"anything-but": 0}]}},
        {"stopCode": ["TaskFailedToStart"]},
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"!GetAtt": "TaskFailuresLogGroup.Arn"}
    metric = resources["TaskFailuresMetric"]["Properties"]
    assert metric["LogGroupName"] == {"!Ref": "TaskFailuresLogGroup"}
    alarm = resources["TaskFailuresAlarm"]["Properties"]
    assert alarm["MetricName"] == metric["MetricTransformations"][0]["MetricName"]
    policy = resources["TaskFailuresLogPolicy"]["Properties"]["PolicyDocument"]["!Sub"]
    assert "events.amazonaws.com" in policy
    assert "${TaskFailuresLogGroup.Arn}" in policy
{%- endif %}
{%- if cookiecutter.deploy_target == "lambda" %}


def test_the_function_runs_the_handler_on_the_project_s_python(template: dict[str, Any]) -> None:
    properties = template["Resources"]["Function"]["Properties"]
    module, _, function = properties["Handler"].rpartition(".")
    assert callable(getattr(importlib.import_module(module), function))
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert properties["Runtime"] == "python" + pyproject["project"]["requires-python"][2:]
    assert properties["Timeout"] <= 900
    assert template["Resources"]["Function"]["Metadata"]["BuildMethod"] == "makefile"
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "build-Function:" in makefile
    assert "--no-compile" not in makefile  # compiled at build time, not at each cold start
    assert 'compileall -q --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)"' in makefile


def test_a_scheduled_run_that_ends_in_error_is_not_retried(template: dict[str, Any]) -> None:
    """A forced end exits the process (an error to Lambda): a retry would run
    the whole job again right away; the next schedule does that."""
    properties = template["Resources"]["Function"]["Properties"]
    assert properties["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
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


def test_the_image_is_compiled_at_build_time_and_ships_no_pip() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    build, runtime = dockerfile.split("\nFROM ${PYTHON_IMAGE}\n")
    assert "--no-compile" not in dockerfile
    assert "compileall -q --invalidation-mode unchecked-hash /opt/app" in build
    assert "pip uninstall --yes pip setuptools" in build  # the venv's own
    assert "pip uninstall --yes pip setuptools" in runtime  # the base image's


def test_the_readme_builds_the_image_for_the_task_s_architecture(
    template: dict[str, Any],
) -> None:
    task = template["Resources"]["TaskDefinition"]["Properties"]
    platform = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}[
        task["RuntimePlatform"]["CpuArchitecture"]
    ]
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"docker build --platform {platform} " in readme


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
