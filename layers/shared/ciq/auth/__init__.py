"""Sign-in building blocks: the auth secret, session tokens, email and code hashing, verification
codes and their delivery, session cookies. No DynamoDB here (that is `ciq.store.auth_store`) and no
HTTP routing (that is `functions/auth` and `functions/authorizer`)."""
