"""Where things are and how a function is run in this process: the repo root, the function list
from template.yaml (never a second list), the environment a function sees, and events/."""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.events import with_body

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "shared"  # the working tree's; layer_dir() for another tree
EVENTS = ROOT / "events"
TABLE_NAME = "ciq-bench-data"
USER_DATA_PATH = "/api/user-data"

# What every function sees here: fake credentials (nothing reaches AWS), one region, the table.
FUNCTION_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_LAMBDA_FUNCTION_NAME": "ciq-bench",
    "STAGE": "bench",
    "TABLE_NAME": TABLE_NAME,
    "CORS_ALLOW_ORIGINS": "https://app.example.com",
    "EMAIL_SENDER": "outbox",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "ConversionIQ",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
_UNSET = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_CONFIG_FILE")


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_dir: Path
    module: str  # the handler's module, e.g. "app"
    attribute: str  # the handler's name, e.g. "lambda_handler"
    paths: tuple[str, ...]  # the API paths its events declare


def functions(root: Path = ROOT) -> list[Function]:
    """Every AWS::Serverless::Function of `root`'s template.yaml, in template order, with its code
    under `root` (the working tree, or a baseline's copy: bench/baseline.py)."""
    from local.template import load_template, resources_of_type

    found = []
    template = load_template(root / "template.yaml")
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        module, _, attribute = str(props["Handler"]).rpartition(".")
        paths = tuple(
            str(event["Properties"]["Path"])
            for event in (props.get("Events") or {}).values()
            if event.get("Type") == "Api" and "Path" in event.get("Properties", {})
        )
        found.append(Function(logical_id, root / str(props["CodeUri"]), module, attribute, paths))
    return found


def function_serving(path: str, root: Path = ROOT) -> Function:
    return next(f for f in functions(root) if path in f.paths)


def layer_dir(root: Path) -> Path:
    """The shared layer's directory (what Lambda mounts as /opt/python) of a tree."""
    return root / "layers" / "shared"


def child_env(pythonpath: list[Path], extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _UNSET and not k.startswith("PYTHON")}
    env.update(FUNCTION_ENV)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    env.update(extra or {})
    return env


def use_function_env(layer: Path = LAYER_DIR) -> None:
    """This process becomes a function's sandbox: its environment and /opt/python (the layer),
    ahead of any other `ciq` on the path. Call it before anything imports `ciq`."""
    for name in _UNSET:
        os.environ.pop(name, None)
    os.environ.update(FUNCTION_ENV)
    if str(layer) in sys.path:
        sys.path.remove(str(layer))
    sys.path.insert(0, str(layer))


def load_handler(function: Function) -> Any:
    """The real handler, imported from its file under a name of its own (as local/functions.py does)."""
    source = function.code_dir / (function.module.replace(".", "/") + ".py")
    name = f"bench_fn_{function.logical_id}"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(function.code_dir))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(function.code_dir))
    return getattr(module, function.attribute)


def api_event(
    name: str, user_id: str, body: Any = None, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """A real API Gateway event from events/<name>.json for `user_id`."""
    event: dict[str, Any] = copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))
    event["requestContext"]["authorizer"] = {
        "principalId": user_id,
        "userId": user_id,
        "sessionId": "s-bench",
    }
    if body is not None:
        with_body(event, json.dumps(body))
    if headers is not None:
        event["headers"] = {**(event.get("headers") or {}), **headers}
        event["headers"] = {k: v for k, v in event["headers"].items() if v}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    return event


class LambdaContext:
    function_name = "ciq-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ciq-bench"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/ciq-bench"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
