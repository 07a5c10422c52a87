"""Use cases: each route calls one of these; they join the domain rules and the store."""
