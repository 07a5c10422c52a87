"""HTTP edge shared by every function: routing wrapper, CORS, identity, body parsing, error mapping."""
