"""Performance benchmark of the functions (`make bench`, `python -m bench`): cold import and init
against a reference Powertools stack, warm latency of /api/user-data, DynamoDB calls and capacity
units. Writes docs/performance.md. Nothing here is imported by the functions or the layer."""
