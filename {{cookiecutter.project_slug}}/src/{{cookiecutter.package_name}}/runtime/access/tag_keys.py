# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""When a tag key is an exemption tag, or only nearly one: for every job
that lets a tag keep a resource out of its changes.

Why it exists: a tag that should exempt a resource but is spelt a little
differently (another letter case, a space, a full-width or look-alike
letter) is a person's clear intent, and the job must not act against it
silently. IAM and CloudWatch Logs compare tag keys in any letter case, so
``same_key`` does too; ``nearly_matches`` takes in the near misses, which a
job treats as exempt with a warning: a wrong exemption costs a warning, a
wrong change costs an outage or deleted logs. Standard library only.
"""

from __future__ import annotations

import unicodedata

__all__ = ["nearly_matches", "same_key", "skeleton"]


def same_key(key: str, wanted: str) -> bool:
    """Whether ``key`` is ``wanted`` as AWS compares tag keys: in any case."""
    return key.casefold() == wanted.casefold()


def skeleton(key: str) -> str:
    """A tag key's letters and digits, NFKC-normalised and casefolded: what
    is left when case, width, spaces and punctuation are set aside."""
    return "".join(char for char in unicodedata.normalize("NFKC", key).casefold() if char.isalnum())


def nearly_matches(key: str, wanted: str) -> bool:
    """Whether ``key`` only nearly matches the tag key ``wanted``: their
    skeletons are as long, and wherever they differ, one of the two
    characters is outside ASCII.

    Equal skeletons are the same key told apart by case, width, spaces or
    punctuation. Where they differ only at non-ASCII characters, a letter
    may have been swapped for one from another script that looks the same
    (Cyrillic a or e, dotless i, Greek kappa): Unicode's confusables data
    is not at hand, so every such swap counts, which also takes in an
    unrelated key of as many letters, all outside ASCII where they differ."""
    mine, target = skeleton(key), skeleton(wanted)
    if not target or len(mine) != len(target):
        return False
    pairs = zip(mine, target, strict=True)
    return all(a == b or not (a.isascii() and b.isascii()) for a, b in pairs)
