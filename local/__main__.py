"""`python -m local` (`make run`): the whole API on http://localhost:$PORT (default 4000), bound
to 127.0.0.1 only, its data kept in `.local-state/`. Stops on Ctrl+C or SIGTERM.
`python -m local --wipe` (`make wipe`) deletes the kept data. See docs/ops/local-run.md."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from local.config import DEFAULT_PORT, LocalConfig, LocalRunError
from local.console import ReadableConsole, open_log
from local.run import describe, fail, start
from local.server import log
from local.state import wipe


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description="The ConversionIQ API, locally.")
    parser.add_argument("--template", type=Path, default=None, help="SAM template (default: template.yaml)")
    parser.add_argument("--demo", action="store_true", help="seed the demo account (as LOCAL_DEMO=1)")
    parser.add_argument(
        "--wipe", action="store_true", help="delete the state folder (data, sessions, secrets)"
    )
    return parser.parse_args(argv)


def _wipe(config: LocalConfig) -> int:
    try:
        deleted = wipe(config.state_dir)
    except LocalRunError as error:
        return fail(error)
    log(f"deleted {config.state_dir}" if deleted else f"nothing to delete: {config.state_dir} does not exist")
    return 0


def _stop_on_sigterm(*_: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        config = LocalConfig.from_environ(os.environ, arguments.template)
        if arguments.wipe:
            return _wipe(config)
        if arguments.demo:
            config = replace(config, demo=True)
        if not config.json_logs:  # before any function creates its Logger on sys.stdout
            sys.stdout = ReadableConsole(sys.stdout, open_log(config.function_log))
        run = start(config)
    except LocalRunError as error:
        return fail(error)
    except OSError as error:  # e.g. the port is taken
        return fail(
            LocalRunError(f"cannot listen on 127.0.0.1:{os.environ.get('PORT') or DEFAULT_PORT}: {error}")
        )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    for line in describe(run):
        log(line)
    log(f"Local API ready on {run.url} (listening on 127.0.0.1:{run.server.port}; Ctrl+C stops it)")
    try:
        run.server.serve_forever()
    except KeyboardInterrupt:
        log("stopping")
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
