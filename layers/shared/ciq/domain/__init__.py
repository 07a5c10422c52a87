"""Pure business rules on an in-memory account. Nothing here imports boto3, httpx or HTTP code."""
