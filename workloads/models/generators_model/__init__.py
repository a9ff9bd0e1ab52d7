"""The generators model (``model.py``) and its private helpers."""
