# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The console script and ``python -m``: ``cli.main``, with a quiet start and end.

Why it works this way: a Ctrl-C or a SIGTERM can come at any moment of the
process, not only while the run's own handler (``signals``) is in place.
Before it, while the run's modules are imported (tens of milliseconds), a
Ctrl-C would print a ``KeyboardInterrupt`` traceback and a SIGTERM kill
the process with no exit code of ours; after it, while the interpreter
shuts down, the same. So the first statements of this module install a
handler that ends the process at once with 130 (SIGINT) or 143 (SIGTERM)
and prints nothing: before the run there is nothing to stop gracefully,
and after it the summary is written. ``cli`` puts the run's handler in its
place for the run and this one back after.

These handlers are installed at import, which is deliberate: importing
this module is the first thing the console script and ``__main__`` do once
the package is found, so it is the earliest moment the package's own code
runs (``__init__`` stays empty: the Lambda handler and the tests import
the package, and must not get these handlers; nothing but the console
script and ``python -m`` imports this module). They use the interpreter's
own ``_signal``, loaded before any script runs: ``signal`` imports ``enum``,
a window of milliseconds of its own.

A SIGINT that was ignored when the process started stays ignored, here and
in the run (``signals``): a shell starts a script's background jobs that
way so that a Ctrl-C meant for the script leaves them running, and the GNU
C Library manual asks programs to respect it ("Initial Signal Actions"),
as Python itself does. SIGTERM is always answered.
"""

try:  # the first statement: from here on, no signal prints a traceback
    import _signal  # type: ignore[import-not-found,unused-ignore]  # no stub in typeshed
    import os
    import sys

    def _end_at_once(signum: int, _frame: object) -> None:
        """Nothing to stop gracefully yet, or any more: end now, quietly."""
        os._exit(128 + signum)

    if _signal.getsignal(_signal.SIGINT) != _signal.SIG_IGN:
        _signal.signal(_signal.SIGINT, _end_at_once)
    _signal.signal(_signal.SIGTERM, _end_at_once)
except KeyboardInterrupt:  # the moment before the handler was in place
    raise SystemExit(128 + 2) from None

__all__ = ["main"]


def main() -> int:
    """Run the command once and return its exit code.

    This is where the job meets the runtime: the runtime never imports the
    job, it is handed it here (and in ``handler``).
    """
    # Only once the handler above is in place:
    from .runtime.run import moved  # noqa: PLC0415

    moved.install(__name__.rpartition(".")[0])  # a 0.7.0 job's imports, until 0.9.0
    from . import job  # noqa: PLC0415
    from .runtime.run.cli import main as run  # noqa: PLC0415

    return run(job, sys.argv[1:])
