"""The greenlet model (``model.py``) and its private helpers."""
