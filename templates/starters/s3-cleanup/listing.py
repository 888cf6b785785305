"""Reading a listing: page size, and each item's fields checked before use.

A listing item without a key, a date or an ETag is an answer that makes no
sense: ``checked`` turns it into an ``AwsError`` (exit 5), never a crash or
an impossible count.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .runtime.outcome.errors import AwsError

__all__ = ["LIST_PAGE_SIZE", "checked", "describe", "identity"]

LIST_PAGE_SIZE = 1000  # the largest page ListObjectsV2 returns


def checked(item: Mapping[str, Any], name: str, kind: type, bucket: str) -> Any:
    """``item[name]`` if it is a usable ``kind``; otherwise the answer is malformed."""
    value = item.get(name)
    usable = isinstance(value, kind)
    if isinstance(value, str):
        usable = usable and value != ""
    if isinstance(value, datetime):
        usable = usable and value.tzinfo is not None  # comparable with the cutoff
    if not usable:
        raise AwsError(
            f"malformed listing of bucket {bucket}: an item has no usable {name} "
            f"(got {value!r} in {sorted(item)})"
        )
    return value


def identity(item: Mapping[str, Any]) -> tuple[str, str | None]:
    """What names one object, or one version of it: the key, and the version id."""
    return item["Key"], item.get("VersionId")


def describe(item: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a log line that name the object (``key``, ``version_id``)."""
    described = {"key": item["Key"]}
    if "VersionId" in item:
        described["version_id"] = item["VersionId"]
    return described
