# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""template.yaml agrees with the code: settings, permissions and safe defaults.

When you add a setting or an IAM action to the job, these tests say which
part of the deploy template to update (cfn-lint checks the rest in CI).
"""

from __future__ import annotations

import argparse
{%- if cookiecutter.deploy_target == "lambda" %}
import importlib
{%- endif %}
import json
import re
{%- if cookiecutter.deploy_target == "lambda" %}
import tomllib
{%- endif %}
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access import (
    aws,
)
from {{ cookiecutter.package_name }}.runtime.outcome.errors import (
    ConfigError,
)
from {{ cookiecutter.package_name }}.runtime.run import (
    cli,
    targets,
)
from {{ cookiecutter.package_name }}.runtime.settings import (
    config,
)
from {{ cookiecutter.package_name }}.runtime.settings.overrides import (
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


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict[str, Any]]:
    """Both stacks, read once (the role statements make them slow to parse)."""
    return {name: load(name) for name in ("template.yaml", "target-role.yaml")}


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
    if "!If" in resource and resource["!If"][0] == "HasTargetRegions":
        # The stack's own region (the other branch names each of several:
        # test_placeholders_in_a_parameter_become_the_role_s_own_account_and_each_region).
        resource = resource["!If"][2]
    if "!Ref" in resource:
        return "{" + by_parameter[resource["!Ref"]] + "}"
    text: str
    variables: dict[str, Any]
    if isinstance(resource["!Sub"], str):  # !Sub "arn:${AWS::Partition}:...": no variables
        text, variables = resource["!Sub"], {}
    else:
        text, variables = resource["!Sub"]
    # Each parameter set to its variable's name in braces: a value that names
    # no placeholder comes through whole, however the stack fills them in.
    named = Stack(template, {parameter: marker(template, parameter) for parameter in by_parameter})
    for name, value in variables.items():
        if name == "Region":
            text = text.replace("${Region}", "{region}")
            continue
        from_parameter = named.evaluate(value)
        assert from_parameter == "{" + name + "}", f"{name} comes from its parameter"
        text = text.replace("${" + name + "}", "{" + name + "}")
    text = text.replace("${AWS::Partition}", "{partition}")
    return text.replace("${AWS::AccountId}", "{account}")


def marker(template: dict[str, Any], parameter: str) -> str:
    """``{VARIABLE}`` for a parameter, as an s3:// URI where it takes those."""
    variable = {parameter: name for name, parameter in environment(template).items()}[parameter]
    text = "{" + variable + "}"
    return f"s3://{text}" if takes_s3_uris(template["Parameters"][parameter]) else text


def takes_s3_uris(spec: dict[str, Any]) -> bool:
    """Whether a parameter takes s3://bucket/key URIs (and nothing else)."""
    return accepts(spec, "s3://bucket/key") and not accepts(spec, "bucket")


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
    fan_out, assume_role, *own = job_policy(template)
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


def job_policy(template: dict[str, Any]) -> list[Any]:
    """The statements of the runner role's "job" policy."""
    role = "{{ 'FunctionRole' if cookiecutter.deploy_target == 'lambda' else 'TaskRole' }}"
    policies = template["Resources"][role]["Properties"]["Policies"]
    (policy,) = [policy for policy in policies if policy["PolicyName"] == "job"]
    statements: list[Any] = policy["PolicyDocument"]["Statement"]
    return statements


def test_the_failed_run_alarm_matches_a_failed_run_s_summary(template: dict[str, Any]) -> None:
    pattern = template["Resources"]["FailedRunsMetric"]["Properties"]["FilterPattern"]
    assert re.findall(r"\$\.(\w+)", pattern) == ["summary", "exit_code"]
    failed = cli.execute(job, [], {"LOG_LEVEL": "LOUD"})  # a configuration error: exit 1
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
        # Tried with a value of the kind it takes: a name, an s3:// URI, an
        # ARN, regions (TargetRegions: each region a resource is granted in).
        (plain,) = [value for value in plain_values() if re.fullmatch(pattern, value)][:1]
        for wildcard in ("*", "?", "$", "${aws:username}"):
            assert not re.fullmatch(pattern, plain + wildcard), (parameter, wildcard)


def plain_values() -> tuple[str, ...]:
    """A valid value of each kind a resource parameter takes."""
    region = config.DEFAULT_REGION
    partition = aws.partition_of(region)
    return (
        "plain-value",
        "s3://plain-value/key",
        f"arn:{partition}:sns:{region}:{ACCOUNT}:topic",
        region,
    )


_NO_VALUE = object()  # AWS::NoValue: the property or list item is left out
ACCOUNT = "111122223333"  # the stack's own account in the evaluations below


class Stack:
    """A template with its parameters set, read as CloudFormation reads it:
    the intrinsic functions and conditions that the roles use. A resource's
    attribute (``!GetAtt X.Arn``) stays ``<X.Arn>``."""

    def __init__(
        self, loaded: dict[str, Any], values: dict[str, str], region: str = config.DEFAULT_REGION
    ) -> None:
        parameters = loaded["Parameters"]
        assert set(values) <= set(parameters), sorted(set(values) - set(parameters))
        self.loaded = loaded
        self.refs: dict[str, Any] = {
            name: str(spec.get("Default", "")) for name, spec in parameters.items()
        }
        self.refs |= values
        self.refs |= {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": region,
            "AWS::Partition": aws.partition_of(region),
            "AWS::NoValue": _NO_VALUE,
        }

    def condition(self, name: str) -> bool:
        return bool(self.evaluate(self.loaded["Conditions"][name]))

    def evaluate(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(self.evaluate, node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) != 1 or not next(iter(node)).startswith("!"):
            pairs = ((key, self.evaluate(value)) for key, value in node.items())
            return {key: value for key, value in pairs if value is not _NO_VALUE}
        ((function, argument),) = node.items()
        if function == "!Ref":
            return self.refs.get(argument, f"<{argument}>")
        if function == "!GetAtt":
            return f"<{argument}>"
        if function == "!Sub":
            return self._sub(*([argument, {}] if isinstance(argument, str) else argument))
        if function == "!Join":
            return argument[0].join(self.evaluate(argument[1]))
        if function == "!Split":
            return self.evaluate(argument[1]).split(argument[0])
        if function == "!Select":
            items = self.evaluate(argument[1])
            index = int(argument[0])
            if index >= len(items):  # CloudFormation fails the deploy
                raise ValueError(f"Fn::Select {index} of {items}")
            return items[index]
        if function == "!If":
            condition, when, otherwise = argument
            return self.evaluate(when if self.condition(condition) else otherwise)
        return self._condition_function(function, argument)

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        values = {name: self.evaluate(value) for name, value in variables.items()}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            return str(values.get(name, self.refs.get(name, f"<{name}>")))

        return re.sub(r"\$\{([\w:.]+)\}", value, text)

    def _condition_function(self, function: str, argument: Any) -> bool:
        if function == "!Equals":
            return bool(self.evaluate(argument[0]) == self.evaluate(argument[1]))
        if function == "!Not":
            return not self.evaluate(argument[0])
        if function == "!And":
            return all(map(self.evaluate, argument))
        if function == "!Or":
            return any(map(self.evaluate, argument))
        assert function == "!Condition", f"{function}: not read by this test"
        return self.condition(argument)


def accepts(spec: dict[str, Any], value: str) -> bool:
    """Whether CloudFormation takes ``value`` for a String parameter."""
    if len(value) < spec.get("MinLength", 0) or len(value) > spec.get("MaxLength", len(value)):
        return False
    if "AllowedValues" in spec and value not in [str(item) for item in spec["AllowedValues"]]:
        return False
    pattern = spec.get("AllowedPattern")
    return pattern is None or re.fullmatch(pattern, value) is not None


def granted(stack: Stack, statements: list[Any]) -> dict[str, Any]:
    """action -> the resource a role grants it on, for this stack's values."""
    found: dict[str, Any] = {}
    for statement in stack.evaluate(statements):
        actions = statement["Action"]
        for action in actions if isinstance(actions, list) else [actions]:
            assert action not in found, f"{action} granted twice"
            found[action] = statement["Resource"]
    return found


def role_statements(name: str, loaded: dict[str, Any]) -> list[Any]:
    if name == "target-role.yaml":
        (policy,) = loaded["Resources"]["TargetRole"]["Properties"]["Policies"]
        statements: list[Any] = policy["PolicyDocument"]["Statement"]
        return statements
    return job_policy(loaded)


def used(template: dict[str, Any], values: dict[str, str], region: str) -> dict[str, str]:
    """action -> the resource a run in the stack's account and ``region`` uses:
    its session policy, with every placeholder filled in by the script."""
    parameters = template["Parameters"]
    env = {
        variable: values.get(parameter, str(parameters[parameter].get("Default", "")))
        for variable, parameter in environment(template).items()
    }
    _, job_settings = config.load(
        argparse.Namespace(), env, job.JobSettings, job.SETTINGS, regional=job.REGIONAL
    )
    scope = targets._scope(job, job_settings, aws.partition_of(region), ACCOUNT, region)
    policy = json.loads(aws.session_policy(job.IAM_ACTIONS, [scope]))
    return {
        action: statement["Resource"]
        for statement in policy["Statement"]
        for action in statement["Action"]
    }


def resource_parameters(template: dict[str, Any]) -> list[str]:
    """The job's parameters that a role's resource names."""
    named = parameters_in_resources(template["Resources"], template["Parameters"])
    return sorted(named & {environment(template)[setting.env[0]] for setting in job.SETTINGS})


PLACEHOLDER_SAMPLES = ("{account}", "x-{account}-{region}", "{region}", "{region}-y", "plain-z")
# A second region of the project's partition, for a run in several.
SECOND_REGIONS = ("eu-west-1", "eu-central-1", "cn-northwest-1", "cn-north-1", "us-gov-east-1")
OTHER_REGION = next(
    region
    for region in (*SECOND_REGIONS, "us-gov-west-1")
    if aws.partition_of(region) == aws.partition_of(config.DEFAULT_REGION)
    and region != config.DEFAULT_REGION
)


def as_list(resource: Any) -> list[str]:
    return resource if isinstance(resource, list) else [resource]


@pytest.mark.parametrize("sample", PLACEHOLDER_SAMPLES)
@pytest.mark.parametrize("regions", ["", "several"])
@pytest.mark.parametrize("stack", ["template.yaml", "target-role.yaml"])
def test_placeholders_in_a_parameter_become_the_role_s_own_account_and_each_region(
    template: dict[str, Any],
    stacks: dict[str, dict[str, Any]],
    stack: str,
    regions: str,
    sample: str,
) -> None:
    """{account} in a setting is the role's own account, {region} each
    region the role serves: the stack's own, or with TargetRegions the
    runner's region and those (target-role.yaml: the regions it lists).
    Neither is ever a wildcard, and no condition is needed."""
    placeholders = {environment(template)[row.env[0]] for row in job.SETTINGS if row.placeholders}
    values = {}
    for parameter in resource_parameters(template):
        spec = template["Parameters"][parameter]
        if parameter in placeholders or "Default" not in spec:
            values[parameter] = sample if accepts(spec, sample) else f"s3://{sample}/report.jsonl"
            assert accepts(spec, values[parameter]), (parameter, values[parameter])
    loaded = stacks[stack]
    stack_values = {name: value for name, value in values.items() if name in loaded["Parameters"]}
    run_regions = [config.DEFAULT_REGION]
    if regions:
        if "TargetRegions" not in loaded["Parameters"]:
            # A global job's stacks offer no TargetRegions (it refuses
            # TARGET_REGIONS), nor does a target role whose resources name
            # no region.
            assert not job.REGIONAL or stack == "target-role.yaml"
            return
        stack_values["TargetRegions"] = OTHER_REGION
        run_regions = [config.DEFAULT_REGION, OTHER_REGION]
        if stack == "target-role.yaml":
            run_regions = [OTHER_REGION]
    evaluated = Stack(loaded, stack_values)
    role = {
        action: set(as_list(resource))
        for action, resource in granted(evaluated, role_statements(stack, loaded)).items()
    }
    expected: dict[str, set[str]] = {}
    for region in run_regions:
        for action, resource in used(template, values, region).items():
            expected.setdefault(action, set()).add(resource)
    assert role == expected
    for statement in evaluated.evaluate(role_statements(stack, loaded)):
        assert "Condition" not in statement, statement
        for resource in as_list(statement["Resource"]):
            if resource.startswith("arn:"):  # region and account: never a wildcard
                assert "*" not in resource.split(":")[3], resource
                assert resource.split(":")[4] in ("", ACCOUNT), resource


def sub_variables(node: Any, name: str) -> list[Any]:
    """Every value a role's !Sub gives the variable ``name``."""
    if isinstance(node, list):
        return [found for item in node for found in sub_variables(item, name)]
    if not isinstance(node, dict):
        return []
    found = []
    sub = node.get("!Sub")
    if isinstance(sub, list) and name in sub[1]:
        found.append(sub[1][name])
    return found + [item for value in node.values() for item in sub_variables(value, name)]


# Pieces that stress the way the stack fills placeholders in without a
# replace function: tokens, parts of tokens, and its sentinels' letters.
_PIECES = ("{account}", "{region}", "{", "}", "x", "y", "-", "acc", "ount}", "{reg", "ion}", "/")


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.sampled_from(_PIECES), max_size=8))
def test_every_value_a_placeholder_parameter_accepts_is_filled_in_exactly(
    template: dict[str, Any], stacks: dict[str, dict[str, Any]], pieces: list[str]
) -> None:
    """Whatever a placeholder parameter accepts, each role names exactly the
    value with {account} (and {region}) replaced, as the script fills them in."""
    value = "".join(pieces)
    placeholders = [row.env[0] for row in job.SETTINGS if row.placeholders]
    for stack, loaded in stacks.items():
        for variable in dict.fromkeys(placeholders):
            parameter = environment(template)[variable]
            spec = loaded["Parameters"][parameter]
            text = f"s3://{value}" if takes_s3_uris(spec) else value
            if not accepts(spec, text):
                continue
            expected = text.removeprefix("s3://").replace("{account}", ACCOUNT)
            expected = expected.replace("{region}", config.DEFAULT_REGION)
            filled_in = Stack(loaded, {parameter: text})
            for expression in sub_variables(loaded["Resources"], variable):
                assert filled_in.evaluate(expression) == expected, (stack, text)


# What a value may carry that the script would strip, refuse or read
# otherwise: blanks, NBSP, line breaks, a character outside the BMP, IAM's
# wildcards and variables, a second s3://, placeholders twice.
_HOSTILE = (
    " ",
    "\u00a0",
    "\t",
    "\n",
    "\U0001d11e",
    "$",
    "*",
    "/",
    "s3://",
    "{account}",
    "{region}",
    "..",
    ":",
)


def near(pattern: str) -> st.SearchStrategy[str]:
    """Values the pattern accepts, with a hostile piece put in anywhere, or not."""
    accepted = st.from_regex(pattern, fullmatch=True)
    spliced = st.tuples(accepted, st.sampled_from(_HOSTILE), st.integers(0, 60)).map(
        lambda parts: parts[0][: parts[2]] + parts[1] + parts[0][parts[2] :]
    )
    return st.one_of(accepted, spliced, st.lists(st.sampled_from(_HOSTILE)).map("".join))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_what_a_resource_parameter_accepts_the_script_reads_as_written(
    template: dict[str, Any], data: st.DataObject
) -> None:
    """A value the stack takes is one the script's own validator takes, read
    as exactly that string (nothing stripped), and the role grants exactly
    what the run's session policy names."""
    by_parameter = {parameter: name for name, parameter in environment(template).items()}
    for parameter in resource_parameters(template):
        spec = template["Parameters"][parameter]
        value = data.draw(near(spec["AllowedPattern"]), label=parameter)
        if not accepts(spec, value):
            continue
        values = {parameter: value}
        env = {by_parameter[parameter]: value}
        for other in resource_parameters(template):  # a required one: a valid value
            if other != parameter and "Default" not in template["Parameters"][other]:
                values[other] = env[by_parameter[other]] = "example-bucket"
        try:
            _, job_settings = config.load(
                argparse.Namespace(), env, job.JobSettings, job.SETTINGS, regional=job.REGIONAL
            )
        except ConfigError as error:
            pytest.fail(f"{parameter}={value!r}: the stack takes it, the script refuses: {error}")
        (row, *_) = [row for row in job.SETTINGS if row.env[0] == by_parameter[parameter]]
        assert getattr(job_settings, row.name) == (value or None), (parameter, value)
        role = granted(Stack(template, values), job_policy(template))
        assert role == used(template, values, config.DEFAULT_REGION), (parameter, value)


LOCAL_AND_REMOTE_VALUES = (
    "report.jsonl",
    "./reports/report.jsonl",
    "s3://bucket/key",
    "s3://{account}-reports/{region}/report.jsonl",
    "bucket-{account}",
    "{account}{account}",
    "",
)


@pytest.mark.parametrize("stack", ["template.yaml", "target-role.yaml"])
def test_every_value_a_resource_parameter_accepts_renders_the_role(
    stacks: dict[str, dict[str, Any]], stack: str
) -> None:
    """A value that passes the stack's parameter check must deploy: a local
    path where the role needs an S3 object would fail the stack instead."""
    loaded = stacks[stack]
    parameters = loaded["Parameters"]
    named = sorted(parameters_in_resources(loaded["Resources"], parameters))
    base = {name: "example" for name in named if "Default" not in parameters[name]}
    for parameter in named:
        for value in LOCAL_AND_REMOTE_VALUES:
            if not accepts(parameters[parameter], value):
                continue
            try:
                granted(Stack(loaded, base | {parameter: value}), role_statements(stack, loaded))
            except ValueError as error:
                pytest.fail(f"{parameter}={value!r} is accepted, then fails the deploy: {error}")


def test_a_resource_parameter_with_a_default_refuses_the_empty_string(
    template: dict[str, Any],
) -> None:
    """The script reads an empty value as unset and uses its default, while
    the role would be granted on the empty value (an empty Prefix is the
    whole bucket): the stack refuses it."""
    parameters = template["Parameters"]
    by_parameter = {parameter: name for name, parameter in environment(template).items()}
    base = {
        name: str(spec.get("Default", "example"))
        for name, spec in parameters.items()
        if name in by_parameter
    }
    for parameter in resource_parameters(template):
        default = parameters[parameter].get("Default")
        if not default:  # required, or optional (its grant is left out when empty)
            continue
        assert not accepts(parameters[parameter], ""), f"{parameter}: refuse the empty string"
        variable = by_parameter[parameter]
        env = {by_parameter[name]: value for name, value in base.items()}
        _, with_default = config.load(
            argparse.Namespace(), env, job.JobSettings, job.SETTINGS, regional=job.REGIONAL
        )
        _, with_empty = config.load(
            argparse.Namespace(),
            env | {variable: ""},
            job.JobSettings,
            job.SETTINGS,
            regional=job.REGIONAL,
        )
        assert with_empty == with_default, f"{variable}: an empty value is its default"


def deploy_commands() -> list[tuple[str, set[str]]]:
    """(template file, parameters it passes) for each deploy command in
    docs/operations.md."""
    page = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", page, re.DOTALL)
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


def test_every_documented_deploy_command_passes_every_required_parameter() -> None:
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
    summary = cli.execute(job, [], {"LOG_LEVEL": "LOUD"})  # even a failed run logs it
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
    assert schedule["DeadLetterConfig"] == {"Arn": {"!GetAtt": "ScheduleDeadLetterQueue.Arn"}}
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


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    """template.yaml as CloudFormation deploys it: through the SAM transform,
    run as ``sam validate`` runs it, offline (a managed-policy loader that
    calls no IAM, the project's region, each local CodeUri as an S3 object)."""
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse((PROJECT_ROOT / "template.yaml").read_text(encoding="utf-8"))
    for resource in sam["Resources"].values():
        properties = resource.get("Properties", {})
        code = properties.get("CodeUri")
        if resource["Type"] == "AWS::Serverless::Function" and not str(code).startswith("s3://"):
            properties["CodeUri"] = "s3://deploy-bucket/function.zip"
    translator = Translator(
        managed_policy_map=None,
        sam_parser=Parser(),
        plugins=[],
        boto_session=boto3.Session(region_name=config.DEFAULT_REGION),
    )
    try:
        result: dict[str, Any] = translator.translate(
            sam_template=sam, parameter_values={}, get_managed_policy_map=dict
        )
    except InvalidDocumentException as error:
        pytest.fail(f"the SAM transform fails: {[str(cause) for cause in error.causes]}")
    return result


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def test_the_stack_passes_the_sam_transform(transformed: dict[str, Any]) -> None:
    assert set(of_type(transformed, "AWS::Lambda::Function")) == {"Function"}
    assert not of_type(transformed, "AWS::Serverless::Function")


def test_the_dead_letter_queue_is_encrypted_kept_14_days_and_only_the_schedule_sends(
    transformed: dict[str, Any],
) -> None:
    """Asserted after the transform: SAM can add a queue of its own (without
    encryption or retention) or leave a declared one without a policy."""
    queue_arn = {"Fn::GetAtt": ["ScheduleDeadLetterQueue", "Arn"]}
    (queue,) = of_type(transformed, "AWS::SQS::Queue").values()
    assert queue is transformed["Resources"]["ScheduleDeadLetterQueue"]
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    ((rule_name, rule),) = of_type(transformed, "AWS::Events::Rule").items()
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["Function", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": queue_arn}
    (policy,) = of_type(transformed, "AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": "ScheduleDeadLetterQueue"}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_name, "Arn"]}}},
        }
    ]


def test_the_function_writes_logs_only_to_its_own_log_group(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    function = resources["Function"]["Properties"]
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": "LogGroup"}
    assert function["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    role = resources["FunctionRole"]["Properties"]
    assert "ManagedPolicyArns" not in role  # AWSLambdaBasicExecutionRole writes to any group
    log_actions = {
        action: statement["Resource"]
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        if "Action" in statement
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if action.startswith("logs:")
    }
    own_group = {"Fn::GetAtt": ["LogGroup", "Arn"]}  # arn:...:log-group:<name>:*, its streams
    job_logs = {action for action in job.IAM_ACTIONS if action.startswith("logs:")}
    assert {
        action: resource for action, resource in log_actions.items() if action not in job_logs
    } == {"logs:CreateLogStream": own_group, "logs:PutLogEvents": own_group}
    assert resources["LogGroup"]["DeletionPolicy"] == "Retain"


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


def test_the_docs_build_the_image_for_the_task_s_architecture(
    template: dict[str, Any],
) -> None:
    task = template["Resources"]["TaskDefinition"]["Properties"]
    platform = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}[
        task["RuntimePlatform"]["CpuArchitecture"]
    ]
    page = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"docker build --platform {platform} " in page


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
