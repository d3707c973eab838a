//! Tests of the generator: determinism, the shape of every line, stage order, the
//! story's scenes and broken lines, and the committed sample-logs.

use super::facts::*;
use super::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read as _;
use std::sync::OnceLock;

/// Real apiserver top-level key order.
const KEY_ORDER: [&str; 18] = [
    "kind",
    "apiVersion",
    "level",
    "auditID",
    "stage",
    "requestURI",
    "verb",
    "user",
    "impersonatedUser",
    "sourceIPs",
    "userAgent",
    "objectRef",
    "responseStatus",
    "requestObject",
    "responseObject",
    "requestReceivedTimestamp",
    "stageTimestamp",
    "annotations",
];

fn story_cached() -> &'static [(String, Vec<u8>)] {
    static STORY: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    STORY.get_or_init(story)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// The story's files, uncompressed, split into lines (without newlines).
fn story_lines() -> Vec<Vec<Vec<u8>>> {
    story_cached()
        .iter()
        .map(|(name, bytes)| {
            let text = if name.ends_with(".gz") {
                gunzip(bytes)
            } else {
                bytes.clone()
            };
            let mut lines: Vec<Vec<u8>> = text.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
            if lines.last().is_some_and(Vec::is_empty) {
                lines.pop();
            }
            lines
        })
        .collect()
}

fn is_bad_line(file: usize, number: usize) -> bool {
    file == 2
        && [
            MALFORMED_LINE,
            WRONG_TYPES_LINE,
            INVALID_UTF8_LINE,
            TRUNCATED_LINE,
        ]
        .contains(&number)
}

/// Every good line of the story in write order, parsed.
fn story_events() -> Vec<(Value, String)> {
    let mut out = Vec::new();
    for (file, lines) in story_lines().into_iter().enumerate() {
        for (i, raw) in lines.into_iter().enumerate() {
            if is_bad_line(file, i + 1) {
                continue;
            }
            let text = String::from_utf8(raw)
                .unwrap_or_else(|e| panic!("file {file} line {}: {e}", i + 1));
            let v = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("file {file} line {}: {e}", i + 1));
            out.push((v, text));
        }
    }
    out
}

/// The top-level keys of a JSON object line, in order.
fn top_level_keys(line: &str) -> Vec<String> {
    let (mut depth, mut in_str, mut esc, mut expect_key) = (0, false, false, false);
    let (mut keys, mut cur) = (Vec::new(), None::<String>);
    for c in line.chars() {
        if in_str {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
                if let Some(k) = cur.take() {
                    keys.push(k);
                }
                continue;
            }
            if let Some(k) = &mut cur {
                k.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                if depth == 1 && expect_key {
                    cur = Some(String::new());
                }
                expect_key = false;
            }
            '{' | '[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            '}' | ']' => depth -= 1,
            ',' => expect_key = depth == 1,
            _ => {}
        }
    }
    keys
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 27
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'.',
            26 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Checks one event's shape against what a v1.31 apiserver writes.
fn check_event(v: &Value, raw: &str) {
    let ctx = || raw.chars().take(160).collect::<String>();
    let keys = top_level_keys(raw);
    let positions: Vec<usize> = keys
        .iter()
        .map(|k| {
            KEY_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or_else(|| panic!("unknown key {k}: {}", ctx()))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "key order {keys:?}"
    );
    assert_eq!(v["kind"], "Event");
    assert_eq!(v["apiVersion"], "audit.k8s.io/v1");
    let level = v["level"].as_str().unwrap();
    assert!(["Metadata", "Request", "RequestResponse"].contains(&level));
    let id = v["auditID"].as_str().unwrap();
    assert!(id.len() == 36 && id.as_bytes()[14] == b'4', "auditID {id}");
    let stage = v["stage"].as_str().unwrap();
    let uri = v["requestURI"].as_str().unwrap();
    assert!(uri.starts_with('/'));
    let verb = v["verb"].as_str().unwrap();
    assert!(
        [
            "get", "list", "watch", "create", "update", "patch", "delete"
        ]
        .contains(&verb),
        "{verb}"
    );
    assert!(v["user"]["username"].is_string() && v["user"]["groups"].is_array());
    if let Some(extra) = v["user"].get("extra") {
        for value in extra.as_object().unwrap().values() {
            assert_eq!(
                value.as_array().unwrap().len(),
                1,
                "extra values are one-string arrays"
            );
        }
    }
    assert!(!v["sourceIPs"].as_array().unwrap().is_empty());
    assert!(v["userAgent"].is_string());
    let received = v["requestReceivedTimestamp"].as_str().unwrap();
    let stamp = v["stageTimestamp"].as_str().unwrap();
    assert!(
        is_timestamp(received) && is_timestamp(stamp) && received <= stamp,
        "{}",
        ctx()
    );
    let resource_uri = uri.starts_with("/api/") || uri.starts_with("/apis/");
    assert_eq!(v.get("objectRef").is_some(), resource_uri, "{}", ctx());
    if stage == "RequestReceived" {
        for absent in [
            "responseStatus",
            "impersonatedUser",
            "requestObject",
            "responseObject",
        ] {
            assert!(
                v.get(absent).is_none(),
                "{absent} at RequestReceived: {}",
                ctx()
            );
        }
        if let Some(a) = v.get("annotations") {
            assert!(
                a.as_object()
                    .unwrap()
                    .keys()
                    .all(|k| k.starts_with("authentication."))
            );
        }
    } else {
        assert!(["ResponseStarted", "ResponseComplete"].contains(&stage));
        assert!(v["responseStatus"]["code"].is_u64());
        let decision = v["annotations"]["authorization.k8s.io/decision"]
            .as_str()
            .unwrap();
        assert!(decision == "allow" || decision == "forbid");
        assert!(v["annotations"]["authorization.k8s.io/reason"].is_string());
    }
    if v.get("requestObject").is_some() {
        assert_ne!(level, "Metadata");
    }
    if v.get("responseObject").is_some() {
        assert_eq!(level, "RequestResponse");
    }
    // Go's encoder escapes these; control bytes are never raw.
    assert!(
        !raw.bytes()
            .any(|b| b < 0x20 || b == b'&' || b == b'<' || b == b'>'),
        "{}",
        ctx()
    );
}

fn stage_rank(stage: &str) -> u8 {
    match stage {
        "RequestReceived" => 0,
        "ResponseStarted" => 1,
        "ResponseComplete" => 2,
        other => panic!("stage {other}"),
    }
}

/// Each request's stages appear once each, in order, with consistent request fields.
/// Returns auditIDs whose ResponseComplete never came.
fn check_stage_order(events: &[(Value, String)]) -> Vec<(String, String, String)> {
    let mut seen: HashMap<&str, (u8, &Value)> = HashMap::new();
    for (v, _) in events {
        let id = v["auditID"].as_str().unwrap();
        let rank = stage_rank(v["stage"].as_str().unwrap());
        match seen.get(id) {
            None => assert_eq!(rank, 0, "{id} starts without RequestReceived"),
            Some(&(last, first)) => {
                assert!(rank > last, "{id}: stage {rank} after {last}");
                for k in ["requestURI", "verb", "requestReceivedTimestamp", "level"] {
                    assert_eq!(v[k], first[k], "{id}: {k} differs between stages");
                }
            }
        }
        let first = seen.get(id).map_or(v, |&(_, f)| f);
        seen.insert(id, (rank, first));
    }
    let mut open: Vec<(String, String, String)> = seen
        .iter()
        .filter(|(_, (rank, _))| *rank != 2)
        .map(|(id, (_, v))| {
            let s = |k: &str| v[k].as_str().unwrap().to_string();
            (id.to_string(), s("verb"), s("requestReceivedTimestamp"))
        })
        .collect();
    open.sort();
    open
}

#[test]
fn story_is_deterministic() {
    assert_eq!(story(), story());
}

#[test]
fn noise_is_deterministic_and_seeded() {
    let start = chrono::DateTime::parse_from_rfc3339(START)
        .unwrap()
        .to_utc();
    let run = |seed| {
        let mut n = Noise::new(seed, start);
        let mut out = String::new();
        for _ in 0..3_000 {
            n.next_line(&mut out);
            out.push('\n');
        }
        out
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn story_lines_are_events_in_order() {
    let events = story_events();
    for (v, raw) in &events {
        check_event(v, raw);
    }
    // Requests still running at the end are watches (up to 10 minutes) or requests
    // of the last second.
    let end = chrono::DateTime::parse_from_rfc3339(END)
        .unwrap()
        .timestamp_micros();
    for (id, verb, received) in check_stage_order(&events) {
        let received = chrono::DateTime::parse_from_rfc3339(&received)
            .unwrap()
            .timestamp_micros();
        let window = if verb == "watch" { 601 } else { 1 } * MICROS_PER_SEC;
        assert!(received > end - window, "{id} ({verb}) never completed");
    }
}

#[test]
fn story_files_cover_their_hours_in_write_order() {
    let lines = story_lines();
    let start = chrono::DateTime::parse_from_rfc3339(START)
        .unwrap()
        .timestamp_micros();
    let hour = 3_600 * MICROS_PER_SEC;
    for (file, lines) in lines.iter().enumerate() {
        assert_eq!(lines.len(), LINES[file], "{}", FILES[file]);
        let mut last = 0;
        for (i, raw) in lines.iter().enumerate() {
            if is_bad_line(file, i + 1) {
                continue;
            }
            let v: Value = serde_json::from_slice(raw).unwrap();
            let t = chrono::DateTime::parse_from_rfc3339(v["stageTimestamp"].as_str().unwrap())
                .unwrap()
                .timestamp_micros();
            let lo = start + file as i64 * hour;
            assert!(
                t >= lo - 2_000 && t < lo + hour,
                "{} line {}",
                FILES[file],
                i + 1
            );
            // Roughly, not strictly, in stageTimestamp order.
            assert!(
                t > last - 2_000,
                "{} line {} out of order",
                FILES[file],
                i + 1
            );
            last = last.max(t);
        }
    }
    let total: usize = story_cached()
        .iter()
        .map(|(name, bytes)| {
            if name.ends_with(".gz") {
                gunzip(bytes).len()
            } else {
                bytes.len()
            }
        })
        .sum();
    assert!(total < 2_100_000, "story is {total} bytes uncompressed");
}

#[test]
fn bad_lines_are_where_facts_say() {
    let lines = &story_lines()[2];
    assert_eq!(lines[MALFORMED_LINE - 1], MALFORMED_TEXT.as_bytes());
    assert_eq!(lines[WRONG_TYPES_LINE - 1], WRONG_TYPES_TEXT.as_bytes());
    let invalid = &lines[INVALID_UTF8_LINE - 1];
    assert!(std::str::from_utf8(invalid).is_err());
    assert!(String::from_utf8_lossy(invalid).contains(ID_INVALID_UTF8));
    assert_eq!(TRUNCATED_LINE, lines.len());
    let truncated = &lines[TRUNCATED_LINE - 1];
    assert!(truncated.starts_with(b"{\"kind\":\"Event\""));
    assert!(serde_json::from_slice::<Value>(truncated).is_err());
    let (_, current) = &story_cached()[2];
    assert_ne!(current.last(), Some(&b'\n'), "audit.log ends mid-line");
    // Everything else in the file is a good event.
    let bad = (1..=lines.len())
        .filter(|&n| serde_json::from_slice::<Value>(&lines[n - 1]).is_err())
        .count();
    assert_eq!(bad, 3, "malformed, invalid UTF-8, truncated");
}

#[test]
fn gzip_is_deterministic_and_holds_the_first_hour() {
    let (name, gz) = &story_cached()[0];
    assert_eq!(name, FILE_OLDEST);
    assert_eq!(&gz[..4], &[0x1f, 0x8b, 8, 0], "gzip, deflate, no name");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "mtime 0");
    let text = gunzip(gz);
    assert!(text.ends_with(b"\n"));
    let lines = &story_lines()[0];
    assert_eq!(text.iter().filter(|&&b| b == b'\n').count(), lines.len());
    let first: Value = serde_json::from_slice(&lines[0]).unwrap();
    assert!(
        first["stageTimestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T08:00:")
    );
    let last: Value = serde_json::from_slice(lines.last().unwrap()).unwrap();
    assert!(
        last["stageTimestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T08:59:")
    );
}

fn by_id<'a>(events: &'a [(Value, String)], id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|(v, _)| v["auditID"] == id)
        .map(|(v, _)| v)
        .collect()
}

fn complete<'a>(events: &'a [(Value, String)], id: &str) -> &'a Value {
    let all = by_id(events, id);
    assert!(!all.is_empty(), "{id} missing");
    all.into_iter()
        .find(|v| v["stage"] == "ResponseComplete")
        .unwrap_or_else(|| panic!("{id} incomplete"))
}

#[test]
fn scenes_are_present() {
    let events = story_events();
    let b64 = |s: &str| base64(s.as_bytes());
    assert_eq!(b64(PLANTED_SECRET_VALUE), PLANTED_SECRET_VALUE_B64);
    assert_eq!(b64(PLANTED_PATCH_VALUE), PLANTED_PATCH_VALUE_B64);

    // 1. The secret's create carries the planted value; nothing shows it in clear.
    let create = complete(&events, ID_CREATE_SECRET);
    assert_eq!(create["user"]["username"], ADMIN);
    assert_eq!(create["level"], "Request");
    assert_eq!(
        create["requestObject"]["data"]["password"],
        PLANTED_SECRET_VALUE_B64
    );
    assert!(create["requestObject"].get("stringData").is_none());
    assert_eq!(create["objectRef"]["name"], SECRET_NAME);
    for (_, raw) in &events {
        assert!(!raw.contains(PLANTED_SECRET_VALUE) && !raw.contains(PLANTED_PATCH_VALUE));
    }
    let planted: Vec<_> = events
        .iter()
        .filter(|(_, raw)| raw.contains(PLANTED_SECRET_VALUE_B64))
        .collect();
    assert_eq!(planted.len(), 1);
    assert_eq!(
        complete(&events, ID_CREATE_SA)["objectRef"]["name"],
        "report-runner"
    );

    // 2. The deployment, and the pod that runs as the ServiceAccount on worker-2.
    let deploy = complete(&events, ID_CREATE_DEPLOYMENT);
    assert_eq!(
        deploy["requestObject"]["spec"]["template"]["spec"]["serviceAccountName"],
        "report-runner"
    );
    let pod = complete(&events, ID_CREATE_POD);
    assert_eq!(
        pod["user"]["username"],
        "system:serviceaccount:kube-system:replicaset-controller"
    );
    assert!(
        pod["objectRef"].get("name").is_none(),
        "generateName: no name in objectRef"
    );
    assert_eq!(
        pod["requestObject"]["spec"]["serviceAccountName"],
        "report-runner"
    );
    assert_eq!(pod["responseObject"]["metadata"]["name"], POD_NAME);
    assert_eq!(pod["responseObject"]["metadata"]["uid"], POD_UID);
    let bind = complete(&events, ID_BIND_POD);
    assert_eq!(bind["objectRef"]["subresource"], "binding");
    assert_eq!(bind["objectRef"]["name"], POD_NAME);
    assert_eq!(NODE_UID, cluster::NODE_UIDS[1]);

    // 3. Three reads by the pod's token.
    for id in ID_SECRET_GETS {
        let v = complete(&events, id);
        assert_eq!(v["user"]["username"], SA_USERNAME);
        let extra = &v["user"]["extra"];
        assert_eq!(extra["authentication.kubernetes.io/pod-name"][0], POD_NAME);
        assert_eq!(extra["authentication.kubernetes.io/pod-uid"][0], POD_UID);
        assert_eq!(extra["authentication.kubernetes.io/node-name"][0], NODE);
        assert_eq!(extra["authentication.kubernetes.io/node-uid"][0], NODE_UID);
        assert_eq!(
            extra["authentication.kubernetes.io/credential-id"][0],
            CREDENTIAL_ID
        );
        assert_eq!(
            (v["verb"].as_str(), v["responseStatus"]["code"].as_u64()),
            (Some("get"), Some(200))
        );
        assert_eq!(v["objectRef"]["name"], SECRET_NAME);
    }
    let sa_gets = events
        .iter()
        .filter(|(v, _)| v["user"]["username"] == SA_USERNAME && v["stage"] == "ResponseComplete")
        .count();
    assert_eq!(sa_gets, 3);

    // 4. Two shells, SPDY (create) and WebSocket (get), and `kubectl cp` (an exec of tar
    // over SPDY), each 101 from ResponseStarted.
    for (id, verb, uri) in [
        (ID_EXEC, "create", EXEC_URI),
        (ID_CP, "create", CP_URI),
        (ID_EXEC_WS, "get", EXEC_WS_URI),
    ] {
        let stages = by_id(&events, id);
        let names: Vec<_> = stages
            .iter()
            .map(|v| v["stage"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["RequestReceived", "ResponseStarted", "ResponseComplete"]
        );
        assert!(
            stages[1..]
                .iter()
                .all(|v| v["responseStatus"]["code"] == 101)
        );
        assert_eq!(stages[0]["verb"], verb);
        assert_eq!(stages[0]["requestURI"], uri);
        assert_eq!(stages[0]["objectRef"]["subresource"], "exec");
        assert_eq!(stages[0]["user"]["username"], EXEC_USER);
        assert!(
            stages[1]["annotations"]
                .get("apiserver.latency.k8s.io/total")
                .is_none()
        );
        assert!(stages[2]["annotations"]["apiserver.latency.k8s.io/etcd"] == "612µs");
    }
    let exec_raw = events
        .iter()
        .find(|(v, _)| v["auditID"] == ID_EXEC)
        .unwrap();
    assert!(
        exec_raw
            .1
            .contains("exec?command=sh\\u0026command=-c\\u0026command=cat%20%2Fvar%2Frun")
    );

    // 5. The privileged pod and the locked-down one.
    let bad = complete(&events, ID_CREATE_PRIVILEGED_POD);
    let spec = &bad["requestObject"]["spec"];
    assert_eq!(spec["hostPID"], true);
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(spec["volumes"][0]["hostPath"]["path"], "/");
    assert_eq!(spec["containers"][0]["securityContext"]["privileged"], true);
    assert_eq!(
        spec["containers"][0]["securityContext"]["capabilities"]["add"][0],
        "SYS_ADMIN"
    );
    assert_eq!(bad["responseStatus"]["code"], 201);
    assert_eq!(
        format!(
            "{}/{}",
            bad["objectRef"]["namespace"].as_str().unwrap(),
            "debug-tools"
        ),
        PRIVILEGED_POD
    );
    let ok = complete(&events, ID_CREATE_SAFE_POD);
    let sc = &ok["requestObject"]["spec"]["containers"][0]["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");

    // 6 and 8. Exactly two denied secret lists: one in payments, one cluster-wide.
    let denied: Vec<&Value> = events
        .iter()
        .map(|(v, _)| v)
        .filter(|v| v["stage"] == "ResponseComplete" && v["responseStatus"]["code"] == 403)
        .filter(|v| v["objectRef"]["resource"] == "secrets" && v["verb"] == "list")
        .collect();
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[0]["auditID"], SECRET_FORBIDDEN_IDS[0]);
    assert_eq!(denied[0]["user"]["username"], FORBIDDEN_USER);
    assert_eq!(denied[0]["objectRef"]["namespace"], SECRET_NAMESPACE);
    assert_eq!(denied[0]["responseStatus"]["message"], FORBIDDEN_MESSAGE);
    assert_eq!(denied[0]["responseStatus"]["reason"], "Forbidden");
    assert_eq!(
        denied[0]["annotations"]["authorization.k8s.io/decision"],
        "forbid"
    );
    assert_eq!(denied[0]["annotations"]["authorization.k8s.io/reason"], "");
    assert_eq!(
        denied[0]["user"]["extra"]["authentication.kubernetes.io/pod-name"][0],
        "deployer-5f6b-abcde"
    );
    assert_eq!(denied[1]["auditID"], SECRET_FORBIDDEN_IDS[1]);
    assert_eq!(denied[1]["user"]["username"], "system:anonymous");
    assert_eq!(denied[1]["sourceIPs"][0], ANONYMOUS_IP);
    assert_eq!(denied[1]["userAgent"], ANSI_USER_AGENT);
    assert!(denied[1]["objectRef"].get("namespace").is_none());

    // 7. Impersonation: who is ci-bot, as whom is the ServiceAccount.
    let imp = complete(&events, ID_IMPERSONATED_GET);
    assert_eq!(imp["user"]["username"], IMPERSONATOR);
    assert_eq!(imp["impersonatedUser"]["username"], SA_USERNAME);
    assert!(imp["impersonatedUser"]["groups"].is_array());
    assert_eq!(imp["responseStatus"]["code"], 200);

    // 8. The patch with the second planted value.
    let patch = complete(&events, ID_PATCH_SECRET);
    assert_eq!(patch["verb"], "patch");
    assert_eq!(
        patch["requestObject"]["data"]["password"],
        PLANTED_PATCH_VALUE_B64
    );
    let anon = complete(&events, ID_ANONYMOUS_VERSION);
    assert_eq!(anon["userAgent"], ANSI_USER_AGENT);

    // Every ID in SECRET_READ_IDS is an allowed get of the secret.
    for id in SECRET_READ_IDS {
        let v = complete(&events, id);
        assert_eq!(
            (v["verb"].as_str(), v["responseStatus"]["code"].as_u64()),
            (Some("get"), Some(200))
        );
        assert_eq!(v["objectRef"]["name"], SECRET_NAME);
    }
}

#[test]
fn later_scenes_are_present() {
    let events = story_events();
    let kubelet = format!("system:node:{NODE}");
    let time = |v: &Value, key: &str| v[key].as_str().unwrap().to_string();

    // The kubelet's TokenRequest for the pod's token, issued as CREDENTIAL_ID before the
    // pod's first request.
    let stages = by_id(&events, ID_TOKEN_REQUEST);
    assert_eq!(stages.len(), 2);
    assert!(stages[0].get("annotations").is_none(), "issued at the end");
    let token = stages[1];
    assert_eq!(token["user"]["username"], kubelet);
    assert_eq!(
        (token["verb"].as_str(), token["level"].as_str()),
        (Some("create"), Some("Request"))
    );
    assert_eq!(
        token["requestURI"],
        "/api/v1/namespaces/payments/serviceaccounts/report-runner/token"
    );
    let o = &token["objectRef"];
    assert_eq!(
        format!(
            "{}/{}",
            o["namespace"].as_str().unwrap(),
            o["name"].as_str().unwrap()
        ),
        SERVICE_ACCOUNT
    );
    assert_eq!(
        (o["resource"].as_str(), o["subresource"].as_str()),
        (Some("serviceaccounts"), Some("token"))
    );
    assert_eq!(token["responseStatus"]["code"], 201);
    let body = &token["requestObject"];
    assert_eq!(body["kind"], "TokenRequest");
    assert_eq!(body["spec"]["expirationSeconds"], 3607);
    assert_eq!(body["spec"]["boundObjectRef"]["kind"], "Pod");
    assert_eq!(body["spec"]["boundObjectRef"]["name"], POD_NAME);
    assert_eq!(body["spec"]["boundObjectRef"]["uid"], POD_UID);
    assert_eq!(body["status"]["token"], "");
    assert_eq!(
        token["annotations"]["authentication.kubernetes.io/issued-credential-id"],
        CREDENTIAL_ID
    );
    let first_use = complete(&events, ID_SECRET_GETS[0]);
    assert!(time(token, "stageTimestamp") < time(first_use, "requestReceivedTimestamp"));

    // The port-forward: long-running like an exec, 101 from ResponseStarted.
    let stages = by_id(&events, ID_PORT_FORWARD);
    let names: Vec<_> = stages
        .iter()
        .map(|v| v["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    );
    assert!(
        stages[1..]
            .iter()
            .all(|v| v["responseStatus"]["code"] == 101)
    );
    assert_eq!(stages[0]["verb"], "create");
    assert_eq!(stages[0]["requestURI"], PORT_FORWARD_URI);
    assert_eq!(stages[0]["objectRef"]["subresource"], "portforward");
    assert_eq!(stages[0]["objectRef"]["name"], POD_NAME);
    assert_eq!(stages[0]["user"]["username"], EXEC_USER);

    // The ephemeral debug container, its body logged.
    let debug = complete(&events, ID_EPHEMERAL);
    assert_eq!(
        (debug["verb"].as_str(), debug["level"].as_str()),
        (Some("patch"), Some("Request"))
    );
    assert_eq!(debug["user"]["username"], EXEC_USER);
    assert_eq!(debug["objectRef"]["subresource"], "ephemeralcontainers");
    assert_eq!(debug["objectRef"]["name"], POD_NAME);
    assert_eq!(debug["responseStatus"]["code"], 200);
    let added = &debug["requestObject"]["spec"]["ephemeralContainers"][0];
    assert_eq!(added["name"], EPHEMERAL_CONTAINER);
    assert_eq!(added["image"], EPHEMERAL_IMAGE);
    assert_eq!(added["targetContainerName"], "runner");
    assert!(added.get("command").is_none() && added.get("securityContext").is_none());

    // The kubelet's watch of the secret: named only by its field selector, over before END.
    let stages = by_id(&events, ID_KUBELET_SECRET_WATCH);
    let names: Vec<_> = stages
        .iter()
        .map(|v| v["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["RequestReceived", "ResponseStarted", "ResponseComplete"]
    );
    let watch = stages[2];
    assert_eq!(watch["user"]["username"], kubelet);
    assert_eq!(watch["verb"], "watch");
    assert_eq!(watch["requestURI"], KUBELET_SECRET_WATCH_URI);
    assert!(
        KUBELET_SECRET_WATCH_URI.contains(&format!("fieldSelector=metadata.name%3D{SECRET_NAME}&"))
    );
    assert_eq!(watch["objectRef"]["resource"], "secrets");
    assert_eq!(watch["objectRef"]["namespace"], SECRET_NAMESPACE);
    assert!(stages.iter().all(|v| v["objectRef"].get("name").is_none()));
    assert_eq!(watch["responseStatus"]["code"], 200);
    let parse = |s: String| chrono::DateTime::parse_from_rfc3339(&s).unwrap();
    let lasted =
        parse(time(watch, "stageTimestamp")) - parse(time(watch, "requestReceivedTimestamp"));
    assert_eq!(lasted.num_seconds(), 7 * 60 + 41, "timeout=7m41s");
    assert!(parse(time(watch, "stageTimestamp")) < parse(END.to_string()));
    assert!(!SECRET_READ_IDS.contains(&ID_KUBELET_SECRET_WATCH));
}

#[test]
fn a_request_scheduled_with_its_own_jitter_leaves_the_noise_unchanged() {
    let start = chrono::DateTime::parse_from_rfc3339(START)
        .unwrap()
        .to_utc();
    let lines = |with_scene: bool| {
        let mut noise = Noise::with_rate(NOISE_SEED, start, NOISE_REQUESTS_PER_HOUR);
        if with_scene {
            let probe = Actor::new(
                &Identity {
                    username: "scene",
                    uid: "",
                    groups: &[],
                    extra: &[],
                },
                None,
                &["10.0.0.1"],
                "test",
                "",
            );
            let mut r = Req::new(Uuid::parse(ID_CP), probe, "get");
            r.uri = "/livez".into();
            r.t_received = start.timestamp_micros() + 600 * MICROS_PER_SEC;
            r.t_rr_stage = r.t_received + 10;
            r.t_done = r.t_received + 900;
            noise.schedule_with_jitter(r, &mut Rng::new(1));
        }
        let mut out = Vec::new();
        while out.len() < 2_000 {
            let mut line = String::new();
            noise.next_line(&mut line);
            if !line.contains(ID_CP) {
                out.push(line);
            }
        }
        out
    };
    assert_eq!(lines(true), lines(false));
}

#[test]
fn noise_has_the_expected_mix_and_shape() {
    let events = story_events();
    let mut lines_by_user: HashMap<&str, usize> = HashMap::new();
    for (v, _) in &events {
        *lines_by_user
            .entry(v["user"]["username"].as_str().unwrap())
            .or_default() += 1;
    }
    let top = lines_by_user.iter().max_by_key(|&(_, n)| *n).unwrap();
    assert_eq!(*top.0, TOP_USER);
    let cluster_secret_watch = events.iter().any(|(v, _)| {
        v["user"]["username"] == CLUSTER_WIDE_SECRET_WATCHER
            && v["verb"] == "watch"
            && v["objectRef"]["resource"] == "secrets"
            && v["objectRef"].get("namespace").is_none()
    });
    assert!(cluster_secret_watch);
    // Noise never touches the story's namespace.
    let scene_ids: Vec<&str> = events
        .iter()
        .filter_map(|(v, _)| v["auditID"].as_str())
        .filter(|id| id.starts_with("a1d17000-"))
        .collect();
    for (v, _) in &events {
        if v["objectRef"]["namespace"] == "payments" {
            assert!(scene_ids.contains(&v["auditID"].as_str().unwrap()));
        }
    }
}

#[test]
fn noise_lines_are_well_formed() {
    let start = chrono::DateTime::parse_from_rfc3339(START)
        .unwrap()
        .to_utc();
    let mut noise = Noise::new(42, start);
    let mut events = Vec::new();
    for _ in 0..20_000 {
        let mut line = String::new();
        noise.next_line(&mut line);
        let v: Value = serde_json::from_str(&line).unwrap();
        check_event(&v, &line);
        events.push((v, line));
    }
    check_stage_order(&events);
    let mut seen = std::collections::HashSet::new();
    for (v, _) in &events {
        let key = (v["auditID"].as_str().unwrap(), v["stage"].as_str().unwrap());
        assert!(seen.insert(key), "duplicate {key:?}");
        if v["verb"] == "watch" && v["stage"] == "ResponseComplete" {
            let t = |k: &str| chrono::DateTime::parse_from_rfc3339(v[k].as_str().unwrap()).unwrap();
            let secs = (t("stageTimestamp") - t("requestReceivedTimestamp")).num_seconds();
            assert!((300..=601).contains(&secs), "watch lasted {secs}s");
        }
        if let Some(extra) = v["user"].get("extra")
            && extra.get("authentication.kubernetes.io/pod-name").is_some()
        {
            for k in ["pod-uid", "node-name", "node-uid", "credential-id"] {
                assert!(
                    extra
                        .get(format!("authentication.kubernetes.io/{k}"))
                        .is_some()
                );
            }
            let jti = extra["authentication.kubernetes.io/credential-id"][0]
                .as_str()
                .unwrap();
            assert!(jti.starts_with("JTI="));
        }
    }
    let count = |pred: &dyn Fn(&Value) -> bool| events.iter().filter(|(v, _)| pred(v)).count();
    assert!(count(&|v| v["responseStatus"]["code"] == 404) > 0);
    assert!(count(&|v| v["responseStatus"]["code"] == 409) > 0);
    assert!(
        count(&|v| v.get("objectRef").is_none()) > 0,
        "healthz and friends"
    );
    assert!(count(&|v| v["stage"] == "ResponseStarted") > 0);
    let operator = count(&|v| v["user"]["username"] == TOP_USER);
    assert!(
        operator * 4 > events.len(),
        "the operator dominates: {operator}/{}",
        events.len()
    );
}

#[test]
fn sample_logs_are_up_to_date() {
    // Compares the committed files with story(); the gzip by content, since another
    // deflate backend may compress the same bytes differently.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    if !dir.exists() {
        eprintln!("no {} to compare", dir.display());
        return;
    }
    for (name, bytes) in story_cached() {
        let committed = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name.ends_with(".gz") {
            assert!(
                gunzip(&committed) == gunzip(bytes),
                "{name} is stale: run the synth example"
            );
        } else {
            assert!(
                committed == *bytes,
                "{name} is stale: run the synth example"
            );
        }
    }
}

#[test]
fn escaping_matches_go() {
    let mut out = String::new();
    push_escaped(&mut out, "a&b<c>\"d\\e\n\t\u{1b}[0m\u{2028}é");
    assert_eq!(out, r#"a\u0026b\u003cc\u003e\"d\\e\n\t\u001b[0m\u2028é"#);
}

#[test]
fn timestamps_match_chrono() {
    let mut rng = Rng::new(3);
    for _ in 0..1_000 {
        let micros = rng.range(0, 4_102_444_800_000_000);
        let mut ours = String::new();
        push_timestamp(&mut ours, micros);
        let theirs = chrono::DateTime::from_timestamp_micros(micros)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        assert_eq!(ours, theirs);
    }
}

#[test]
fn durations_match_go() {
    for (micros, go) in [
        (612, "612µs"),
        (12_500, "12.5ms"),
        (1_000_000, "1s"),
        (41_310_992, "41.310992s"),
        (372_118_560, "6m12.11856s"),
        (3_723_000_000, "1h2m3s"),
    ] {
        assert_eq!(go_duration(micros), go);
    }
}

#[test]
fn uuids_are_v4() {
    let mut rng = Rng::new(9);
    for _ in 0..100 {
        let u = rng.uuid();
        let s = u.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
    }
}
