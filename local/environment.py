"""The process environment of the local run. In Lambda each function has its own; here all
functions share one os.environ, so the union of their variables (Globals + each function's own,
resolved from the template) is set once, and two functions wanting different values for the same
variable stop the start: one of them would silently run with the other's configuration.

The exception is a variable read only while a module is imported: POWERTOOLS_SERVICE_NAME is read
by Powertools' Logger/Metrics when they are created at module level. It is set to each function's
own value while that function's module is imported, and left unset afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from local.config import FAKE_CREDENTIALS, LOCAL_FUNCTION_VARIABLES, LocalRunError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, MutableMapping

    from local.config import LocalConfig
    from local.stack import FunctionSpec

IMPORT_TIME_VARIABLES = frozenset({"POWERTOOLS_SERVICE_NAME"})
# boto3 would send SSM (and everything else) to these; the contract keeps all but DynamoDB embedded.
_FOREIGN_ENDPOINTS_PREFIX = "AWS_ENDPOINT_URL"
_CREDENTIAL_SOURCES = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE")


@dataclass(frozen=True)
class LocalEnvironment:
    shared: dict[str, str]  # set in os.environ for the whole run
    removed: tuple[str, ...]  # unset from os.environ
    import_time: dict[str, dict[str, str]]  # function logical id -> its own import-time variables
    replaced: dict[str, tuple[str, str]]  # name -> (shell value, local value), to tell the developer


def build_environment(
    functions: Iterable[FunctionSpec], config: LocalConfig, shell: Mapping[str, str]
) -> LocalEnvironment:
    functions = list(functions)
    shared = _union(functions)
    shared.update(LOCAL_FUNCTION_VARIABLES)
    shared["LOCAL_OUTBOX_PATH"] = config.outbox_path
    shared["AWS_REGION"] = shared["AWS_DEFAULT_REGION"] = config.region
    removed = [
        name
        for name in shell
        if name.startswith(_FOREIGN_ENDPOINTS_PREFIX) and name != "AWS_ENDPOINT_URL_DYNAMODB"
    ]
    # DynamoDB on a real endpoint (e.g. AWS) needs the developer's credentials; otherwise fake ones,
    # so that nothing can reach a real account by accident.
    if not _keeps_real_credentials(config, shell):
        shared.update(FAKE_CREDENTIALS)
        removed.append("AWS_PROFILE")  # a profile would override the fake keys
    replaced = {
        name: (shell[name], value)
        for name, value in shared.items()
        if name in shell and shell[name] != value and name not in FAKE_CREDENTIALS
    }
    return LocalEnvironment(
        shared=shared,
        removed=tuple(name for name in removed if name in shell),
        import_time={
            function.logical_id: {k: v for k, v in function.environment.items() if k in IMPORT_TIME_VARIABLES}
            for function in functions
        },
        replaced=replaced,
    )


def _union(functions: list[FunctionSpec]) -> dict[str, str]:
    union: dict[str, str] = {}
    owner: dict[str, str] = {}
    conflicts = []
    for function in functions:
        for name, value in function.environment.items():
            if name in IMPORT_TIME_VARIABLES:
                continue
            if name in union and union[name] != value:
                conflicts.append(f"{name}: {owner[name]}={union[name]!r} but {function.logical_id}={value!r}")
                continue
            union[name] = value
            owner.setdefault(name, function.logical_id)
    if conflicts:
        raise LocalRunError(
            "functions share one process locally, so they cannot have different values for the same "
            "environment variable:\n  " + "\n  ".join(conflicts)
        )
    return union


def _keeps_real_credentials(config: LocalConfig, shell: Mapping[str, str]) -> bool:
    return config.dynamodb_endpoint is not None and any(shell.get(name) for name in _CREDENTIAL_SOURCES)


def apply(environment: LocalEnvironment, environ: MutableMapping[str, str]) -> None:
    for name in environment.removed:
        environ.pop(name, None)
    environ.update(environment.shared)
    for name in IMPORT_TIME_VARIABLES:
        environ.pop(name, None)
