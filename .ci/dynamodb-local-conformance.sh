#!/usr/bin/env bash
# Runs the DynamoDB adapter and ingest integration tests against AWS's own DynamoDB Local (shipped in
# the npm package amplify-dynamodb-simulator; needs Java), to catch where dynalite and DynamoDB differ.
#
# DynamoDB Local has no option to bind to 127.0.0.1 only, so the server and the tests run together in
# a new network namespace that has nothing but a loopback interface.
set -euo pipefail
cd "$(dirname "$0")/.."

version=2.9.30
cache=".ci/.cache/amplify-dynamodb-simulator-${version}"
jar_dir="${cache}/package/emulator"
if [ ! -f "${jar_dir}/DynamoDBLocal.jar" ]; then
  echo "conformance: fetching amplify-dynamodb-simulator@${version} (DynamoDB Local) from the npm registry"
  mkdir -p "${cache}"
  (cd "${cache}" && npm pack --silent "amplify-dynamodb-simulator@${version}" >/dev/null && tar xzf "amplify-dynamodb-simulator-${version}.tgz")
fi

if ! command -v java >/dev/null 2>&1; then
  echo "conformance: java not found, installing a headless JRE"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
fi
if ! command -v ip >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2 >/dev/null
fi

exec unshare --net bash .ci/dynamodb-local-conformance-inner.sh "$(cd "${jar_dir}" && pwd)"
