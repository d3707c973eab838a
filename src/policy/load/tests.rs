use super::*;

fn errors(text: &str) -> Vec<String> {
    load(text).expect_err("refused").errors
}

const HEAD: &str = "apiVersion: audit.k8s.io/v1\nkind: Policy\n";

#[test]
fn a_policy_loads_from_yaml_and_json_alike() {
    let yaml = format!(
        "{HEAD}omitStages:\n  - RequestReceived\nrules:\n  # secrets at Metadata\n  - level: Metadata\n    resources:\n    - group: \"\"\n      resources: [secrets]\n  - level: None\n    nonResourceURLs: [\"/healthz*\"]\n"
    );
    let (policy, warnings) = load(&yaml).unwrap();
    assert!(warnings.is_empty());
    assert_eq!(policy.omit_stages, ["RequestReceived"]);
    assert_eq!(policy.rules.len(), 2);
    assert_eq!((policy.rules[0].line, policy.rules[1].line), (7, 11));
    assert_eq!(policy.rules[0].resources[0].resources, ["secrets"]);
    let json = r#"{"apiVersion": "audit.k8s.io/v1", "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [{"level": "Metadata", "resources": [{"group": "", "resources": ["secrets"]}]},
                  {"level": "None", "nonResourceURLs": ["/healthz*"]}]}"#;
    let (from_json, _) = load(json).unwrap();
    assert_eq!(
        (
            from_json.rules[1].level,
            &from_json.rules[1].non_resource_urls
        ),
        (Level::None, &vec!["/healthz*".to_string()])
    );
}

/// Each of `ValidatePolicy`'s refusals, at its line.
#[test]
fn invalid_policies_are_refused_with_their_lines() {
    let text = format!(
        "{HEAD}omitStages: [RequestRecieved]\nrules:\n- level: Everything\n- verbs: [get]\n- level: Metadata\n  nonResourceURLs: [healthz, \"/a*b\"]\n  namespaces: [default]\n- level: Metadata\n  resources:\n  - group: Apps\n    resourceNames: [x]\n"
    );
    let found = errors(&text);
    let expected = [
        "line 3: omitStages[0]: \"RequestRecieved\": allowed stages are",
        "line 5: rules[0].level: Unsupported value: \"Everything\"",
        "line 6: rules[1].level: Required value",
        "line 8: rules[2].nonResourceURLs[0]: \"healthz\": non-resource URL rules must begin with a '/'",
        "line 8: rules[2].nonResourceURLs[1]: \"/a*b\": non-resource URL wildcards '*' must be the final",
        "line 8: rules[2].nonResourceURLs: rules cannot apply to both",
        "line 12: rules[3].resources[0].group: \"Apps\": a group is a DNS subdomain",
        "line 13: rules[3].resources[0].resourceNames: using resourceNames requires at least one resource",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (got, want) in found.iter().zip(expected) {
        assert!(got.starts_with(want), "{got}\n  is not\n{want}");
    }
}

#[test]
fn what_the_apiserver_refuses_to_decode_is_refused() {
    // YAML 1.1 types: `yes` and `123` are no strings.
    let found = errors(&format!(
        "{HEAD}rules:\n- level: Metadata\n  users: [alice, yes, 123]\n"
    ));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0]
            .starts_with("line 5: rules[0].users[1]: a string is expected, got the boolean true"),
        "{found:?}"
    );
    assert!(found[1].contains("users[2]: a string is expected, got the number 123"));
    // A scalar where a list belongs.
    let found = errors(&format!("{HEAD}rules:\n- level: Metadata\n  verbs: get\n"));
    assert!(
        found[0].starts_with("line 5: rules[0].verbs: a list of strings is expected"),
        "{found:?}"
    );
    // Versions and kinds a current apiserver does not read, and no rules at all.
    let found = errors("apiVersion: audit.k8s.io/v1beta1\nkind: Policy\nrules:\n- level: None\n");
    assert!(
        found[0].starts_with("line 1: apiVersion: \"audit.k8s.io/v1beta1\" is not audit.k8s.io/v1")
    );
    assert!(
        errors("apiVersion: audit.k8s.io/v1\nrules:\n- level: None\n")[0].contains("kind: missing")
    );
    assert!(errors(&format!("{HEAD}rules: []\n"))[0].contains("no rules"));
    assert!(errors("")[0].contains("no Policy"));
    assert!(errors("rules: [")[0].starts_with("line "));
}

/// Strictness fails but lenient decoding succeeds: the apiserver loads the Policy and
/// logs a warning. A misspelt key is then silently ignored, so it must be said.
#[test]
fn unknown_and_repeated_fields_are_warnings_and_the_last_copy_counts() {
    let text = format!(
        "{HEAD}rules:\n- level: Metadata\n  omitStage: [RequestReceived]\n  Verbs: [get]\n  level: Request\n"
    );
    let (policy, warnings) = load(&text).unwrap();
    assert_eq!(policy.rules[0].level, Level::Request);
    assert!(policy.rules[0].omit_stages.is_empty() && policy.rules[0].verbs.is_empty());
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings[0].starts_with("line 5: rules[0].omitStage: unknown field"));
    assert!(warnings[1].starts_with("line 6: rules[0].Verbs: unknown field"));
    assert!(warnings[2].starts_with("line 7: rules[0].level: repeated field"));
}

#[test]
fn anchors_and_aliases_are_followed() {
    let text = format!(
        "{HEAD}rules:\n- level: Metadata\n  verbs: &writes [create, update, patch]\n- level: Request\n  verbs: *writes\n"
    );
    let (policy, _) = load(&text).unwrap();
    assert_eq!(policy.rules[1].verbs, ["create", "update", "patch"]);
}

/// Nested aliases that would expand to billions of values are refused before they are.
#[test]
fn an_alias_bomb_is_refused() {
    let mut text = format!("{HEAD}a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text += &format!("a{i}: &a{i} [{refs}]\n");
    }
    text += "rules:\n- level: None\n";
    let started = std::time::Instant::now();
    let errors = errors(&text);
    assert!(
        errors[0].contains("aliases expand to more than"),
        "{errors:?}"
    );
    assert!(started.elapsed().as_secs() < 5);
}

/// YAML as go-yaml v2 reads it: merge keys, `!!str`, which plain words are numbers, and
/// a non-resource URL that ends in a multi-byte character.
#[test]
fn yaml_reads_as_the_apiservers_reader_reads_it() {
    let text = format!(
        "{HEAD}x: &sec {{level: Metadata, resources: [{{group: \"\", resources: [secrets]}}]}}\nrules:\n- <<: *sec\n  level: None\n  users: [alice]\n- level: RequestResponse\n"
    );
    let (policy, _) = load(&text).unwrap();
    let rule = &policy.rules[0];
    assert_eq!(
        (rule.level, rule.users.len()),
        (Level::None, 1),
        "explicit keys win"
    );
    assert_eq!(
        rule.resources[0].resources,
        ["secrets"],
        "merged keys fill in"
    );
    let words = format!("{HEAD}rules:\n- level: Metadata\n  namespaces: [!!str 2024, 0xzz, _1]\n");
    assert_eq!(
        load(&words).unwrap().0.rules[0].namespaces,
        ["2024", "0xzz", "_1"]
    );
    assert!(
        errors(&format!(
            "{HEAD}rules:\n- level: Metadata\n  namespaces: [0b1]\n"
        ))[0]
            .contains("the number 0b1")
    );
    let (policy, _) = load(&format!(
        "{HEAD}rules:\n- level: None\n  nonResourceURLs: [\"/café\", \"/é*\"]\n"
    ))
    .unwrap();
    assert_eq!(policy.rules[0].non_resource_urls, ["/café", "/é*"]);
    assert!(
        errors(&format!(
            "{HEAD}rules:\n- level: None\n  nonResourceURLs: [\"/c*fé\"]\n"
        ))[0]
            .contains("must be the final character")
    );
}
