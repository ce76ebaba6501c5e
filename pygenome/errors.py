"""The exceptions a user should ever see from pygenome.

An :class:`InputError` says what is wrong, in which file and record, and how to fix it. The command line prints its
message without a traceback and exits with status 2. :class:`Stopped` is a run stopped by a signal (exit 128 + the
signal's number, as a shell reports it). Any other exception is a bug in pygenome.
"""

import signal


class InputError(Exception):
    """Bad input: a file, record or parameter that the user can fix."""


class Stopped(Exception):
    """Stopped by a signal (SIGTERM, SIGINT, SIGHUP) that was passed on to the running task."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}; finished tasks are kept: run the same command "
                         "again to go on")
