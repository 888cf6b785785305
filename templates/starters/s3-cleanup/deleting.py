"""Deleting: batches of up to 1,000 keys, each conditional on its listed ETag.

Failures are counted, never hidden, and never stop the rest: keys S3 reports
with a transient error are retried; a batch whose call times out is sent
again once, as two halves; a batch that still fails is settled by one
listing of its key range (what is gone counts as deleted, what is there as
failed). A key XML 1.0 cannot carry goes alone through ``DeleteObject``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import listing
from .runtime.access import stop_aware
from .runtime.outcome.errors import AwsError, Interrupted, OutOfTime, OutputFailed, StopRequest
from .runtime.outcome.exit_codes import CREDENTIAL_ERROR_CODES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

__all__ = ["DELETE_BATCH_LIMIT", "BatchResult", "delete_batch"]

DELETE_BATCH_LIMIT = 1000  # the most keys DeleteObjects accepts in one call
# Per-key DeleteObjects errors worth another try; AccessDenied and the like are not.
RETRYABLE_KEY_ERRORS = frozenset(
    {"InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "OperationAborted"}
)
CHANGED_SINCE_LISTED = "PreconditionFailed"  # the ETag no longer matches: counted skipped
ALREADY_GONE = "NoSuchKey"  # a conditional delete of a key someone else removed
KEY_ATTEMPTS = 3
KEY_RETRY_BASE_SECONDS = 0.2
SETTLE_PAGES = 5  # list pages read at most to learn what a failed batch did
FAILED_KEYS_SAMPLE = 10  # keys named in the one line about a failed batch
# Characters XML 1.0 cannot carry: S3 refuses a DeleteObjects body with them.
XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """What became of each key of a batch; every key sent is in exactly one list."""

    deleted: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # with Code and Message
    skipped: list[dict[str, Any]] = field(default_factory=list)  # changed since listed
    problem: str | None = None  # an answer that made no sense
    fatal: BaseException | None = None  # re-raised once the batch is counted


class _Unsettled(Exception):
    """A delete call failed: what became of ``objects`` is not known yet."""

    def __init__(self, objects: list[ObjectIdentifierTypeDef], error: Exception) -> None:
        super().__init__(str(error))
        self.objects = objects
        self.error = error


def delete_batch(
    s3: S3Client,
    bucket: str,
    prefix: str,
    objects: list[ObjectIdentifierTypeDef],
    stop: StopRequest,
) -> BatchResult:
    """Delete up to 1,000 objects; say what became of each one.

    Keys S3 reports with a transient error are sent again, at most
    ``KEY_ATTEMPTS`` times in all, with exponential backoff. A call that
    times out is sent again as two halves (once: a bound on the time one
    batch can take, at most three calls' worst case); a call
    that still fails is settled by listing the batch's key range. Deleting
    a key twice is harmless, so no retry does more than the first call meant.
    ``stop`` is looked at between the pages of that listing.
    """
    if len(objects) > DELETE_BATCH_LIMIT:
        raise ValueError(
            f"DeleteObjects takes at most {DELETE_BATCH_LIMIT} keys, got {len(objects)}"
        )
    result = BatchResult()
    batchable: list[ObjectIdentifierTypeDef] = []
    for item in objects:
        if XML_UNSAFE.search(item["Key"]):
            log.warning(
                "key has a character a DeleteObjects request cannot carry; deleting it alone",
                extra={"bucket": bucket, "key": repr(item["Key"])},
            )
            _delete_alone(s3, bucket, item, result)
        else:
            batchable.append(item)
    if batchable and result.fatal is None:
        _delete_in_pieces(s3, bucket, prefix, batchable, result, stop=stop)
    log.debug("deleted batch", extra={"bucket": bucket, "size": len(objects)})
    return result


def _delete_in_pieces(
    s3: S3Client,
    bucket: str,
    prefix: str,
    objects: list[ObjectIdentifierTypeDef],
    result: BatchResult,
    *,
    stop: StopRequest,
    may_split: bool = True,
) -> None:
    from botocore.exceptions import ReadTimeoutError  # noqa: PLC0415 - loaded by now

    try:
        _delete_with_key_retries(s3, bucket, objects, result)
    except _Unsettled as unsettled:
        if _stops_the_run(unsettled.error):
            result.failed += _failures(unsettled.objects, unsettled.error)
            result.fatal = unsettled.error
            return
        keys = unsettled.objects
        if may_split and isinstance(unsettled.error, ReadTimeoutError) and len(keys) > 1:
            log.info(
                "delete call timed out; retrying its keys in halves",
                extra={"bucket": bucket, "keys": len(keys)},
            )
            half = len(keys) // 2
            first, second = keys[:half], keys[half:]
            _delete_in_pieces(s3, bucket, prefix, first, result, stop=stop, may_split=False)
            if result.fatal is None:
                _delete_in_pieces(s3, bucket, prefix, second, result, stop=stop, may_split=False)
            return
        failed_before = len(result.failed)
        _settle(s3, bucket, prefix, unsettled, result, stop=stop)
        lost = _lost_the_connection(unsettled.error)
        if lost and len(result.failed) > failed_before and result.fatal is None:
            # The batch is counted by what is still listed; a network that
            # cannot be reached fails every later batch the same way, so the
            # run ends here with exit 3 instead of trying each of them.
            result.fatal = unsettled.error


def _delete_with_key_retries(
    s3: S3Client, bucket: str, objects: list[ObjectIdentifierTypeDef], result: BatchResult
) -> None:
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    todo = objects
    for attempt in range(1, KEY_ATTEMPTS + 1):
        try:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": todo, "Quiet": True})
            errors = _key_errors(response.get("Errors"), todo, bucket)
        except (ClientError, BotoCoreError, AwsError) as error:
            if isinstance(error, AwsError):
                result.problem = result.problem or str(error)
            raise _Unsettled(todo, error) from error
        retry: list[ObjectIdentifierTypeDef] = []
        for item in todo:
            answer = errors.get(listing.identity(item))
            code = answer.get("Code") if answer else None
            if answer is None or code == ALREADY_GONE:
                result.deleted.append(dict(item))
            elif code == CHANGED_SINCE_LISTED:
                result.skipped.append(dict(item))
            elif code in RETRYABLE_KEY_ERRORS and attempt < KEY_ATTEMPTS:
                retry.append(item)
            else:
                result.failed.append({**item, "Code": code, "Message": answer.get("Message")})
        if not retry:
            return
        todo = retry
        log.info("retrying keys", extra={"bucket": bucket, "keys": len(todo), "attempt": attempt})
        time.sleep(KEY_RETRY_BASE_SECONDS * 2 ** (attempt - 1))


def _key_errors(
    errors: Iterable[object] | None, sent: list[ObjectIdentifierTypeDef], bucket: str
) -> dict[tuple[str, str | None], Mapping[str, Any]]:
    """The answer's per-key errors by key and version; refuse one that names others."""
    by_identity = {listing.identity(item): item for item in sent}
    by_key = {item["Key"]: listing.identity(item) for item in sent}
    found: dict[tuple[str, str | None], Mapping[str, Any]] = {}
    for error in errors or []:
        if not isinstance(error, Mapping) or not isinstance(error.get("Key"), str):
            raise AwsError(f"inconsistent DeleteObjects answer from bucket {bucket}: {error!r}")
        identity = (error["Key"], error.get("VersionId"))
        if identity not in by_identity:
            identity = by_key.get(error["Key"], identity)
        if identity not in by_identity:
            raise AwsError(
                f"inconsistent DeleteObjects answer from bucket {bucket}: "
                f"it names key {error['Key']!r}, which was not in the request"
            )
        found[identity] = error
    return found


def _settle(
    s3: S3Client,
    bucket: str,
    prefix: str,
    unsettled: _Unsettled,
    result: BatchResult,
    *,
    stop: StopRequest,
) -> None:
    """Count a batch whose call failed for good by what is still listed.

    The server may have deleted the keys before the answer was lost (a
    connection reset, say). One listing of the batch's key range tells: a
    key no longer there counts as deleted, one there with another ETag as
    skipped, one unchanged as failed. When that listing fails too, or the
    batch is of versions, every key counts as failed; a re-run finishes.
    A stop (a signal, the deadline, a log that failed) ends that listing
    before its next page, like every listing: the keys it did not settle
    count as failed, and the stop ends the run once the batch is counted.
    """
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    objects, error = unsettled.objects, unsettled.error
    log.warning(
        "delete call failed; settling its keys",
        extra={
            "bucket": bucket,
            "keys": len(objects),
            "sample": [item["Key"] for item in objects[:FAILED_KEYS_SAMPLE]],
            "error_type": type(error).__name__,
            "error": str(error),
        },
    )
    listed: dict[str, str] | None = None
    if not any("VersionId" in item for item in objects):
        try:
            listed = _listed_etags(s3, bucket, prefix, [item["Key"] for item in objects], stop)
        except (ClientError, BotoCoreError, AwsError):
            listed = None
        except (Interrupted, OutOfTime, OutputFailed) as stopped:  # stop.check's
            listed = None
            result.fatal = stopped
    for item in objects:
        if listed is not None and item["Key"] not in listed:
            result.deleted.append(dict(item))
        elif listed is not None and listed[item["Key"]] != item.get("ETag"):
            result.skipped.append(dict(item))
        else:
            result.failed += _failures([item], error)


def _listed_etags(
    s3: S3Client, bucket: str, prefix: str, keys: list[str], stop: StopRequest
) -> dict[str, str] | None:
    """The ETag of each of ``keys`` still in the bucket; None if too far to read.

    Listed through ``stop_aware.pages``: a stop ends the listing before its
    next page (up to ``SETTLE_PAGES`` pages, each a call the stop would
    otherwise wait for).
    """
    wanted, last = set(keys), max(keys)
    start = min(keys)[:-1]  # every key from min(keys) on sorts after it
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket,
        Prefix=prefix,
        StartAfter=start,
        PaginationConfig={
            "PageSize": listing.LIST_PAGE_SIZE,
            "MaxItems": SETTLE_PAGES * listing.LIST_PAGE_SIZE,
        },
    )
    found: dict[str, str] = {}
    for page in stop_aware.pages(pages, stop):
        for item in page.get("Contents", []):
            key = listing.checked(item, "Key", str, bucket)
            if key > last:
                return found
            if key in wanted:
                found[key] = item.get("ETag", "")
        if not page.get("IsTruncated"):
            return found
    return None


def _delete_alone(
    s3: S3Client, bucket: str, item: ObjectIdentifierTypeDef, result: BatchResult
) -> None:
    """Delete one object with DeleteObject: its key goes in the URL, not in XML."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - loaded by now

    params: dict[str, Any] = {"Bucket": bucket, "Key": item["Key"]}
    if "VersionId" in item:
        params["VersionId"] = item["VersionId"]
    if "ETag" in item:
        params["IfMatch"] = item["ETag"]
    try:
        s3.delete_object(**params)
    except (ClientError, BotoCoreError) as error:
        code = error.response.get("Error", {}).get("Code") if isinstance(error, ClientError) else ""
        if code == ALREADY_GONE:
            result.deleted.append(dict(item))
        elif code == CHANGED_SINCE_LISTED:
            result.skipped.append(dict(item))
        else:
            result.failed += _failures([item], error)
            if _stops_the_run(error):
                result.fatal = error
    else:
        result.deleted.append(dict(item))


def _stops_the_run(error: Exception) -> bool:
    """Whether every later call would fail the same way: refused or expired
    credentials, a missing bucket, or a failure outside the call itself.
    (S3 answers an expired token with HTTP 400, so the code is looked at too.)"""
    from botocore.exceptions import (  # noqa: PLC0415 - loaded by now
        ClientError,
        ConnectionError,
        HTTPClientError,
    )
    from botocore.parsers import ResponseParserError  # noqa: PLC0415 - loaded by now

    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        code = error.response.get("Error", {}).get("Code")
        return status in (401, 403) or code == "NoSuchBucket" or code in CREDENTIAL_ERROR_CODES
    return not isinstance(error, ConnectionError | HTTPClientError | ResponseParserError | AwsError)


def _lost_the_connection(error: Exception) -> bool:
    """Whether the call could not reach S3 or lost its connection (refused,
    reset, no route, a connect timeout): not a read timeout, which a
    smaller batch may avoid."""
    from botocore.exceptions import (  # noqa: PLC0415 - loaded by now
        ConnectionClosedError,
        ConnectionError,
    )

    return isinstance(error, ConnectionError | ConnectionClosedError)


def _failures(objects: Iterable[ObjectIdentifierTypeDef], error: Exception) -> list[dict[str, Any]]:
    return [{**item, "Code": type(error).__name__, "Message": str(error)} for item in objects]
