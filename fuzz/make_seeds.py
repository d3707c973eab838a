#!/usr/bin/env python3
"""Writes the committed seed corpora, fuzz/corpus/<target>/, from the project's own
sample-logs/, queries/ and a few hand-written shapes, plus a handful of third-party
lines from ../shared/audit-corpus (Apache-2.0 / MIT; see fuzz/README.md).

Run from the repository root: python3 fuzz/make_seeds.py [path/to/shared/audit-corpus]
Deterministic: the same inputs give the same files.
"""
import gzip
import json
import os
import pathlib
import re
import shutil
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "fuzz" / "corpus"
SHARED = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "audit-corpus"
MAX_SEED = 6000  # bytes: the fuzzer's default max_len is 4096, a little more is fine


def sample_lines():
    for name in sorted(os.listdir(ROOT / "sample-logs")):
        data = (ROOT / "sample-logs" / name).read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        yield from data.split(b"\n")


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def pick_events():
    """One line per (verb, resource, subresource, level, has bodies), small ones first."""
    seen = {}
    odd = []
    for line in sample_lines():
        try:
            e = json.loads(line)
        except ValueError:
            odd.append(line)
            continue
        o = e.get("objectRef") or {}
        key = (e.get("verb"), o.get("resource"), o.get("subresource"), e.get("level"),
               "requestObject" in e, "responseObject" in e)
        if len(line) <= MAX_SEED and (key not in seen or len(line) < len(seen[key])):
            seen[key] = line
    return [seen[k] for k in sorted(seen, key=repr)], odd


def slug(line):
    e = json.loads(line)
    o = e.get("objectRef") or {}
    parts = [e.get("verb"), o.get("resource"), o.get("subresource"), e.get("level")]
    return "-".join(p for p in parts if p) or "event"


def parse_line_seeds():
    events, odd = pick_events()
    for i, line in enumerate(events[:40]):
        write("parse_line", f"sample-{i:02}-{slug(line)}", line + b"\n")
    for i, line in enumerate(l for l in odd if l.strip()):
        # A truncated line and one with invalid UTF-8: rejections worth keeping.
        write("parse_line", f"sample-odd-{i}", line[:MAX_SEED])
    small = [json.loads(l) for l in events if len(l) < 1500][:3]
    text = [json.dumps(e, separators=(",", ":")) for e in small]
    envelopes = {
        "envelope-eventlist": {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": small},
        "envelope-records": {"records": [{"category": "kube-audit", "properties": {"log": t + "\n"}} for t in text]},
        "envelope-aks-object": {"category": "kube-audit", "properties": {"log": small[0]}},
        "envelope-aks-string": {"category": "kube-audit-admin", "properties": {"log": text[1]}},
        "envelope-array": small,
    }
    for name, value in envelopes.items():
        write("parse_line", name, json.dumps(value, separators=(",", ":")).encode() + b"\n")
    pretty = json.dumps(envelopes["envelope-eventlist"], indent=2).encode()
    write("parse_line", "envelope-eventlist-pretty", pretty + b"\n")
    for name, body in secret_bodies().items():
        write("parse_line", name, json.dumps(body, separators=(",", ":")).encode() + b"\n")
    for rel in THIRD_PARTY:
        line = (SHARED / rel).read_bytes().split(b"\n")[0]
        write("parse_line", "corpus-" + rel.replace("/", "-").removesuffix(".jsonl"), line[:MAX_SEED] + b"\n")


PLANTED = "UExBTlRFRC1TRUNSRVQ="  # base64 of PLANTED-SECRET: must never be kept


def secret_bodies():
    """Events whose bodies hold secret values in every shape the redactor knows."""
    def event(resource, verb, level, **bodies):
        e = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": level,
             "auditID": "00000000-0000-4000-8000-000000000001", "stage": "ResponseComplete",
             "requestURI": f"/api/v1/namespaces/ns/{resource}/x", "verb": verb,
             "user": {"username": "system:serviceaccount:ns:sa", "groups": ["system:authenticated"]},
             "objectRef": {"resource": resource, "namespace": "ns", "name": "x", "apiVersion": "v1"},
             "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
             "stageTimestamp": "2026-11-20T10:00:00.001000Z"}
        e.update(bodies)
        return e
    applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"k": PLANTED}})
    secret = {"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "x", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": applied}},
        "data": {"k": PLANTED}, "stringData": {"s": PLANTED}}
    return {
        "secret-create": event("secrets", "create", "RequestResponse", requestObject=secret, responseObject=secret),
        "secret-list": event("secrets", "list", "RequestResponse",
                             responseObject={"kind": "SecretList", "items": [{"data": {"k": PLANTED}}]}),
        "secret-table": event("secrets", "list", "RequestResponse", responseObject={
            "kind": "Table", "rows": [{"object": {"kind": "PartialObjectMetadata", "metadata": {
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": applied}}}}]}),
        "secret-merge-patch": event("secrets", "patch", "Request", requestObject={"data": {"k": PLANTED}}),
        "secret-json-patch": event("secrets", "patch", "Request", requestObject=[
            {"op": "add", "path": "/data/k", "value": PLANTED},
            {"op": "replace", "path": "/stringData", "value": {"s": PLANTED}},
            {"op": "add", "path": "/metadata/annotations",
             "value": {"kubectl.kubernetes.io/last-applied-configuration": applied}}]),
        # Echoed by admission outside the bodies: a policy's message (decoded) and audit
        # annotation, a webhook's denial in responseStatus and the Status body.
        "secret-echo-policy": event("secrets", "create", "RequestResponse", requestObject=secret, annotations={
            "validation.policy.admission.k8s.io/validation_failure": json.dumps(
                [{"message": "must not be PLANTED-SECRET", "policy": "p", "binding": "b"}]),
            "p.example.com/offending": PLANTED}),
        "secret-echo-denial": event("secrets", "patch", "RequestResponse", requestObject={"data": {"k": PLANTED}},
                                    responseStatus={"status": "Failure", "code": 400, "reason": "BadRequest",
                                                    "message": f"denied: {PLANTED}",
                                                    "details": {"causes": [{"message": "PLANTED-SECRET"}]}},
                                    responseObject={"kind": "Status", "message": f"denied: {PLANTED}"}),
        "token-request": event("serviceaccounts", "create", "RequestResponse",
                               responseObject={"kind": "TokenRequest", "status": {"token": PLANTED}}),
        "token-review": event("tokenreviews", "create", "Request",
                              requestObject={"kind": "TokenReview", "spec": {"token": PLANTED}}),
    }


# Small Apache-2.0 / MIT lines, each a shape the project's samples lack.
THIRD_PARTY = [
    "falco/create_secret.jsonl",  # v1beta1, no apiVersion, sorted keys
    "falco/fal_01_003.invalid.jsonl",  # {"kind": 0}
    "sysdig-aks-audit-log/sample_EventHubs_event.aks-wrapped.jsonl",  # properties.log string
    "panther-analysis/eks-audit.tests.jsonl",  # partial event, odd timestamp
    "panther-analysis/gke.tests.gke-wrapped.jsonl",  # GKE LogEntry: rejected
    "apisnoop/audit_event_part_count_too_high.jsonl",  # mutated URI
    "openshift-docs/nodes-nodes-audit-log-basic-viewing.jsonl",  # OpenShift annotations
]


def query_seeds():
    queries = []
    for path in sorted((ROOT / "queries").glob("*.toml")):
        m = re.search(r"^query\s*=\s*'(.*)'$", path.read_text(), re.M)
        if m:
            queries.append((path.stem, m.group(1)))
    readme = (ROOT / "README.md").read_text()
    for i, q in enumerate(dict.fromkeys(re.findall(r"kaudit query (?:--[a-z-]+ \S+ )*'([^']*)'", readme))):
        queries.append((f"readme-{i:02}", q))
    # Corners of the grammar (src/query/parse.rs): regexes, escapes, keywords, saved.
    corners = [r'uri:/a\/b\d/', '(name:/(a|b)/)', 'reason:"say \\"hi\\" \\\\o/"', 'ip:::1',
               'code:>=400 code:<500', 'CODE:5XX', 'verb:get or ORACLE', 'NOT(a b) OR -c',
               'name:db-* -ns:kube-system', '@secret-reads -@exec', '@both', '@self', '@empty',
               'name:"db-*"', 'apigroup:""', 'ns:a AND (b OR "c d")', '', '((x))',
               'severity:>=medium -severity:HIGH severity:* cap:SYS_ADMIN',
               'risk:runAsRoot:default OR risk:runAsRoot* severity:!=low', 'severity:2',
               'req.metadata.labels."app.kubernetes.io/name":web body.*.x:/a\\/b/',
               r'req.data./(?i)passw\/d/:* -resp.spec.tls:* req.spec.replicas:>=1e1',
               'image:!=registry.example.com/* group:!=/system:.*/ req.rules.verbs:"*"',
               'req..x req.a.:1 REQ.A:!=!=1 resp."unclosed:1']
    queries += [(f"syntax-{i:02}", q) for i, q in enumerate(corners)]
    for name, q in queries:
        write("query_parse", name, q.encode())


def line_reader_seeds():
    lines = [l for l in sample_lines() if 0 < len(l) < 1200][:6]
    text = b"\n".join(lines) + b"\n"
    short = b"a\nbb\r\n\n" + b"x" * 40 + b"\nlast"
    cap = lambda n: n << 3
    write("line_reader", "plain-cap31", bytes([cap(31), 0]) + text)
    write("line_reader", "plain-short-pieces", bytes([cap(4), 7]) + short)
    write("line_reader", "tail-stalls", bytes([cap(8) | 4, 0x0f]) + short)
    write("line_reader", "gzip-file", bytes([cap(31) | 1, 0]) + gzip.compress(text, mtime=0))
    write("line_reader", "gzip-two-members", bytes([cap(2) | 1, 9]) + gzip.compress(short, mtime=0) * 2)
    write("line_reader", "gzip-by-harness", bytes([cap(16) | 2 | 4, 0x2b]) + short)
    raw = zlib.compressobj(9, zlib.DEFLATED, 31)
    write("line_reader", "gzip-truncated", bytes([cap(5) | 1, 5]) + (raw.compress(short) + raw.flush())[:-6])


def salvage_seeds():
    """The shaped salvage harness (src/fuzzing/salvage.rs): one input per hostile shape
    and per path (a line that parses, salvaged within the cap, streamed over it, Secrets).
    Layout: flags, the line cap (u16 LE, 64 + n % 4033), an envelope byte, a userAgent
    (length, bytes), then the hostile value: 0 string (length, content; 1/2/3 write
    surrogate escapes), 2 number, 3 deep run (u16 LE depth, style, inner), 4 object,
    6 array, 7 literal, 8 huge string, 9 plain string."""
    REQ, RESP, BOTH, SECRETS, INSIDE, BARE = 0, 1, 2, 4, 8, 16
    PATCH, UPDATE = 2 << 5, 1 << 5
    PODS = 4  # envelope byte: pods instead of configmaps (when not secrets)

    def case(flags, cap, envelope, value, ua=b"kubectl/v1.31"):
        return bytes([flags]) + cap.to_bytes(2, "little") + bytes([envelope, len(ua)]) + ua + value

    WIDE, NARROW = 4032, 0  # lines of up to 4,096 bytes; 64 bytes
    surrogate = bytes([0, 1, 1, 0x00])  # "\ud800"
    seeds = {
        "strict-configmap": case(PATCH, WIDE, 0x21, bytes([9])),
        "strict-secret": case(PATCH | SECRETS, WIDE, 0x48, bytes([9])),
        "strict-surrogate-pair": case(PATCH | BARE, WIDE, 0, bytes([0, 2, 1, 0x3D, 2, 0x00])),
        "strict-big-exponent-in-range": case(PATCH, WIDE, 0, bytes([2, 8 | 2 << 5, 0, 0, 1])),
        "lone-surrogate": case(PATCH, WIDE, 0x10, surrogate),
        "lone-surrogate-escape-any": case(PATCH | BARE, WIDE, 0x11, bytes([0, 1, 3, 0x00, 0xDC])),
        "invalid-utf8": case(PATCH | RESP, WIDE | 0, PODS, bytes([0, 3, 0xFF, ord("a"), 0xC3])),
        "strict-useragent-as-go-writes-invalid-utf8": case(UPDATE, WIDE, 0, bytes([9]), ua=b"curl\xff\xfe"),
        "number-1e630": case(PATCH, WIDE, 0, bytes([2, 8, 1, 0, 2])),
        "number-400-digits": case(PATCH | BOTH, WIDE, 0x60, bytes([2, 2, 5, 100])),
        "number-negative-fraction-exponent": case(PATCH | BARE, WIDE, 0, bytes([2, 1 | 4 | 8 | 16 | 1 << 5, 3, 4, 19, 3])),
        "strict-number-underflow": case(PATCH | BARE, WIDE, 0, bytes([2, 1 | 4 | 8 | 16 | 2 << 5, 3, 4, 19, 3])),
        "deep-1100-within-cap": case(PATCH | BARE, WIDE, 0, bytes([3]) + (1100).to_bytes(2, "little") + bytes([0, 9])),
        "deep-1100-objects-over-cap": case(PATCH | BARE, WIDE, 0, bytes([3]) + (1100).to_bytes(2, "little") + bytes([1, 9])),
        "deep-5000-over-cap": case(PATCH, WIDE, 0, bytes([3]) + (5000).to_bytes(2, "little") + bytes([2, 2, 8, 1, 0, 2])),
        "extra-keys-hostile": case(PATCH | BARE, WIDE, 0, bytes([4, 3, 0]) + surrogate + bytes([1, 1, 2, 0x41, 9, 0, 2, 8, 1, 0, 2])),
        "array-mixed": case(PATCH | BARE | RESP, WIDE, PODS, bytes([6, 3, 2, 8, 1, 0, 2]) + surrogate + bytes([7, 0])),
        "secret-hostile-inside-data": case(PATCH | SECRETS | INSIDE, WIDE, 0x48, surrogate),
        "secret-hostile-beside-data": case(PATCH | SECRETS, WIDE, 0x48, bytes([2, 8, 1, 0, 2])),
        "secret-invalid-utf8-both": case(UPDATE | SECRETS | BOTH, WIDE, 0x48, bytes([0, 2, 0xC3, 0x28])),
        "secret-too-long-both": case(PATCH | SECRETS | BOTH, NARROW, 0x48, bytes([9])),
        "secret-too-long-surrogate": case(PATCH | SECRETS | INSIDE, 200, 0x48, surrogate),
        "too-long-readable": case(PATCH, NARROW, 0, bytes([0, 4, ord("a"), ord("b"), ord("c"), ord("d")])),
        "huge-string-2mib": case(PATCH | BOTH, NARROW, 0, bytes([8, 31, 3, ord("a"), ord("<"), 0xFF])),
        "huge-string-secret": case(PATCH | SECRETS, NARROW, 0x48, bytes([8, 20, 2, 1, 0x00])),
    }
    for name, data in seeds.items():
        write("salvage", name, data)

    # The unshaped harness: three bytes (chunk sizes, small limits), then any bytes.
    event = (b'{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"patch",'
             b'"objectRef":{"resource":"configmaps"},"requestObject":%s,'
             b'"stageTimestamp":"2026-11-20T10:00:00.000000Z","annotations":{"a":"b"}}')
    scan = {
        "event-surrogate": event % b'{"x":"\ud800","y":1}',
        "event-number": event % b"[1e400,12345678901234567890123456789012345678901234567890]",
        "event-invalid-utf8": event % b'"\xff\xfe"',
        "event-deep": event % (b"[" * 1100 + b"]" * 1100),
        "eventlist": b'{"kind":"EventList","items":[' + event % b"1e400" + b",7," + event % b"{}" + b"]}",
        "records": b'{"records":[{"category":"kube-audit","properties":{"log":"x"}},' + event % b'"\udc00"' + b"]}",
        "array-of-events": b"[" + event % b"1" + b"," + event % b"-1e999" + b"]",
        "two-lines": event % b"1e400" + b"\n" + event % b'"ok"' + b"\n",
        "unclosed": (event % b'{"a":[1,2')[:-1],
        "escaped-keys": rb'{"request\u004fbject":1e400,"a\"b":{"\\":2},"auditID":"a"}',
        "salvaged-key-planted": b'{"auditID":"a","kaudit.salvaged":"none","x":1e999}',
        "garbage": rb'x{]}"\ ',
    }
    for i, (name, data) in enumerate(scan.items()):
        write("salvage_scan", name, bytes([i * 37 % 256, i * 11 % 256, i * 53 % 256]) + data)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    parse_line_seeds()
    query_seeds()
    line_reader_seeds()
    salvage_seeds()


if __name__ == "__main__":
    main()
