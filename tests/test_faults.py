"""The baked CLI under faults: a real process, a fault-injecting proxy, moto.

After every run the invariant is checked against the server's real state:
every expired object is gone or counted as failed, the counts match what
happened, and nothing outside the filter was touched.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .e2e import (
    ACCOUNT,
    SLUG,
    Run,
    assert_contract,
    base_env,
    keys_in,
    s3_client,
    seed,
    sigint_at_default,
)
from .fault_proxy import BlackHole, FaultPlan, FaultProxy

EXPIRED = 2500


def seed_scenario(bucket: str, expired: int = EXPIRED) -> tuple[set[str], set[str]]:
    """Seed expired keys under temp/, plus fresh ones and old ones outside it."""
    expired_keys = {f"temp/{index:05d}.log" for index in range(expired)}
    kept = {f"temp/fresh-{index}.log" for index in range(5)} | {
        f"archive/{index}.log" for index in range(5)
    }
    seed(bucket, sorted(expired_keys), age_days=90)
    seed(bucket, sorted(key for key in kept if key.startswith("temp/")), age_days=1)
    seed(bucket, sorted(key for key in kept if key.startswith("archive/")), age_days=400)
    return expired_keys, kept


def assert_invariant(
    bucket: str, expired: set[str], kept: set[str], run: Run, *, finished: bool = True
) -> None:
    """Nothing outside the filter is touched and ``deleted`` is what is really
    gone; a run that finished also counts every expired object left as failed
    or skipped, and ``matched = deleted + failed + skipped``."""
    left = keys_in(bucket)
    assert kept <= left, "an object outside the filter was deleted"
    still_expired = left & expired
    summary = run.summary
    assert summary["deleted"] == len(expired) - len(still_expired)
    assert min(summary[name] for name in ("listed", "matched", "deleted", "failed")) >= 0
    if finished:
        assert summary["failed"] + summary.get("skipped", 0) == len(still_expired), (
            "expired objects neither gone nor failed nor skipped"
        )
        assert summary["matched"] == summary["deleted"] + summary["failed"] + summary["skipped"]


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_transient_faults_are_absorbed_by_retries(
    cli: Any, endpoint: str, bucket: str, seed_value: int
) -> None:
    expired, kept = seed_scenario(bucket)
    plan = FaultPlan(
        seed=seed_value,
        slow_down=0.15,
        internal_error=0.1,
        reset_before=0.1,
        reset_after=0.1,
        latency=0.01,
    )
    with FaultProxy(endpoint, plan) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url, AWS_MAX_ATTEMPTS="10")
    assert sum(proxy.injected.values()) > 0
    assert_contract(run, 0)
    assert_invariant(bucket, expired, kept, run)
    assert keys_in(bucket) == kept


def test_failed_keys_are_retried_and_the_rest_counted(cli: Any, endpoint: str, bucket: str) -> None:
    expired, kept = seed_scenario(bucket)
    with FaultProxy(endpoint, FaultPlan(seed=7, fail_keys=0.3)) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert proxy.injected["failed_keys"] > 0
    assert_contract(run, 5 if run.summary["failed"] else 0)
    assert_invariant(bucket, expired, kept, run)
    # far fewer than the 30% that failed once: retries brought most of them down
    assert run.summary["failed"] < 0.1 * EXPIRED


def test_keys_that_keep_failing_exit_5_are_listed_and_a_rerun_finishes(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket)
    plan = FaultPlan(seed=3, fail_keys=0.01, sticky_key_failures=True)
    with FaultProxy(endpoint, plan) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert_contract(run, 5)
    assert_invariant(bucket, expired, kept, run)
    failed_lines = {line["key"] for line in run.lines if line["message"] == "could not delete"}
    assert failed_lines == keys_in(bucket) & expired
    assert run.summary["failed"] > 0
    rerun = cli("--apply", S3_BUCKET=bucket)
    assert_contract(rerun, 0)
    assert keys_in(bucket) == kept


def test_access_denied_exits_4_and_deletes_nothing(cli: Any, endpoint: str, bucket: str) -> None:
    expired, kept = seed_scenario(bucket)
    with FaultProxy(endpoint, FaultPlan(deny="delete_objects")) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert_contract(run, 4)
    assert_invariant(bucket, expired, kept, run, finished=False)
    assert keys_in(bucket) == expired | kept


def test_persistent_server_errors_exit_5(cli: Any, endpoint: str, bucket: str) -> None:
    expired, kept = seed_scenario(bucket)
    plan = FaultPlan(internal_error=1.0, only="list_objects")
    with FaultProxy(endpoint, plan) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url, AWS_MAX_ATTEMPTS="2")
    assert proxy.injected["internal_error"] == 2  # botocore tried twice, as configured
    assert_contract(run, 5)
    assert keys_in(bucket) == expired | kept


def test_a_black_hole_endpoint_ends_in_exit_3(cli: Any) -> None:
    with BlackHole() as hole:
        run = cli(
            AWS_ENDPOINT_URL=hole.url,
            S3_BUCKET="some-bucket",
            CONNECT_TIMEOUT="1",
            READ_TIMEOUT="1",
            AWS_MAX_ATTEMPTS="2",
        )
    assert_contract(run, 3)
    started = next(line for line in run.lines if line["message"] == "run started")
    assert started["worst_case_call_s"] == 2 * (1 + 1) + 2  # attempts x timeouts + backoff


@pytest.mark.parametrize(
    ("env", "code"),
    [
        ({"RETENTION_DAYS": "-1"}, 1),
        ({"ALLOWED_ACCOUNT_IDS": "111111111111"}, 6),
        ({"ENVIRONMENT": "prod"}, 6),  # long-term keys in prod
    ],
    ids=["config-1", "allow-list-6", "prod-keys-6"],
)
def test_refusals_through_the_proxy_change_nothing(
    cli: Any, endpoint: str, bucket: str, env: dict[str, str], code: int
) -> None:
    expired, kept = seed_scenario(bucket, expired=10)
    with FaultProxy(endpoint, FaultPlan(seed=1, slow_down=0.2)) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url, **env)
    assert_contract(run, code)
    assert proxy.seen["delete_objects"] == 0
    assert keys_in(bucket) == expired | kept


def test_missing_credentials_through_the_proxy_exit_2(cli: Any, endpoint: str, bucket: str) -> None:
    with FaultProxy(endpoint, FaultPlan()) as proxy:
        run = cli(
            "--apply",
            S3_BUCKET=bucket,
            AWS_ENDPOINT_URL=proxy.url,
            drop=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        )
    assert_contract(run, 2)
    assert sum(proxy.seen.values()) == 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_stop_cleanly_with_true_counts_and_a_rerun_finishes(
    project: Any, endpoint: str, bucket: str, tmp_path: Path, signum: int, code: int
) -> None:
    expired, kept = seed_scenario(bucket, expired=6000)
    with FaultProxy(endpoint, FaultPlan(latency=0.15)) as proxy:
        env = {
            **base_env(project, proxy.url, tmp_path),
            "S3_BUCKET": bucket,
            "MAX_WORKERS": "1",
        }
        process = subprocess.Popen(
            [str(project.venv_bin / SLUG), "--apply"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=sigint_at_default,
        )
        assert proxy.first_delete.wait(60), "the run never reached its first delete"
        time.sleep(0.05)  # let that batch be in flight
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    run = Run(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    assert_contract(run, code)
    assert_invariant(bucket, expired, kept, run, finished=False)
    assert run.summary["failed"] == 0
    assert 0 < run.summary["deleted"] < len(expired)
    rerun_env = {**base_env(project, endpoint, tmp_path), "S3_BUCKET": bucket}
    rerun = Run(project.run(project.venv_bin / SLUG, "--apply", env=rerun_env, check=False))
    assert_contract(rerun, 0)
    assert rerun.summary["deleted"] == len(expired) - run.summary["deleted"]
    assert keys_in(bucket) == kept


def test_no_secret_reaches_the_output_at_debug(cli: Any, bucket: str) -> None:
    secret_key = "wJalrXUtnFEMIK7MDENGbPxRfiCYzEXAMPLEKEY2"  # pragma: allowlist secret
    token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN0123456789abcdef"  # pragma: allowlist secret
    seed(bucket, ["temp/old"], age_days=90)
    run = cli(
        "--apply",
        S3_BUCKET=bucket,
        LOG_LEVEL="DEBUG",
        AWS_SECRET_ACCESS_KEY=secret_key,
        AWS_SESSION_TOKEN=token,
        ASSUME_ROLE_ARN=f"arn:aws:iam::{ACCOUNT}:role/cleanup",
    )
    assert_contract(run, 0)
    output = run.stdout + run.stderr
    assert any(line["logger"].startswith("botocore") for line in run.lines)
    assert "Authorization" in output  # the wire log is there, its values are not
    for secret in (secret_key, token):
        assert secret not in output


def test_a_batch_that_fails_for_good_is_counted_and_the_rest_goes_on(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket)
    plan = FaultPlan(internal_error=1.0, only="delete_objects")
    with FaultProxy(endpoint, plan) as proxy:
        run = cli(
            "--apply",
            "--max-workers",
            "1",
            S3_BUCKET=bucket,
            AWS_ENDPOINT_URL=proxy.url,
            AWS_MAX_ATTEMPTS="2",
        )
    assert_contract(run, 5)
    assert_invariant(bucket, expired, kept, run)
    assert run.summary["listed"] == len(expired) + 5  # the listing went on after each failure
    assert run.summary["failed"] == len(expired)
    assert proxy.seen["delete_objects"] == 2 * 3  # every batch was tried, each twice
    rerun = cli("--apply", S3_BUCKET=bucket)
    assert_contract(rerun, 0)
    assert keys_in(bucket) == kept


def test_a_batch_deleted_before_its_answer_was_lost_counts_as_deleted(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket)
    plan = FaultPlan(reset_after=1.0, only="delete_objects")
    with FaultProxy(endpoint, plan) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url, AWS_MAX_ATTEMPTS="2")
    assert proxy.injected["reset_after"] > 0
    assert_contract(run, 0)
    assert_invariant(bucket, expired, kept, run)
    assert run.summary["deleted"] == len(expired)


def test_changed_keys_are_skipped_and_every_delete_carries_its_etag(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket)
    listed = {
        item["Key"]: item["ETag"]
        for page in s3_client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    }
    with FaultProxy(endpoint, FaultPlan(seed=5, precondition_failed=0.05)) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    changed = proxy.injected["precondition_failed"]
    assert changed > 0
    assert_contract(run, 0)  # a key changed since listed is skipped, not failed
    assert (run.summary["skipped"], run.summary["failed"]) == (changed, 0)
    assert run.summary["matched"] == run.summary["deleted"] + changed
    assert len(keys_in(bucket) & expired) == changed  # skipped keys stay
    assert_invariant(bucket, expired, kept, run)
    assert proxy.sent_etags == {key: listed[key] for key in expired}
    assert proxy.delete_sizes.count(1000) == 2  # never retried: no second call for them


def test_a_timed_out_batch_is_retried_in_halves_end_to_end(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket, expired=1000)
    plan = FaultPlan(time_out_over=500, timeout_hold=4)  # longer than READ_TIMEOUT
    with FaultProxy(endpoint, plan) as proxy:
        run = cli(
            "--apply",
            S3_BUCKET=bucket,
            AWS_ENDPOINT_URL=proxy.url,
            AWS_MAX_ATTEMPTS="2",
            READ_TIMEOUT="3",
        )
    assert_contract(run, 0)
    assert_invariant(bucket, expired, kept, run)
    assert proxy.delete_sizes == [1000, 1000, 500, 500]  # botocore's two tries, then halves
    assert any(line["message"].endswith("retrying its keys in halves") for line in run.lines)
    assert keys_in(bucket) == kept


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (FaultPlan(phantom_key_error=True), "'phantom/never-sent', which was not in the request"),
        (FaultPlan(strip_last_modified=True), "an item has no usable LastModified"),
    ],
    ids=["phantom-key", "no-last-modified"],
)
def test_malformed_answers_exit_5_with_true_counts(
    cli: Any, endpoint: str, bucket: str, plan: FaultPlan, message: str
) -> None:
    expired, kept = seed_scenario(bucket, expired=50)
    with FaultProxy(endpoint, plan) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert_contract(run, 5)
    errors = " ".join(line["message"] for line in run.lines if line["level"] == "ERROR")
    assert message in errors
    assert_invariant(bucket, expired, kept, run, finished=False)
    summary = run.summary
    assert summary["matched"] == summary["deleted"] + summary["failed"] + summary["skipped"]


def test_a_key_xml_cannot_carry_is_deleted_alone_end_to_end(
    cli: Any, endpoint: str, bucket: str
) -> None:
    expired, kept = seed_scenario(bucket, expired=20)
    control = "temp/ctl\x01key\x1f.log"
    seed(bucket, [control], age_days=90)
    with FaultProxy(endpoint, FaultPlan()) as proxy:
        run = cli("--apply", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)
    assert_contract(run, 0)
    assert_invariant(bucket, expired | {control}, kept, run)
    assert control not in proxy.sent_etags  # never in a DeleteObjects body
    assert proxy.delete_sizes == [20]  # it did not block its batch
    warnings = [line for line in run.lines if line["message"].endswith("deleting it alone")]
    assert [line["key"] for line in warnings] == [repr(control)]


@pytest.mark.parametrize("mode", [(), ("--apply",)], ids=["dry-run", "apply"])
def test_a_missing_bucket_exits_5_naming_it_and_is_not_created(
    cli: Any, endpoint: str, mode: tuple[str, ...]
) -> None:
    typo = "exmaple-bucket-never-made"
    run = cli(*mode, S3_BUCKET=typo)
    assert_contract(run, 5)
    errors = [line["message"] for line in run.lines if line["level"] == "ERROR"]
    assert errors == [f"aws_error: no such bucket: {typo}"]
    names = {item["Name"] for item in s3_client(endpoint).list_buckets()["Buckets"]}
    assert typo not in names


def test_versions_age_from_when_they_became_noncurrent_end_to_end(
    cli: Any, endpoint: str, bucket: str
) -> None:
    from moto.s3.models import s3_backends

    s3 = s3_client(endpoint)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    # Each key's versions, oldest first: (age in days, whether it is a delete marker).
    history = {
        "temp/replaced-yesterday": [(60, False), (1, False)],  # noncurrent 1 day: kept
        "temp/all-old": [(90, False), (50, False)],  # expired current version: all goes
        "temp/deleted-long-ago": [(90, False), (40, False), (39, True)],  # all goes
        "temp/deleted-lately": [(90, False), (5, False), (4, True)],  # noncurrent 4 days
    }
    for key, versions in history.items():
        for _, marker in versions:
            if marker:
                s3.delete_object(Bucket=bucket, Key=key)
            else:
                s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    now = datetime.now(UTC).replace(tzinfo=None)
    stored = s3_backends[ACCOUNT]["global"].buckets[bucket].keys
    for key, versions in history.items():
        for version, (age, _) in zip(stored.getlist(key), versions, strict=True):
            version.last_modified = now - timedelta(days=age)

    with FaultProxy(endpoint, FaultPlan()) as proxy:
        run = cli("--apply", "--include-versions", S3_BUCKET=bucket, AWS_ENDPOINT_URL=proxy.url)

    assert_contract(run, 0)
    left = Counter(
        item["Key"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
    )
    assert left == {"temp/replaced-yesterday": 2, "temp/deleted-lately": 3}
    assert run.summary["deleted"] == 2 + 3
