#!/usr/bin/env bash
# The TUI's latencies on an index, driven in tmux at 160x48 like a user would:
#
#   bash benches/tui.sh INDEX      # perf.sh runs it on its ~1M-request index
#
# With $KAUDIT_TUI_TRACE set, kaudit writes its own figures: first frame and first
# results (from the start of `kaudit tui`), key read to frame drawn, and query sent
# to its first page drawn. Prints the median of each, with the slowest key.
set -euo pipefail
cd "$(dirname "$0")/.."
INDEX=${1:?usage: benches/tui.sh INDEX}
command -v tmux > /dev/null || { echo "== TUI: skipped (tmux is not installed)"; exit 0; }
cargo build --release --quiet --bin kaudit
K=$PWD/target/release/kaudit
WORK=$(mktemp -d)
trap 'tmux kill-session -t kaudit-perf 2> /dev/null || true; rm -rf "$WORK"' EXIT
TRACE=$WORK/trace.txt
: > "$TRACE"
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
wait_trace() { # until the trace has $2 lines starting with $1
  for _ in $(seq 600); do [ "$(grep -c "^$1 " "$TRACE")" -ge "$2" ] && return; sleep 0.05; done
  echo "  timed out waiting for $1"
}

echo "== TUI on $INDEX ($($K query --index "$INDEX" --count '') requests), tmux 160x48"
for run in 1 2 3; do
  tmux kill-session -t kaudit-perf 2> /dev/null || true
  tmux new-session -d -s kaudit-perf -x 160 -y 48 \
    "KAUDIT_TUI_TRACE=$TRACE KAUDIT_HISTORY=$WORK/history $K tui --index $INDEX"
  wait_trace first_results "$run"
  sleep 0.3
  tmux send-keys -t kaudit-perf q
  sleep 0.3
done
tmux new-session -d -s kaudit-perf -x 160 -y 48 \
  "KAUDIT_TUI_TRACE=$TRACE KAUDIT_HISTORY=$WORK/history $K tui --index $INDEX"
wait_trace first_results 4
keys() { tmux send-keys -t kaudit-perf "$@"; sleep 0.15; }
for _ in $(seq 20); do keys j; done
for _ in $(seq 5); do keys PageDown; done
keys G; keys g; keys Enter; keys Escape; keys o; keys BSpace
queries_before=$(grep -c '^query ' "$TRACE")
n=0
for q in 'user:system:kube-scheduler' 'resource:secrets verb:get' 'code:>=400' '@secret-reads' \
         'verb:list OR verb:watch' 'ns:kube-system -user:system:*' ''; do
  n=$((n + 1))
  tmux send-keys -t kaudit-perf / C-u
  tmux send-keys -t kaudit-perf -l "$q"
  tmux send-keys -t kaudit-perf Enter
  wait_trace query "$((queries_before + n))"
done
keys t; keys Left; keys Enter
keys q
for what in first_frame first_results key query; do
  grep "^$what " "$TRACE" | awk '{print $2}' | median \
    | awk -v w="$what" -v n="$(grep -c "^$what " "$TRACE")" '{printf "  %7.1f ms  %s (median of %d)\n", $1, w, n}'
done
# Baseline in the same run: the CLI answering the first screen's question (newest 200
# requests), process start included.
seconds() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); awk -v s="$s" -v e="$e" 'BEGIN{printf "%.2f\n", (e-s)/1e6}'; }
for _ in $(seq 9); do seconds "$K" query --index "$INDEX" --limit 200 ''; done | median \
  | awk '{printf "  %7.1f ms  baseline: kaudit query --limit 200 (newest 200, process start included)\n", $1}'
echo "  slowest key: $(grep '^key ' "$TRACE" | awk '{print $2}' | sort -n | tail -1) ms;" \
  "slowest query: $(grep '^query ' "$TRACE" | awk '{print $2}' | sort -n | tail -1) ms"
