"""Run as `python -c` in a fresh interpreter by bench.cold (never imported): times the import and
init of one handler module and, in mode "first-get", the sandbox's first GET as well, with the
DynamoDB answer canned at botocore's `before-send` (the real client, serializer and parser run)."""

import sys
import time

started = time.perf_counter()
mode, module_name = sys.argv[1], sys.argv[2]
module = __import__(module_name)
imported = time.perf_counter()

import json  # noqa: E402 - after the timed import

result = {
    "import_ms": (imported - started) * 1000,
    "modules": len(sys.modules),
    "loaded": sorted(
        m for m in ("boto3", "botocore", "aws_xray_sdk", "httpx", "pydantic") if m in sys.modules
    ),
}
if mode == "first-get":
    with open(sys.argv[3]) as handle:
        fixture = json.load(handle)
    event, answer = fixture["event"], fixture["query_answer"].encode()
    before_request = time.perf_counter()
    from botocore.awsrequest import AWSResponse

    from ciq.store import clients

    class _Raw:
        def stream(self, **_: object) -> object:
            yield answer

    def _send(request: object, **_: object) -> AWSResponse:
        headers = {"content-type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, _Raw())  # type: ignore[attr-defined,arg-type]

    clients.dynamodb().meta.events.register("before-send.dynamodb", _send)  # type: ignore[arg-type]

    class _Context:
        function_name, function_version, memory_limit_in_mb = "ciq-bench", "$LATEST", 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ciq-bench"
        aws_request_id = "00000000-0000-0000-0000-000000000000"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 10_000  # the function's Timeout: a real budget, as in Lambda

    response = module.lambda_handler(event, _Context())
    result["first_get_ms"] = (time.perf_counter() - before_request) * 1000
    result["status"] = response["statusCode"]
print(json.dumps(result))
