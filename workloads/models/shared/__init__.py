"""Code more than one model runs: asyncio coroutines, the blocking echo client, a listener."""
