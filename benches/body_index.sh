#!/usr/bin/env bash
# What indexing the bodies costs (issue 17): ingest time, CPU, peak RSS and index size of
# this build against a build without the body index, interleaved on the same log, and
# the latency of body-field queries next to envelope queries on the same index.
#
#   bash benches/body_index.sh            # RUNS=5 for more runs; WORK=DIR keeps the files
#   BASE_REV=31f365b bash benches/body_index.sh
#
# Three builds, run in turn on the same log: `base` (BASE_REV, before issue 17's schema),
# `nobody` (this commit with the bodies neither parsed nor indexed: `Bodies::of` returns at
# once, built in a worktree: what the body index alone costs) and `new` (this commit).
#
# The log is `synth noise --bodies 28`: 28% of the writes (leases aside) carry bodies, as
# under a Policy that logs writes at Request/RequestResponse level: about 2.5% of the
# events, ~4 KB each, 10% of the bytes. SIZE=300M by default.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZE=${SIZE:-300M}
BASE_REV=${BASE_REV:-31f365b}
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d)
  trap 'git worktree remove --force "$WORK/base-src" 2> /dev/null; git worktree remove --force "$WORK/nobody-src" 2> /dev/null; rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK"
fi

cargo build --release --quiet --bin kaudit --example synth
NEW=target/release/kaudit
BASE=$WORK/base-src/target/release/kaudit
if [ ! -x "$BASE" ]; then
  git worktree add --force --detach "$WORK/base-src" "$BASE_REV" > /dev/null
  (cd "$WORK/base-src" && cargo build --release --quiet --bin kaudit)
fi
NOBODY=$WORK/nobody-src/target/release/kaudit
if [ ! -x "$NOBODY" ]; then
  git worktree add --force --detach "$WORK/nobody-src" HEAD > /dev/null
  # No body is parsed or indexed: `Bodies::of` returns at once.
  sed -i 's/if !super::body::may_have_body(json) {/if true {/' "$WORK/nobody-src/src/index/document.rs"
  grep -q 'may_have_body' "$WORK/nobody-src/src/index/document.rs" && { echo "nobody: the line to change moved" >&2; exit 2; }
  (cd "$WORK/nobody-src" && cargo build --release --quiet --bin kaudit)
fi
LOG=$WORK/audit.log
target/release/examples/synth noise --seed 1 --bytes "$SIZE" --bodies 28 --out "$LOG"
BYTES=$(stat -c %s "$LOG")
MB=$(awk -v b="$BYTES" 'BEGIN{printf "%.0f", b/1e6}')
echo "machine: $(nproc) cores; log: $MB MB, $(wc -l < "$LOG") lines, $(grep -c '"requestObject"' "$LOG") with bodies"
echo "baseline: $BASE_REV ($(git log -1 --format=%s "$BASE_REV" | cut -c1-60))"

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# Interleaved: base, nobody, new, base, ... so all see the same noise of the machine.
: > "$WORK/base.txt"; : > "$WORK/nobody.txt"; : > "$WORK/new.txt"; : > "$WORK/summary.txt"
for _ in $(seq "$RUNS"); do
  for which in base nobody new; do
    case $which in base) bin=$BASE ;; nobody) bin=$NOBODY ;; *) bin=$NEW ;; esac
    rm -rf "$WORK/index-$which"
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" "$bin" ingest --index "$WORK/index-$which" "$LOG" 2> /dev/null
    cat "$WORK/time.txt" >> "$WORK/$which.txt"
  done
done
printf "\n%-8s %10s %10s %10s %12s %14s\n" "" "wall s" "MB/s" "CPU s" "peak RSS MB" "index % of log"
for which in base nobody new; do
  wall=$(awk '{print $1}' "$WORK/$which.txt" | median)
  cpu=$(awk '{print $2+$3}' "$WORK/$which.txt" | median)
  rss=$(awk '{print $4}' "$WORK/$which.txt" | sort -n | tail -1)
  idx=$(du -sb "$WORK/index-$which" | cut -f1)
  printf "%-8s %10.2f %10.0f %10.2f %12.0f %13.1f%%\n" "$which" "$wall" "$(awk -v m="$MB" -v w="$wall" 'BEGIN{print m/w}')" "$cpu" "$(awk -v r="$rss" 'BEGIN{print r/1024}')" "$(awk -v i="$idx" -v b="$BYTES" 'BEGIN{print 100*i/b}')"
  echo "$which $wall $cpu $idx" >> "$WORK/summary.txt"
done
awk -v b="$BYTES" '{w[$1]=$2; c[$1]=$3; i[$1]=$4} END{
  printf "\nbody index alone, new/nobody: wall %.3f, CPU %.3f (throughput %+.1f%%), index %+.2f points of the log\n",
    w["new"]/w["nobody"], c["new"]/c["nobody"], 100*(w["nobody"]/w["new"]-1), 100*(i["new"]-i["nobody"])/b
  printf "issue 17 in all, new/base:    wall %.3f, CPU %.3f (throughput %+.1f%%), index %+.2f points of the log\n",
    w["new"]/w["base"], c["new"]/c["base"], 100*(w["base"]/w["new"]-1), 100*(i["new"]-i["base"])/b }' "$WORK/summary.txt"

echo
echo "== query latency on the new index, whole process, median of 11 (--count)"
for q in 'verb:patch resource:pods' 'user:system:kube-scheduler' \
         'resp.spec.containers.image:registry.example.com/*' 'resp.status.phase:Running' \
         'req.spec.replicas:>=2' 'req.data.*:/key_1\s=\svalue/' 'body.metadata.labels.*:Helm' \
         'image:!=registry.example.com/*' 'resource:pods verb:patch -req.spec:*'; do
  for _ in $(seq 11); do
    # Exit 1 is "no match", still an answer.
    s=$(date +%s%N); n=$($NEW query --index "$WORK/index-new" --count "$q" || true); e=$(date +%s%N)
    echo "$(( (e - s) / 1000 )) $n"
  done | sort -n | awk -v q="$q" '{a[NR]=$1; n=$2} END{printf "  %8.1f ms  %8d hits  %s\n", a[6]/1000, n, q}'
done
