"""Builds the load generator's C hot loop (``workloads.peers._echo_loop``) with ``pip install -e .``.

Everything else about the project is in ``pyproject.toml``. The extension is optional: where it
cannot be compiled the load generator falls back to its pure-Python loop and every result says
which ran (``generator_impl``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "workloads.peers._echo_loop",
            ["workloads/peers/_echo_loop.c"],
            extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            optional=True,
        )
    ]
)
