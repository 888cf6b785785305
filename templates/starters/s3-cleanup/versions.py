"""Versions and delete markers, aged as S3 lifecycle ages them.

With ``--include-versions`` a noncurrent version ages from the moment it was
replaced, not from when it was written, and a delete marker goes once it is
alone: see ``VersionAges``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

__all__ = ["Version", "VersionAges"]


@dataclass(frozen=True)
class Version:
    key: str
    version_id: str
    modified: datetime
    marker: bool
    latest: bool


@dataclass
class VersionAges:
    """Decides, version by version, what ``--include-versions`` deletes.

    ListObjectVersions returns the versions of a key newest first, keys in
    order, and one key's versions may span pages; this keeps the state of
    the key being read across pages. As with S3 lifecycle's
    ``NoncurrentDays``, a noncurrent version's age counts from when it
    became noncurrent: the ``LastModified`` of the next newer version (or
    delete marker). The current version goes when it is older than the
    cutoff itself, so the current version of an unexpired object stays.

    A current delete marker older than the cutoff goes when it is the only
    version left. When its older versions are all deleted by this run, it is
    alone only once they are: dry-run reports it at once, and an apply run
    (``report_lone_later``) counts it in ``markers_later`` and removes it in
    a second listing after every batch settled (``only_lone_markers``), so a
    marker is never removed while a version it hides is still there.
    """

    cutoff: datetime
    prefix: str
    report_lone_later: bool = False
    only_lone_markers: bool = False
    exclude: set[tuple[str, str]] = field(default_factory=set)
    markers_later: int = 0
    key: str | None = None
    newer: datetime | None = None  # LastModified of the last entry seen of ``key``
    marker: Version | None = None  # the key's current delete marker, if it may go
    others: bool = False  # the key has entries besides its current one
    kept: bool = False  # some older entry of the key stays

    def see(self, entry: Version) -> Iterator[ObjectIdentifierTypeDef]:
        if entry.key != self.key:
            yield from self.end()  # also forgets the previous key's marker
            self.key, self.newer = entry.key, None
            self.others = self.kept = False
        current = self.newer is None
        since = entry.modified if current else self.newer
        self.newer = entry.modified
        if not current:
            self.others = True
        expired = since is not None and since < self.cutoff and entry.key.startswith(self.prefix)
        if current and entry.marker:
            self.marker = entry if expired else None
            return
        if not expired:
            self.kept = True
        elif not self.only_lone_markers:
            yield {"Key": entry.key, "VersionId": entry.version_id}

    def end(self) -> Iterator[ObjectIdentifierTypeDef]:
        marker, self.marker = self.marker, None
        if marker is None or (marker.key, marker.version_id) in self.exclude:
            return
        if not self.others:
            yield {"Key": marker.key, "VersionId": marker.version_id}
        elif not self.kept and not self.only_lone_markers:
            if self.report_lone_later:
                self.markers_later += 1
            else:
                yield {"Key": marker.key, "VersionId": marker.version_id}
