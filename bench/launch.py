"""Run one command and report its wall time, peak RSS and exit code.

    python -I -S bench/launch.py STDERR_FILE COMMAND...

Prints ``<exit code> <seconds> <CPU seconds> <peak RSS KiB>`` on one line. The peak is
wait4's ``ru_maxrss`` of the child, which is exact for binaries and short
runs alike (a /proc poll can miss the last growth). Linux folds the RSS the
child had when it exec'd, a copy of this launcher's, into that figure, which
is why the benchmark starts this small process (about 8 MiB, printed as the
floor) instead of forking the benchmark itself, which holds moto's data.
The clock runs from just before the fork to the child's exit, so the
launcher's own start-up is not counted.
"""

import os
import sys
import time


def main() -> int:
    stderr_file, command = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: quiet stdout, stderr to a file for failures, then the tool
        try:
            devnull = os.open(os.devnull, os.O_RDWR)
            errors = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os.dup2(errors, 2)
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    cpu = usage.ru_utime + usage.ru_stime
    print(os.waitstatus_to_exitcode(status), f"{elapsed:.6f}", f"{cpu:.6f}", usage.ru_maxrss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
