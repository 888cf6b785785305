"""Fan-out as a real process: an organization on moto's server, a bucket per account.

The baked CLI lists the organization, assumes the same role in every
account, and cleans each account's own bucket; a role that cannot be
assumed (refused by the fault proxy, as STS would) fails only its target.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .e2e import ACCOUNT, Run, assert_contract, keys_in, seed
from .fault_proxy import FaultPlan, FaultProxy

OLD = ["temp/a.log", "temp/b.log"]
KEEP = ["temp/new.log", "keep/old.log"]


@pytest.fixture(scope="module")
def accounts(endpoint: str) -> list[str]:
    """The organization's active accounts: the management account and three members."""
    import boto3

    org = boto3.client(
        "organizations",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    org.create_organization(FeatureSet="ALL")
    members = [
        org.create_account(Email=f"member{n}@example.com", AccountName=f"member{n}")[
            "CreateAccountStatus"
        ]["AccountId"]
        for n in range(3)
    ]
    closed = org.create_account(Email="closed@example.com", AccountName="closed")
    org.close_account(AccountId=closed["CreateAccountStatus"]["AccountId"])
    return [ACCOUNT, *members]


def seed_every(accounts: list[str], prefix: str) -> None:
    for account in accounts:
        seed(f"{prefix}-{account}", [*OLD, "keep/old.log"], age_days=90, account=account)
        seed(f"{prefix}-{account}", ["temp/new.log"], age_days=1, account=account)


def fan_out_env(accounts: list[str], prefix: str) -> dict[str, str]:
    return {
        "S3_BUCKET": prefix + "-{account}",
        "TARGET_ACCOUNTS": "organization",
        "TARGET_ROLE_NAME": "automation",
        "ALLOWED_ACCOUNT_IDS": ",".join(accounts),
        "MAX_PARALLEL_TARGETS": "2",
    }


def finished(run: Run) -> dict[str, int]:
    return {
        line["account"]: line["exit_code"]
        for line in run.lines
        if line["message"] == "target finished"
    }


def test_apply_cleans_every_account_of_the_organization(cli: Any, accounts: list[str]) -> None:
    seed_every(accounts, "fan-apply")

    run = cli("--apply", **fan_out_env(accounts, "fan-apply"))

    assert_contract(run, 0)
    assert finished(run) == dict.fromkeys(accounts, 0)
    for account in accounts:
        assert keys_in(f"fan-apply-{account}", account) == set(KEEP), account
    assert run.summary["deleted"] == len(OLD) * len(accounts)
    assert run.summary["targets"] == len(accounts)
    roles = {line["arn"] for line in run.lines if line["message"] == "resolved AWS identity"}
    for account in accounts:
        assert any(
            arn.startswith(f"arn:aws:sts::{account}:assumed-role/automation/") for arn in roles
        )


def test_a_role_that_cannot_be_assumed_fails_only_its_account(
    cli: Any, accounts: list[str], endpoint: str, tmp_path: Path
) -> None:
    seed_every(accounts, "fan-deny")
    broken = accounts[2]

    with FaultProxy(endpoint, FaultPlan(deny_assume_role=broken)) as proxy:
        run = cli("--apply", AWS_ENDPOINT_URL=proxy.url, **fan_out_env(accounts, "fan-deny"))

    assert proxy.injected["deny_assume_role"] >= 1
    assert_contract(run, 4)
    assert finished(run) == {account: 4 if account == broken else 0 for account in accounts}
    assert keys_in(f"fan-deny-{broken}", broken) == set(OLD + KEEP)  # nothing touched there
    for account in accounts:
        if account != broken:
            assert keys_in(f"fan-deny-{account}", account) == set(KEEP), account
    (failed,) = run.summary["failed_targets"]
    assert (failed["account"], failed["exit_code"]) == (broken, 4)
    assert "AccessDenied" in failed["error"]
