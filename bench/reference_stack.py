"""The reference a function's cold start is compared with: the full Powertools stack initialised the
usual way at module scope (docs/performance.md, "Cold start"). Imported by `bench.cold` in a fresh
interpreter; never by the functions."""

from __future__ import annotations

import boto3
import httpx
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.parameters import SSMProvider

logger = Logger()
metrics = Metrics()
tracer = Tracer()
app = APIGatewayRestResolver(enable_validation=True)
table = boto3.resource("dynamodb").Table("ciq-bench")
ssm = SSMProvider()
http = httpx.Client()


@app.get("/api/ping")
def ping() -> dict[str, str]:
    return {"status": "ok"}
