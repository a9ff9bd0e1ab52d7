"""The suite's own tests (run with ``pytest tests``)."""
