"""The fixed amount of pure-Python CPU work a ``cpu_mixed`` task does after its IO.

``burn(iterations, start)`` adds up ``iterations`` consecutive integers from
``start`` in a Python loop: the interpreter executes every iteration (and
holds the GIL while it does), and the result has a closed form, so checking it
costs nothing.
"""

from __future__ import annotations


def burn(iterations: int, start: int) -> int:
    total = 0
    for value in range(start, start + iterations):
        total += value
    return total


def expected_burn(iterations: int, start: int) -> int:
    return iterations * start + iterations * (iterations - 1) // 2
