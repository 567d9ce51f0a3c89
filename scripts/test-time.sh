#!/usr/bin/env bash
# test-time.sh [ROUNDS]: the CDK tests against one bare synth, side by side.
#
# Each round runs, in turn: the app alone synthesizing into a new directory
# (bundling and the CloudFormation validator on: what the root package's smoke
# test does), `go test -count=1 .` and `go test -count=1 ./stacks`; then the
# whole `go test -count=1 ./...`. Everything is built once before the first
# round, so the rounds measure warm runs. Prints medians and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 CDK_DEFAULT_REGION=us-east-1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/app" .
go test -count=1 -run '^$' ./... >/dev/null
context=$(python3 -c 'import json; print(json.dumps(json.load(open("cdk.json"))["context"]))')

seconds() { # CMD...: wall seconds of one run
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
synth() { CDK_OUTDIR="$work/out.$RANDOM" CDK_CONTEXT_JSON="$context" "$work/app"; }

for ((r = 1; r <= rounds; r++)); do
  echo "synth $(seconds synth)"
  echo "root $(seconds go test -count=1 .)"
  echo "stacks $(seconds go test -count=1 ./stacks)"
  echo "all $(seconds go test -count=1 ./...)"
done | tee "$work/times" >&2

python3 - "$work/times" <<'PY'
import statistics, sys
times = {}
for line in open(sys.argv[1]):
    name, s = line.split()
    times.setdefault(name, []).append(float(s))
med = {k: statistics.median(v) for k, v in times.items()}
for k in ("synth", "root", "stacks", "all"):
    print(f"{k:7s} median {med[k]:6.2f} s over {len(times[k])} rounds")
print(f"root / synth   = {med['root'] / med['synth']:.2f}")
print(f"stacks / synth = {med['stacks'] / med['synth']:.2f}")
PY
