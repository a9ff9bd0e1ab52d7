"""The errors a worker raises: a model's result is wrong, or the model cannot run in this interpreter.

A wrong result fails the benchmark; it is never timed or recorded. An unavailable model is skipped.
"""


class WrongResult(AssertionError):
    """A model returned a result that does not match what the workload demands."""


class ModelUnavailable(Exception):
    """Raised by a model module at import when this interpreter lacks what it needs (e.g. subinterpreters).

    The worker reports it at start-up instead of serving, and the harness skips the cell with the message,
    which must say why and how to get what is missing.
    """
