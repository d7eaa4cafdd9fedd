#!/usr/bin/env bash
# Starts a demo operation, watches it over Server-Sent Events and cancels it, with curl alone.
# API (default http://127.0.0.1:4000/graphql) and TOKEN (e.g. $(npm run -s token -- --sub alice)).
set -euo pipefail
API=${API:-http://127.0.0.1:4000/graphql}
: "${TOKEN:?set TOKEN to a bearer token}"
auth=(-H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json')

started=$(curl -sS --fail-with-body "$API" "${auth[@]}" -d '{
  "query": "mutation { startOperation(input: { kind: \"demo.sleep\", input: { ms: 60000, steps: 60 } }) { ... on StartOperationSuccess { operation { id } } ... on Error { message } } }"
}')
id=$(printf '%s' "$started" | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$id" ] || { echo "start failed: $started" >&2; exit 1; }

# The watch: each state is "id: <revision>", "event: next", "data: {...}"; after the terminal
# state comes "event: complete" and curl exits. (-N: print events as they come.)
curl -sS -N "$API" "${auth[@]}" -H 'Accept: text/event-stream' \
  -d "{\"query\": \"subscription { operationUpdated(id: \\\"$id\\\") { status revision } }\"}" &
watcher=$!

curl -sS --fail-with-body "$API" "${auth[@]}" -d "{
  \"query\": \"mutation { cancelOperation(input: { id: \\\"$id\\\", reason: \\\"not needed\\\" }) { __typename } }\"
}" >/dev/null
wait "$watcher"
