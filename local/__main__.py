"""`python -m local` (`make run`): the whole API on http://localhost:$PORT (default 3000), bound
to 127.0.0.1 only. Stops on Ctrl+C or SIGTERM. See docs/ops/local-run.md."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from local.config import LocalConfig, LocalRunError
from local.run import describe, fail, start
from local.server import log


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local", description="The ConversionIQ API, locally.")
    parser.add_argument("--template", type=Path, default=None, help="SAM template (default: template.yaml)")
    return parser.parse_args(argv)


def _stop_on_sigterm(*_: object) -> NoReturn:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        config = LocalConfig.from_environ(os.environ, arguments.template)
        run = start(config)
    except LocalRunError as error:
        return fail(error)
    except OSError as error:  # e.g. the port is taken
        return fail(LocalRunError(f"cannot listen on 127.0.0.1:{os.environ.get('PORT') or '3000'}: {error}"))
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
