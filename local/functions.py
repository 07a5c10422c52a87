"""Loading each function's real handler (functions/<dir>/app.py) into this process.

Every function's module is imported by file path under its own module name, so two functions'
`app.py` never collide. While it is imported, its code folder is first on sys.path (Lambda's
/var/task) for sibling imports; those sibling modules are then taken out of sys.modules again, so
the next function's `models.py` is its own. A function that fails to import is reported at start
and its routes answer 502, as a function whose init fails does behind API Gateway."""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from local.stack import FunctionSpec

    Handler = Callable[[dict[str, Any], Any], Any]

MODULE_PREFIX = "ciq_local_fn_"

# Handlers run one invocation at a time per process, as in a Lambda sandbox. Powertools keeps the
# request being handled in process-wide state: the REST resolver's `current_event` and
# `lambda_context` are class attributes (shared by every function loaded here), Logger keeps the
# correlation id and Lambda context keys, Metrics the pending metric set. Two handlers running at once
# would route or answer one request with the other's event. Every call of a handler (the gateway's,
# the authorizer's, the WebSocket channel's) holds this lock around the whole call, decorators
# included; the HTTP and WebSocket servers stay threaded, only the handler calls queue.
ONE_INVOCATION_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class LoadedFunction:
    spec: FunctionSpec
    handler: Handler | None
    error: str | None  # the import traceback when the handler could not be loaded


def add_layers(functions: Iterable[FunctionSpec]) -> None:
    """Layer folders go on sys.path once, like /opt/python in every Lambda sandbox."""
    for directory in dict.fromkeys(d for function in functions for d in function.layer_dirs):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))


def load_functions(
    functions: Iterable[FunctionSpec], import_time_env: Mapping[str, Mapping[str, str]]
) -> dict[str, LoadedFunction]:
    return {
        function.logical_id: _load(function, import_time_env.get(function.logical_id, {}))
        for function in functions
    }


def _load(function: FunctionSpec, import_env: Mapping[str, str]) -> LoadedFunction:
    try:
        handler = _import_handler(function, import_env)
    except Exception:  # any init failure becomes this function's 502, as in Lambda
        return LoadedFunction(spec=function, handler=None, error=traceback.format_exc())
    return LoadedFunction(spec=function, handler=handler, error=None)


def _import_handler(function: FunctionSpec, import_env: Mapping[str, str]) -> Handler:
    module_path, _, attribute = function.handler.rpartition(".")
    if not module_path or not attribute:
        raise ValueError(f"Handler {function.handler!r} is not <module>.<function>")
    source = function.code_dir / (module_path.replace(".", "/") + ".py")
    if not source.is_file():
        raise FileNotFoundError(f"{source} does not exist (CodeUri + Handler of {function.logical_id})")
    # A top-level name (no parent package), unique per function: `app` stays importable as itself.
    module_name = f"{MODULE_PREFIX}{function.logical_id}_{module_path.replace('.', '_')}"
    with _function_import_scope(function.code_dir, import_env):
        spec = importlib.util.spec_from_file_location(module_name, source)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {source}")
        module = importlib.util.module_from_spec(spec)
        # Registered before executing, as `import` does: dataclasses and pydantic look it up.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise AttributeError(f"{source} has no callable {attribute!r}")
    return handler  # type: ignore[no-any-return]


class _function_import_scope:
    """Code folder first on sys.path and the function's import-time variables set, for the
    duration of one import; afterwards both are undone and the folder's modules are forgotten."""

    def __init__(self, code_dir: Path, import_env: Mapping[str, str]) -> None:
        self.code_dir = code_dir
        self.import_env = dict(import_env)
        self.saved_env: dict[str, str | None] = {}

    def __enter__(self) -> None:
        sys.path.insert(0, str(self.code_dir))
        for name, value in self.import_env.items():
            self.saved_env[name] = os.environ.get(name)
            os.environ[name] = value

    def __exit__(self, *_: object) -> None:
        sys.path.remove(str(self.code_dir))
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for name, module in list(sys.modules.items()):
            if _defined_in(module, self.code_dir) and not name.startswith(MODULE_PREFIX):
                del sys.modules[name]


def _defined_in(module: Any, directory: Path) -> bool:
    file = getattr(module, "__file__", None)
    return isinstance(file, str) and Path(file).resolve().is_relative_to(directory)
