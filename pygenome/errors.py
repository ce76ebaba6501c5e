"""The one exception type a user should ever see from pygenome.

An :class:`InputError` says what is wrong, in which file and record, and how to fix it. The command line prints its
message without a traceback and exits with status 2; any other exception is a bug in pygenome.
"""


class InputError(Exception):
    """Bad input: a file, record or parameter that the user can fix."""
