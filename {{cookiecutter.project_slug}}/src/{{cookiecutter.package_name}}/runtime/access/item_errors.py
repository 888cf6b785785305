# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""One item's failure, or the whole target's: part of the job contract.

Why it exists: a job that changes many items (log groups, keys, objects)
counts an item that fails and goes on, so one bad item never stops the
rest. But some failures are not about the item: expired or invalid
credentials and a network that cannot be reached fail every item the same
way, and trying each remaining item (each with its whole retry budget)
only hides the real problem behind a late exit 5. ``ItemErrors`` tells
them apart:

- credentials (exit 2) and network (exit 3) failures end the run at once,
  with their own exit code;
- access denied (exit 4) may be about one item (an SCP or a tag
  condition), so it ends the run only after ``DENIALS_IN_A_ROW`` denials
  with no success between them;
- anything else is the item's own failure: the job counts it and goes on.

Every job that acts item by item calls ``failed`` in its ``except`` and
``succeeded`` after each item that worked.
"""

from __future__ import annotations

from ..outcome.exit_codes import ExitCode, exit_code_for

__all__ = ["DENIALS_IN_A_ROW", "ItemErrors"]

# Denials in a row, with no success between them, that end the run (exit 4).
DENIALS_IN_A_ROW = 3

_ACCOUNT_WIDE = frozenset({ExitCode.CREDENTIALS, ExitCode.NETWORK})


class ItemErrors:
    """Decides, failure by failure, whether the job may go on to the next item."""

    def __init__(self, denials_in_a_row: int = DENIALS_IN_A_ROW) -> None:
        self._limit = denials_in_a_row
        self._denials = 0

    def failed(self, error: BaseException) -> None:
        """Return if ``error`` is the item's own (count it and go on);
        raise it if it is about the whole target."""
        code = exit_code_for(error)
        if code in _ACCOUNT_WIDE:
            raise error
        if code is ExitCode.PERMISSION:
            self._denials += 1
            if self._denials >= self._limit:
                raise error
            return

    def succeeded(self) -> None:
        """An item worked: earlier denials were about their items."""
        self._denials = 0
