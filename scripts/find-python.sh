#!/usr/bin/env bash
# Prints the path of the newest Python >= 3.11 on this machine, preferring 3.13 (the Lambda runtime).
# Looks at PATH first, then at pyenv's installed versions, so no machine-specific path is hard-coded.
set -euo pipefail
for v in 3.13 3.12 3.11; do
  if command -v "python$v" >/dev/null 2>&1 && "python$v" -c 'import sys' >/dev/null 2>&1; then
    command -v "python$v"; exit 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    best=$(pyenv versions --bare 2>/dev/null | grep -E "^$v(\.[0-9]+)?$" | sort -V | tail -n 1 || true)
    if [ -n "$best" ] && [ -x "$(pyenv root)/versions/$best/bin/python" ]; then
      echo "$(pyenv root)/versions/$best/bin/python"; exit 0
    fi
  fi
done
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then command -v python3; exit 0; fi
echo "no Python >= 3.11 found (install 3.13, the Lambda runtime)" >&2
exit 1
