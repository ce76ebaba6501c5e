"""``python -m pygenome``: the command line. When ``pygenome run`` names a file in ``PYGENOME_PEAK_RSS`` (it does for
each task it runs), the process writes its peak resident memory there as it exits: the kernel's high-water mark of
this program's own memory (``VmHWM``, counted from its exec; ``ru_maxrss`` would include the RSS of the process that
forked it)."""

import atexit
import os

from pygenome.cli import main


def _report_peak(path: str) -> None:
    try:
        with open("/proc/self/status") as status:
            kilobytes = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError):
        return  # not Linux: no figure
    with open(path, "w") as out:
        out.write(str(kilobytes))


if os.environ.get("PYGENOME_PEAK_RSS"):
    atexit.register(_report_peak, os.environ["PYGENOME_PEAK_RSS"])
raise SystemExit(main())
