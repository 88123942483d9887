#!/usr/bin/env bash
# Inside the loopback-only network namespace: start DynamoDB Local, run the tests, stop it.
set -euo pipefail
jar_dir="$1"
port=8765
ip link set lo up

log=$(mktemp)
(cd "${jar_dir}" && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
  -inMemory -disableTelemetry -port "${port}") >"${log}" 2>&1 &
java_pid=$!
trap 'kill ${java_pid} 2>/dev/null || true; wait ${java_pid} 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then break; fi
  if ! kill -0 "${java_pid}" 2>/dev/null; then cat "${log}"; echo "conformance: DynamoDB Local exited"; exit 1; fi
  sleep 0.2
done
echo "conformance: DynamoDB Local on 127.0.0.1:${port}: $(head -c 300 "${log}" | tr '\n' ' ')"

OKEPAY_TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:${port}" npx vitest run \
  test/integration/dynamodb-event-store.test.ts test/integration/ingest-handler.test.ts
