# Maintained by the template: a template update replaces this file. Your tests go in test_job.py.
"""The AssumeRole session policy: each action only on the run's own resources.

moto does not apply session policies, so the scoping test gives a role the
rendered policy as its own and lets moto's IAM enforcement judge each call.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from {{ cookiecutter.package_name }} import job
from {{ cookiecutter.package_name }}.runtime.access.aws import (
    partition_of,
    session_policy,
)

PLACEHOLDER = re.compile(r"\{(\w+)\}")
WRITE_VERBS = ("Create", "Delete", "Put", "Publish", "Update", "Tag", "Untag", "Modify")


def placeholders() -> set[str]:
    return {name for resource in job.IAM_ACTIONS.values() for name in PLACEHOLDER.findall(resource)}


def every_value_set() -> dict[str, str | None]:
    return {name: f"value-of-{name.lower()}" for name in placeholders()}


def statements(policy: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(policy)["Statement"]
    return found


def test_the_template_form_keeps_every_placeholder_and_every_action() -> None:
    found = statements(session_policy(job.IAM_ACTIONS))
    granted = {(action, item["Resource"]) for item in found for action in item["Action"]}
    assert granted == set(job.IAM_ACTIONS.items())


def test_no_write_action_is_granted_on_every_resource() -> None:
    for action, resource in job.IAM_ACTIONS.items():
        verb = action.split(":")[1]
        if verb.startswith(WRITE_VERBS):
            assert resource != "*", f"{action}: scope it to the resource it changes"
            assert PLACEHOLDER.search(resource), f"{action}: name the setting it applies to"


def test_a_filled_in_policy_names_only_the_run_s_values() -> None:
    found = statements(session_policy(job.IAM_ACTIONS, [every_value_set()]))
    assert {action for item in found for action in item["Action"]} == set(job.IAM_ACTIONS)
    for item in found:
        assert "{" not in item["Resource"]


def test_a_grant_naming_an_unset_value_is_left_out() -> None:
    grants = {"s3:ListBucket": "arn:{partition}:s3:::{S3_BUCKET}", "sns:Publish": "{SNS_TOPIC_ARN}"}
    for unset in (None, ""):
        scope = {"partition": "aws", "S3_BUCKET": "b", "SNS_TOPIC_ARN": unset}
        assert statements(session_policy(grants, [scope])) == [
            {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::b"}
        ]


def test_iam_wildcards_in_a_value_match_only_themselves() -> None:
    grants = {"s3:DeleteObject": "arn:aws:s3:::{S3_BUCKET}/{S3_PREFIX}*"}
    scope = {"S3_BUCKET": "b", "S3_PREFIX": "a*b?c$d/"}
    (statement,) = statements(session_policy(grants, [scope]))
    assert statement["Resource"] == "arn:aws:s3:::b/a${*}b${?}c${$}d/*"


def test_a_session_serving_several_regions_gets_each_region_s_resource() -> None:
    grants = {"s3:ListBucket": "arn:aws:s3:::logs-{region}"}
    scopes = [{"region": region} for region in ("eu-west-1", "us-east-1")]
    found = statements(session_policy(grants, scopes))
    assert [item["Resource"] for item in found] == [
        "arn:aws:s3:::logs-eu-west-1",
        "arn:aws:s3:::logs-us-east-1",
    ]


def test_a_placeholder_without_a_value_is_a_bug_not_a_grant() -> None:
    with pytest.raises(KeyError):
        session_policy({"s3:ListBucket": "arn:aws:s3:::{S3_BUKET}"}, [{"S3_BUCKET": "b"}])


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")],
)
def test_partition_of_a_region(region: str, partition: str) -> None:
    assert partition_of(region) == partition
