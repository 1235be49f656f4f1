"""Errors for bad input: each prints as one line and the CLI exits 2 on it."""


class MembarrierSpecError(ValueError):
    """Bad input to the model, the CLI or a tool; ``str()`` is a one-line message."""


class ConfigError(MembarrierSpecError):
    """A Config field out of its domain, an unknown field, or an unknown preset."""


class TaskError(MembarrierSpecError):
    """An operation named a task id that does not exist or has exited."""


class Terminated(Exception):
    """SIGTERM arrived while TLC ran: unwind (killing TLC, removing temporary files) and exit 143."""
