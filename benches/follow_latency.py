#!/usr/bin/env python3
"""Follow latency: time from appending a line to audit.log until `kaudit query` finds it,
while `kaudit ingest --follow` runs; and the follower's CPU use while the log is idle.

    cargo build --release && python3 benches/follow_latency.py [SAMPLES]

Prints the median and p99 latency over SAMPLES appends (default 100) at random moments,
and the CPU seconds the follower used during 10 idle seconds.
"""
import json, os, random, signal, statistics, subprocess, sys, tempfile, time

KAUDIT = os.path.join(os.path.dirname(__file__), "..", "target", "release", "kaudit")
samples = int(sys.argv[1]) if len(sys.argv) > 1 else 100

def event(n):
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"0000000f-0000-4000-8000-{n:012d}", "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods", "verb": "list",
        "user": {"username": "latency-probe"}, "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
        "stageTimestamp": "2026-11-20T10:00:00.001000Z"}) + "\n"

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

with tempfile.TemporaryDirectory() as work:
    logs, index = os.path.join(work, "logs"), os.path.join(work, "index")
    os.makedirs(logs)
    log = open(os.path.join(logs, "audit.log"), "a")
    log.write(event(0)); log.flush()
    follower = subprocess.Popen([KAUDIT, "ingest", "--follow", "--index", index, logs],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    def found(n):
        r = subprocess.run([KAUDIT, "query", "--index", index, "--count",
                            f"auditid:0000000f-0000-4000-8000-{n:012d}"], capture_output=True, text=True)
        return r.stdout.strip() == "1"
    while not (os.path.exists(index) and found(0)):
        time.sleep(0.05)
    latencies = []
    for n in range(1, samples + 1):
        time.sleep(random.uniform(0, 1.0))
        start = time.monotonic()
        log.write(event(n)); log.flush()
        while not found(n):
            time.sleep(0.005)
        latencies.append(time.monotonic() - start)
    before = cpu_seconds(follower.pid)
    time.sleep(10)
    idle = cpu_seconds(follower.pid) - before
    follower.send_signal(signal.SIGINT)
    follower.wait()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"samples: {len(latencies)}")
    print(f"append -> visible in query: median {statistics.median(latencies)*1000:.0f} ms, "
          f"p99 {p99*1000:.0f} ms, max {latencies[-1]*1000:.0f} ms (commit interval 1 s)")
    print(f"follower CPU while idle: {idle:.2f} s over 10 s")
