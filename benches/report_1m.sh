#!/usr/bin/env bash
# Issue 18's figure: `report immutability` on an index of at least 1M requests, in the
# worst case for it: every workload write carries its body (`synth noise --shape
# heldout --bodies 100`), so every write is read from the store, checked, and each
# revision compared with the one before. `report stats` over the same index is the
# baseline of the same run. Whole process timed (start, index open, report, output).
#
#   bash benches/report_1m.sh            # RUNS=5
#   WORK=/data/r1m bash benches/report_1m.sh   # keep the logs and index there
#
# Needs ~3 GB of disk for the logs and ~0.5 GB for the index; the logs are made in
# about a minute and indexed in about 20 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK"
fi
[ -x /usr/bin/time ] || { echo "report_1m.sh needs /usr/bin/time (GNU time)"; exit 2; }

cargo build --release --quiet --bin kaudit --example synth
K=$PWD/target/release/kaudit
SYNTH=$PWD/target/release/examples/synth
INDEX=$WORK/index

if [ ! -d "$INDEX" ]; then
  # Two logs, the second days after the first: 1.02M requests together.
  "$SYNTH" noise --seed 7 --shape heldout --bytes 2300M --bodies 100 --out "$WORK/a.log"
  "$SYNTH" noise --seed 8 --shape heldout --bytes 560M --bodies 100 \
    --start 2026-11-25T00:00:00Z --out "$WORK/b.log"
  "$K" ingest --index "$INDEX" "$WORK/a.log" "$WORK/b.log" > /dev/null
  rm -f "$WORK/a.log" "$WORK/b.log"
fi
"$K" status --index "$INDEX" | grep '^requests'

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
measure() {
  local name=$1
  shift
  : > "$WORK/t.txt"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$WORK/time.txt" "$K" "$@" --index "$INDEX" > "$WORK/out" 2> /dev/null || true
    cat "$WORK/time.txt" >> "$WORK/t.txt"
  done
  printf '%-40s median %s s, peak RSS %s MB (max), %s bytes out\n' "$name" \
    "$(awk '{print $1}' "$WORK/t.txt" | median)" \
    "$(awk '{print int($2/1024)}' "$WORK/t.txt" | sort -n | tail -1)" \
    "$(wc -c < "$WORK/out")"
}
# Interleaved would be fairer on a noisy machine; each figure's runs are back to back,
# the baseline first and last so that a drift shows.
measure "report stats (baseline)" report stats
measure "report immutability (table)" report immutability
measure "report immutability --format json" report immutability --format json
measure "report stats (baseline, again)" report stats
"$K" report immutability --index "$INDEX" --format json \
  | jq -r '"revisions: \(.revisions | length), findings: \(.findings | length), workloads: \(.workloads | length)"' 2> /dev/null || true
