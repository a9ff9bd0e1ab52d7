"""The error a worker raises when a model's result is wrong.

A wrong result fails the benchmark; it is never timed or recorded.
"""


class WrongResult(AssertionError):
    """A model returned a result that does not match what the workload demands."""
