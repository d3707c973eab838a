#!/usr/bin/env bash
# Reproduces the README "Performance" figures on this machine, with baselines measured
# in the same run (machines here are small and noisy: compare ratios and medians).
#
#   bash benches/perf.sh     # RUNS=5 for more runs; WORK=DIR keeps the files in DIR
#
# Prints: ingest wall time (median of RUNS) and MB/s, peak RSS, index size as a share
# of the log, the read-only baseline (cat) and a jq baseline for one question, and
# query latency including process start on an index of about 1M requests.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK"
fi

cargo build --release --quiet --bin kaudit --example synth
K=target/release/kaudit
SYNTH=target/release/examples/synth
LOG=$WORK/audit.log
$SYNTH noise --seed 1 --bytes 1G --out "$LOG"
BYTES=$(stat -c %s "$LOG")
MB=$(awk -v b="$BYTES" 'BEGIN{printf "%.0f", b/1e6}')
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "log: $LOG, $MB MB, $(wc -l < "$LOG") lines"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
seconds() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); awk -v s="$s" -v e="$e" 'BEGIN{printf "%.4f\n", (e-s)/1e9}'; }

echo
echo "== baseline: read the log (cat > /dev/null), median of $RUNS"
for _ in $(seq "$RUNS"); do seconds cat "$LOG"; done | median | awk -v mb="$MB" '{printf "  %.2f s  (%.0f MB/s)\n", $1, mb/$1}'

echo "== kaudit ingest, fresh index each run, median of $RUNS"
: > "$WORK/ingest.txt"
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/index"
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" $K ingest --index "$WORK/index" "$LOG" 2> /dev/null
  cat "$WORK/time.txt" >> "$WORK/ingest.txt"
done
awk '{print $1}' "$WORK/ingest.txt" | median | awk -v mb="$MB" '{printf "  %.2f s  (%.0f MB/s end to end)\n", $1, mb/$1}'
awk '{print $2}' "$WORK/ingest.txt" | sort -n | tail -1 | awk '{printf "  peak RSS %.0f MB (largest of the runs)\n", $1/1024}'
INDEX_BYTES=$(du -sb "$WORK/index" | cut -f1)
awk -v i="$INDEX_BYTES" -v b="$BYTES" 'BEGIN{printf "  index %.0f MB = %.1f%% of the log\n", i/1e6, 100*i/b}'

if command -v jq > /dev/null; then
  echo "== baseline: jq answering one question (who is user system:kube-scheduler, count)"
  seconds jq -c 'select(.user.username == "system:kube-scheduler") | .auditID' "$LOG" \
    | awk -v mb="$MB" '{printf "  %.2f s  (%.0f MB/s)\n", $1, mb/$1}'
fi

echo "== growing the index to ~1M requests (a second, later log ingested into it)"
$SYNTH noise --seed 2 --start 2026-11-21T00:00:00Z --bytes 1200M --out "$WORK/audit2.log"
$K ingest --index "$WORK/index" "$WORK/audit2.log" 2>&1 | grep -E "requests:|read"
rm -f "$WORK/audit2.log"
echo "  requests in the index: $($K query --index "$WORK/index" --count '')"

echo "== query latency including process start, median of 21 runs, --limit 100"
for q in 'user:system:kube-scheduler' 'resource:secrets verb:get name:db-password' '@secret-reads' 'code:>=400' ''; do
  for _ in $(seq 21); do seconds $K query --index "$WORK/index" "$q"; done | median \
    | awk -v q="$q" '{printf "  %6.1f ms  %s\n", $1*1000, (q == "" ? "(everything, newest 100)" : q)}'
done
echo "  baseline: process start alone (kaudit --version)"
for _ in $(seq 21); do seconds $K --version; done | median | awk '{printf "  %6.1f ms\n", $1*1000}'

echo "== reports over the same index, median of ${REPORT_RUNS:=5} runs, including process start"
for r in 'stats' 'secrets' 'serviceaccounts' 'immutability' 'secrets --secret payments/db-password'; do
  # shellcheck disable=SC2086 # $r holds the report's arguments
  for _ in $(seq "$REPORT_RUNS"); do seconds $K report --index "$WORK/index" $r; done | median \
    | awk -v r="$r" '{printf "  %7.1f ms  report %s\n", $1*1000, r}'
done
echo "  matches: secrets $($K query --index "$WORK/index" --count 'resource:secrets'), ServiceAccount requests $($K query --index "$WORK/index" --count 'sa:*')"

echo "== counts by field (query --by) over the same index, median of $REPORT_RUNS runs, including process start"
# The noise has no 403s: its failures (404, 409) stand in for the README's code:403.
for a in 'user' 'ip --every 5m --min 10 code:>=400' 'ip --every 5m --min 10' 'user,verb --every 1h' \
  'group' 'ip,ua --top 0' 'name' 'name --every 1h'; do
  # shellcheck disable=SC2086 # $a holds the arguments
  for _ in $(seq "$REPORT_RUNS"); do seconds $K query --index "$WORK/index" --by $a; done | median \
    | awk -v a="$a" '{printf "  %7.1f ms  query --by %s\n", $1*1000, a}'
done

bash benches/tui.sh "$WORK/index"
