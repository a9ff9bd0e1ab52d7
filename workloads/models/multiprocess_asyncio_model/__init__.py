"""The multiprocess_asyncio model (``model.py``) and its private helpers."""
