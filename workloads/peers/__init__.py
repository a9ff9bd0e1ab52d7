"""Fixed-code processes around a cell: the echo load generator and the reference echo server."""
