"""The exception types that the CLI turns into a one-line message instead of a traceback."""


class UserError(Exception):
    """Bad input from the user: the message names the problem and the fix, on one line."""


class FolderRefused(UserError):
    """The run's folder holds another run, or another process works in it: the run is refused, and nothing is
    written into that folder (a sweep job records no failure there either)."""
