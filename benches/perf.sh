#!/usr/bin/env bash
# Issue 16's figures, with their baselines measured in the same run, on two log shapes:
# `synth noise --shape default` (both stages of every request) and `--shape heldout`
# (shaped like the issue's held-out log: 2.18 events per request, 45% of requests with
# two stages, 2.5% of events with ~5 KB bodies, ~1 KB lines). Machines here are small
# and shared: compare ratios to the baselines of the same run, and medians.
#
#   bash benches/perf.sh                   # SIZE=1G RUNS=3, both shapes, then latency
#   SIZE=100M RUNS=1 bash benches/perf.sh  # a quick try
#
# Knobs: SIZE (log size per shape, synth's units: 100M, 1G; default 1G), RUNS (runs per
# figure, the median is printed; default 3), SHAPES (default "default heldout"),
# DOUBLE=0 skips the ingest of a log twice as big (peak RSS at a larger size),
# LATENCY=0 skips the last part (the default shape's index grown to twice its requests:
# term query latency, --by timings and benches/tui.sh), WORK=DIR keeps the files there.
#
# Per shape: baselines `cat > /dev/null` and one jq pass answering one question; ingest
# end to end (the whole process, final commit and merge included, into a fresh index):
# wall, MB/s, CPU (user+sys), CPU per GB, cores busy (CPU/wall), peak RSS, index size;
# the same pinned to one core (`taskset -c 0`); with other numbers of parsing threads
# (`--parse-threads` 0, 1, 2 but the default); a log twice as big (peak RSS); a gzip copy (default level 6) replayed;
# cold ingest + first answer against one jq pass run just before each; reading back every format of
# `query --limit 0 ''`, `--limit 100000`, each report, a warm term query. A summary
# table (shape, figure, value, issue 16's target) ends the output.
#
# Page cache: the log is written just before it is measured and fits in memory, so every
# figure, jq's and cat's included, reads it from the page cache (none reads from disk).
# Indexes are written fresh to the page cache and not synced; readback reads an index
# written moments before. Nothing runs before a measure to warm it up, except that the
# log was just written. MB = 10^6 bytes, GB = 10^9 bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE=${SIZE:-1G}
SHAPES=${SHAPES:-default heldout}
LATENCY=${LATENCY:-1}
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK"
fi
command -v jq > /dev/null || { echo "perf.sh needs jq (the baseline)"; exit 2; }
[ -x /usr/bin/time ] || { echo "perf.sh needs /usr/bin/time (GNU time)"; exit 2; }

cargo build --release --quiet --bin kaudit --example synth
K=$PWD/target/release/kaudit
SYNTH=$PWD/target/release/examples/synth
SUMMARY=$WORK/summary.tsv
: > "$SUMMARY"
JQ_QUESTION='select(.user.username == "system:kube-scheduler") | .auditID'
ANSWER_QUERY='user:system:kube-scheduler'

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# column N of FILE, median
med() { awk -v n="$1" '{print $n}' "$2" | median; }
# largest of column N of FILE
max() { awk -v n="$1" '{print $n}' "$2" | sort -n | tail -1; }
calc() { awk "BEGIN{printf \"$1\", $2}"; }
# summary line: shape, figure, value, target
say() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}" >> "$SUMMARY"; }

# run_timed OUT CMD...: runs CMD once (stdout to /dev/null) and appends to OUT
# "wall_s cpu_s peak_rss_MB" (wall from the clock around it, CPU = user + sys of the
# process and its children, from GNU time). Exit status 1 (a query that matched
# nothing) is accepted; anything above stops the script.
run_timed() {
  local out=$1 s e rc=0
  shift
  s=$(date +%s%N)
  /usr/bin/time -f "%U %S %M" -o "$WORK/time.txt" "$@" > /dev/null 2> "$WORK/stderr.txt" || rc=$?
  e=$(date +%s%N)
  if [ "$rc" -gt 1 ]; then
    echo "failed (exit $rc): $*" >&2
    cat "$WORK/stderr.txt" >&2
    exit 1
  fi
  tail -1 "$WORK/time.txt" | awk -v s="$s" -v e="$e" '{printf "%.4f %.2f %.0f\n", (e-s)/1e9, $1+$2, $3/1024}' >> "$out"
}

# ingest_runs OUT INDEX LOG [PREFIX...]: RUNS ingests of LOG, each into a fresh INDEX,
# run under PREFIX (e.g. taskset -c 0), with the options in INGEST_ARGS if set.
ingest_runs() {
  local out=$1 index=$2 log=$3
  shift 3
  : > "$out"
  for _ in $(seq "$RUNS"); do
    rm -rf "$index"
    # shellcheck disable=SC2086 # INGEST_ARGS is a list of words
    run_timed "$out" "$@" "$K" ingest ${INGEST_ARGS:-} --index "$index" "$log"
  done
}
# The parsing threads `kaudit ingest` starts by default (ingest::parse_threads_for).
CORES=$(nproc)
DEFAULT_PARSE_THREADS=$(( CORES <= 2 ? 0 : (CORES - 1) / 2 ))

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kaudit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), SIZE=$SIZE RUNS=$RUNS (medians of $RUNS unless said), page cache warm for the log"

for SHAPE in $SHAPES; do
  LOG=$WORK/$SHAPE/audit.log
  INDEX=$WORK/$SHAPE/index
  mkdir -p "$WORK/$SHAPE"
  $SYNTH noise --shape "$SHAPE" --seed 1 --bytes "$SIZE" --out "$LOG"
  BYTES=$(stat -c %s "$LOG")
  MB=$(calc %.1f "$BYTES/1e6")
  GB=$(calc %.4f "$BYTES/1e9")
  LINES=$(wc -l < "$LOG")
  echo
  echo "==== shape $SHAPE: $LOG, $MB MB, $LINES lines, $(calc %.0f "$BYTES/$LINES") bytes a line"

  echo "== baseline: read the log (cat > /dev/null)"
  : > "$WORK/cat.txt"
  for _ in $(seq "$RUNS"); do run_timed "$WORK/cat.txt" cat "$LOG"; done
  CAT=$(med 1 "$WORK/cat.txt")
  echo "  $(calc %.2f "$CAT") s ($(calc %.0f "$MB/$CAT") MB/s)"
  say "$SHAPE" "baseline cat > /dev/null" "$(calc '%.2f s' "$CAT")"

  echo "== baseline: one jq pass answering one question (jq -c '$JQ_QUESTION')"
  : > "$WORK/jq.txt"
  for _ in $(seq "$RUNS"); do run_timed "$WORK/jq.txt" jq -c "$JQ_QUESTION" "$LOG"; done
  JQ=$(med 1 "$WORK/jq.txt")
  echo "  $(calc %.2f "$JQ") s ($(calc %.0f "$MB/$JQ") MB/s), CPU $(calc %.2f "$(med 2 "$WORK/jq.txt")") s"
  say "$SHAPE" "baseline one jq pass" "$(calc '%.2f s' "$JQ") ($(calc %.0f "$MB/$JQ") MB/s)"

  echo "== ingest end to end on $(nproc) cores (whole process, final commit included, fresh index each run)"
  ingest_runs "$WORK/ingest.txt" "$INDEX" "$LOG"
  WALL=$(med 1 "$WORK/ingest.txt")
  CPU=$(med 2 "$WORK/ingest.txt")
  RSS=$(max 3 "$WORK/ingest.txt")
  INDEX_BYTES=$(du -sb "$INDEX" | cut -f1)
  REQUESTS=$($K query --index "$INDEX" --count '')
  echo "  $(calc %.2f "$WALL") s = $(calc %.0f "$MB/$WALL") MB/s; CPU $(calc %.2f "$CPU") s = $(calc %.1f "$CPU/$GB") s per GB, $(calc %.2f "$CPU/$WALL") cores busy; peak RSS $RSS MB (largest of the runs)"
  echo "  index $(calc %.0f "$INDEX_BYTES/1e6") MB = $(calc %.1f "100*$INDEX_BYTES/$BYTES")% of the log; $REQUESTS requests, $(calc %.2f "$LINES/$REQUESTS") events a request"
  say "$SHAPE" "log" "$MB MB, $LINES lines, $REQUESTS requests, $(calc %.2f "$LINES/$REQUESTS") events a request"
  say "$SHAPE" "ingest wall, end to end" "$(calc '%.2f s' "$WALL")"
  say "$SHAPE" "ingest rate, end to end" "$(calc '%.0f MB/s' "$MB/$WALL")" ">= 200 MB/s (stretch 350)"
  say "$SHAPE" "ingest CPU per GB" "$(calc '%.1f s' "$CPU/$GB")" "<= 9 s"
  say "$SHAPE" "ingest cores busy (CPU/wall)" "$(calc %.2f "$CPU/$WALL")" ">= 1.8 of 2"
  say "$SHAPE" "ingest peak RSS" "$RSS MB" "< 300 MB"
  say "$SHAPE" "index size / log" "$(calc '%.1f%%' "100*$INDEX_BYTES/$BYTES")" "<= 20%"

  echo "== ingest pinned to one core (taskset -c 0)"
  ingest_runs "$WORK/ingest1.txt" "$WORK/$SHAPE/index1" "$LOG" taskset -c 0
  rm -rf "$WORK/$SHAPE/index1"
  WALL1=$(med 1 "$WORK/ingest1.txt")
  echo "  $(calc %.2f "$WALL1") s = $(calc %.0f "$MB/$WALL1") MB/s, CPU $(calc %.2f "$(med 2 "$WORK/ingest1.txt")") s: $(calc %.2f "$WALL1/$WALL")x the $(nproc)-core time"
  say "$SHAPE" "ingest 1 core / $(nproc) cores (wall)" "$(calc '%.2fx' "$WALL1/$WALL")" ">= 1.7x"

  for THREADS in 0 1 2; do
    [ "$THREADS" = "$DEFAULT_PARSE_THREADS" ] && continue
    echo "== ingest with --parse-threads $THREADS (the default here is $DEFAULT_PARSE_THREADS)"
    INGEST_ARGS="--parse-threads $THREADS" ingest_runs "$WORK/ingestp.txt" "$WORK/$SHAPE/indexp" "$LOG"
    rm -rf "$WORK/$SHAPE/indexp"
    WALLP=$(med 1 "$WORK/ingestp.txt")
    CPUP=$(med 2 "$WORK/ingestp.txt")
    echo "  $(calc %.2f "$WALLP") s = $(calc %.0f "$MB/$WALLP") MB/s; CPU $(calc %.2f "$CPUP") s = $(calc %.1f "$CPUP/$GB") s per GB, $(calc %.2f "$CPUP/$WALLP") cores busy; peak RSS $(max 3 "$WORK/ingestp.txt") MB"
    say "$SHAPE" "ingest --parse-threads $THREADS: wall / default's" "$(calc '%.2fx' "$WALLP/$WALL"), CPU $(calc '%.2fx' "$CPUP/$CPU")"
  done

  if [ "${DOUBLE:-1}" = 1 ]; then
    echo "== peak RSS on a log twice as big (seed 2, one run)"
    $SYNTH noise --shape "$SHAPE" --seed 2 --bytes $((2 * BYTES)) --out "$LOG.2x"
    : > "$WORK/double.txt"
    rm -rf "$WORK/$SHAPE/index2"
    run_timed "$WORK/double.txt" "$K" ingest --index "$WORK/$SHAPE/index2" "$LOG.2x"
    rm -rf "$WORK/$SHAPE/index2" "$LOG.2x"
    read -r WALL2 CPU2 RSS2 < "$WORK/double.txt"
    echo "  $(calc %.2f "$WALL2") s = $(calc %.0f "2*$MB/$WALL2") MB/s; CPU $(calc %.1f "$CPU2/(2*$GB)") s per GB; peak RSS $RSS2 MB"
    say "$SHAPE" "ingest of twice the log: rate, peak RSS" "$(calc '%.0f MB/s' "2*$MB/$WALL2"), $RSS2 MB" "< 300 MB"
  fi

  echo "== a gzip copy of the log (gzip -6, the default level) replayed"
  gzip -6 -c "$LOG" > "$LOG.gz"
  GZ_BYTES=$(stat -c %s "$LOG.gz")
  ingest_runs "$WORK/ingestgz.txt" "$WORK/$SHAPE/indexgz" "$LOG.gz"
  GZ_REQUESTS=$($K query --index "$WORK/$SHAPE/indexgz" --count '')
  rm -rf "$WORK/$SHAPE/indexgz" "$LOG.gz"
  [ "$GZ_REQUESTS" = "$REQUESTS" ] || { echo "  the .gz replay indexed $GZ_REQUESTS requests, the plain log $REQUESTS"; exit 1; }
  WALLGZ=$(med 1 "$WORK/ingestgz.txt")
  echo "  $(calc %.0f "$GZ_BYTES/1e6") MB compressed; $(calc %.2f "$WALLGZ") s = $(calc %.0f "$MB/$WALLGZ") MB/s of log: $(calc %.2f "$WALL/$WALLGZ")x the plain file's rate"
  say "$SHAPE" ".gz replay rate / plain rate" "$(calc '%.2fx' "$WALL/$WALLGZ")" ">= 0.8x"

  echo "== cold ingest + first answer (ingest into a fresh index, then query --count $ANSWER_QUERY) vs one jq pass, interleaved"
  # The machine's speed drifts between runs minutes apart: each cold run follows a jq
  # pass, and the ratio is taken between these.
  : > "$WORK/cold.txt"
  : > "$WORK/jqi.txt"
  for _ in $(seq "$RUNS"); do
    run_timed "$WORK/jqi.txt" jq -c "$JQ_QUESTION" "$LOG"
    rm -rf "$WORK/$SHAPE/indexc"
    run_timed "$WORK/cold.txt" bash -c '"$1" ingest --index "$2" "$3" && "$1" query --index "$2" --count "$4"' \
      _ "$K" "$WORK/$SHAPE/indexc" "$LOG" "$ANSWER_QUERY"
  done
  ANSWER=$($K query --index "$WORK/$SHAPE/indexc" --count "$ANSWER_QUERY" || true)
  rm -rf "$WORK/$SHAPE/indexc"
  JQ_ANSWER=$(jq -c "$JQ_QUESTION" "$LOG" | sort -u | wc -l)
  COLD=$(med 1 "$WORK/cold.txt")
  JQI=$(med 1 "$WORK/jqi.txt")
  echo "  $(calc %.2f "$COLD") s: $(calc %.2f "$COLD/$JQI")x one jq pass run just before each ($(calc %.2f "$JQI") s; $ANSWER requests; jq found $JQ_ANSWER distinct auditIDs)"
  say "$SHAPE" "cold ingest + first answer / one jq pass" "$(calc '%.2fx' "$COLD/$JQI") (interleaved)" "<= 0.33x"

  echo "== reading back the index ($REQUESTS requests) to /dev/null"
  for FORMAT in ndjson json csv table; do
    : > "$WORK/read.txt"
    for _ in $(seq "$RUNS"); do run_timed "$WORK/read.txt" "$K" query --index "$INDEX" --format "$FORMAT" --limit 0 ''; done
    READ=$(med 1 "$WORK/read.txt")
    echo "  --format $FORMAT --limit 0 '': $(calc %.2f "$READ") s, $(calc %.0f "$MB/$READ") MB of log/s, $(calc %.0f "$REQUESTS/$READ") rows/s, peak RSS $(max 3 "$WORK/read.txt") MB"
    say "$SHAPE" "query --format $FORMAT --limit 0 ''" "$(calc '%.2f s' "$READ"), $(calc '%.0f MB/s' "$MB/$READ")" ">= 150 MB/s of log"
  done
  : > "$WORK/read.txt"
  for _ in $(seq "$RUNS"); do run_timed "$WORK/read.txt" "$K" query --index "$INDEX" --format ndjson --limit 100000 ''; done
  READ=$(med 1 "$WORK/read.txt")
  ROWS=$((REQUESTS < 100000 ? REQUESTS : 100000))
  echo "  --format ndjson --limit 100000 '': $(calc %.2f "$READ") s, $(calc %.0f "$ROWS/$READ") rows/s"
  say "$SHAPE" "query --format ndjson --limit 100000 ''" "$(calc '%.2f s' "$READ")"

  echo "== reports"
  for REPORT in secrets serviceaccounts immutability stats; do
    : > "$WORK/report.txt"
    for _ in $(seq "$RUNS"); do run_timed "$WORK/report.txt" "$K" report --index "$INDEX" "$REPORT"; done
    REPORT_S=$(med 1 "$WORK/report.txt")
    echo "  report $REPORT: $(calc %.3f "$REPORT_S") s, peak RSS $(max 3 "$WORK/report.txt") MB"
    say "$SHAPE" "report $REPORT" "$(calc '%.3f s' "$REPORT_S")" "< 0.5 s"
  done

  echo "== warm term query: query $ANSWER_QUERY --limit 100, median of 11, process start included"
  : > "$WORK/query.txt"
  for _ in $(seq 11); do run_timed "$WORK/query.txt" "$K" query --index "$INDEX" --limit 100 "$ANSWER_QUERY"; done
  QUERY_S=$(med 1 "$WORK/query.txt")
  echo "  $(calc %.1f "$QUERY_S*1000") ms"
  say "$SHAPE" "warm term query --limit 100" "$(calc '%.1f ms' "$QUERY_S*1000")" "milliseconds"

  if [ "$SHAPE" = default ] && [ "$LATENCY" = 1 ]; then
    echo
    echo "==== latency on a bigger index: the default shape's index grown with a later log $(calc %.1f "1.2*$MB") MB"
    $SYNTH noise --seed 2 --start 2026-11-25T00:00:00Z --bytes "$(calc %.0f "1.2*$BYTES")" --out "$WORK/audit2.log"
    $K ingest --index "$INDEX" "$WORK/audit2.log" > /dev/null 2>&1
    rm -f "$WORK/audit2.log"
    echo "  requests in the index: $($K query --index "$INDEX" --count '')"
    echo "== query latency including process start, median of 21 runs, --limit 100"
    for Q in 'user:system:kube-scheduler' 'resource:secrets verb:get name:db-password' '@secret-reads' 'code:>=400' ''; do
      : > "$WORK/query.txt"
      for _ in $(seq 21); do run_timed "$WORK/query.txt" "$K" query --index "$INDEX" "$Q"; done
      echo "  $(calc %6.1f "$(med 1 "$WORK/query.txt")*1000") ms  $([ -z "$Q" ] && echo '(everything, newest 100)' || echo "$Q")"
    done
    : > "$WORK/query.txt"
    for _ in $(seq 21); do run_timed "$WORK/query.txt" "$K" --version; done
    echo "  $(calc %6.1f "$(med 1 "$WORK/query.txt")*1000") ms  baseline: process start alone (kaudit --version)"
    echo "== counts by field (query --by), median of $RUNS, process start included"
    # The noise has no 403s: its failures (404, 409) stand in for the README's code:403.
    for A in 'user' 'ip --every 5m --min 10 code:>=400' 'ip --every 5m --min 10' 'user,verb --every 1h' \
      'group' 'ip,ua --top 0' 'name' 'name --every 1h'; do
      : > "$WORK/by.txt"
      # shellcheck disable=SC2086 # $A holds the arguments
      for _ in $(seq "$RUNS"); do run_timed "$WORK/by.txt" "$K" query --index "$INDEX" --by $A; done
      echo "  $(calc %7.1f "$(med 1 "$WORK/by.txt")*1000") ms  query --by $A"
    done
    bash benches/tui.sh "$INDEX"
  fi
  rm -rf "$WORK/$SHAPE"
done

echo
echo "==== summary (SIZE=$SIZE, medians of $RUNS, baselines from the same run)"
awk -F'\t' 'BEGIN{printf "%-8s  %-42s  %-24s  %s\n", "shape", "figure", "value", "target (issue 16)"}
  {printf "%-8s  %-42s  %-24s  %s\n", $1, $2, $3, $4}' "$SUMMARY"
