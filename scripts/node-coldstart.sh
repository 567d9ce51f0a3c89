#!/usr/bin/env bash
# node-coldstart.sh [ROUNDS] [ITERATIONS]: the function's cold start beside a
# Node.js function that starts the render with @remotion/lambda-client, under
# the same emulator, against the same stand-in.
#
# Installs @remotion/lambda-client into a temporary directory (never into the
# module tree: a node_modules there breaks go ./...), builds the test binary
# once, then runs BenchmarkColdStartNode and BenchmarkColdStart's
# untracked/start (process start to the first answered start) in turn, the
# order flipped each round. Prints each round's p50 and p95, their medians
# and the ratio Node/Go.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
iterations=${2:-20}
version=${REMOTION_CLIENT_VERSION:-4.0.527}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm install --prefix "$work/client" --no-audit --no-fund --loglevel=error "@remotion/lambda-client@$version" >&2
go test -c -o "$work/lambda.test" ./lambda
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), node $(node --version)" >&2

bench() { # NAME PATTERN: one run of the benchmark, as "NAME p50 p95"
  (cd lambda && REMOTION_NODE_CLIENT_DIR="$work/client" "$work/lambda.test" -test.run '^$' \
    -test.bench "$2" -test.benchtime "${iterations}x") |
    awk -v name="$1" '/^Benchmark/ { for (i = 1; i < NF; i++) { if ($(i+1) == "p50-ms") p50 = $i; if ($(i+1) == "p95-ms") p95 = $i }; found = 1 }
      END { if (!found) exit 1; print name, p50, p95 }'
}

for ((r = 1; r <= rounds; r++)); do
  go=(go '^BenchmarkColdStart$/^untracked$/^start$')
  node=(node '^BenchmarkColdStartNode$/^untracked$/^start$')
  if ((r % 2)); then first=("${go[@]}") second=("${node[@]}"); else first=("${node[@]}") second=("${go[@]}"); fi
  bench "${first[@]}"
  bench "${second[@]}"
done | tee "$work/times" >&2

python3 - "$work/times" <<'PY'
import statistics, sys
p50, p95 = {}, {}
for line in open(sys.argv[1]):
    name, a, b = line.split()
    p50.setdefault(name, []).append(float(a))
    p95.setdefault(name, []).append(float(b))
m = {n: (statistics.median(p50[n]), statistics.median(p95[n])) for n in p50}
for n in ("go", "node"):
    print(f"{n:5} median p50 {m[n][0]:8.2f} ms   median p95 {m[n][1]:8.2f} ms   ({len(p50[n])} rounds)")
print(f"node/go p50 {m['node'][0] / m['go'][0]:.1f}x   p95 {m['node'][1] / m['go'][1]:.1f}x")
PY
