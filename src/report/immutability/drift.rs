//! Drift at runtime: whether a session opened into a container (exec, attach, `kubectl
//! cp`) tried to change it, and whether the container's spec lets it.
//!
//! A command is read as a shell reads it, roughly: `sh -c SCRIPT` is split into simple
//! commands at `;`, `&&`, `||`, `|` and newlines, each skipping `sudo`, `env` and
//! `VAR=value` words. A command that writes or installs (`touch`, `cp`, `mv`, `tee`,
//! `sed -i`, `chmod`, `chown`, package managers' `install`, `curl -o`, `wget`, `tar x`,
//! a redirection `>`) is an attempt, with the paths it writes where the command says
//! them. Quoting is not parsed: a quoted `>` counts too, which errs towards reporting.

use crate::podspec::posture::ContainerPosture;

/// One attempt to change a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The commands that write, as the session ran them (`apt-get install -y curl`).
    pub commands: Vec<String>,
    /// The paths written: absolute, or relative to the working directory; `/usr` for a
    /// package install.
    pub targets: Vec<String>,
}

const SHELLS: [&str; 6] = ["sh", "bash", "ash", "dash", "zsh", "busybox"];
const PACKAGE_MANAGERS: [&str; 11] = [
    "apt", "apt-get", "apk", "yum", "dnf", "microdnf", "zypper", "pip", "pip3", "npm", "gem",
];
const INSTALL_VERBS: [&str; 6] = ["install", "add", "i", "upgrade", "update", "remove"];
/// Commands that write the paths they are given (every argument that is not an option).
const WRITERS: [&str; 10] = [
    "touch", "tee", "mkdir", "rm", "rmdir", "truncate", "chmod", "chown", "chgrp", "ln",
];

/// The attempt a session's command makes, if it writes or installs (`kubectl cp` into
/// a container is an exec of `tar xmf - -C DIR`).
pub fn attempt(argv: &[String]) -> Option<Attempt> {
    let mut commands = Vec::new();
    let mut targets = Vec::new();
    for words in simple_commands(argv) {
        let found = writes(&words);
        if !found.is_empty() {
            commands.push(words.join(" "));
            for target in found {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
    }
    (!commands.is_empty()).then_some(Attempt { commands, targets })
}

/// The simple commands of argv: itself, or the script of `sh -c SCRIPT` cut at shell
/// operators.
fn simple_commands(argv: &[String]) -> Vec<Vec<String>> {
    let program = argv.first().map(|p| basename(p)).unwrap_or_default();
    let script = SHELLS
        .contains(&program)
        .then(|| {
            // `-c`, or a cluster holding it (`bash -lc SCRIPT`, `sh -ec SCRIPT`).
            let is_c = |a: &String| a.starts_with('-') && !a.starts_with("--") && a.contains('c');
            argv.iter().position(is_c)
        })
        .flatten()
        .and_then(|at| argv.get(at + 1));
    let Some(script) = script else {
        return vec![argv.to_vec()];
    };
    let mut out = Vec::new();
    let spaced = script
        .replace("&&", "\n")
        .replace("||", "\n")
        .replace([';', '|'], "\n");
    for line in spaced.lines() {
        // `echo x >/tmp/f` and `echo x > /tmp/f` alike: the operator is its own word.
        let line = line.replace(">>", " > ").replace('>', " > ");
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if !words.is_empty() {
            out.push(words);
        }
    }
    out
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The paths a simple command writes; empty when it writes none.
fn writes(words: &[String]) -> Vec<String> {
    let mut targets = Vec::new();
    // A redirection writes its file (not /dev/null and its kind).
    for pair in words.windows(2) {
        if pair[0] == ">" && !pair[1].starts_with("/dev/") && !pair[1].starts_with('&') {
            targets.push(pair[1].clone());
        }
    }
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| matches!(*w, "sudo" | "env" | "exec") || w.contains('='))
        .take_while(|w| *w != ">")
        .collect();
    let Some((&program, args)) = words.split_first() else {
        return targets;
    };
    let operands = || {
        args.iter()
            .filter(|a| !a.starts_with('-'))
            .map(|a| a.to_string())
    };
    let program = basename(program);
    match program {
        _ if WRITERS.contains(&program) => {
            let mut operands: Vec<String> = operands().collect();
            // chmod MODE FILE…, chown OWNER FILE…: the first operand is no path.
            if matches!(program, "chmod" | "chown" | "chgrp") && !operands.is_empty() {
                operands.remove(0);
            }
            targets.extend(operands);
        }
        "cp" | "mv" | "install" | "rsync" => targets.extend(operands().next_back()),
        "sed"
            if args
                .iter()
                .any(|a| a.starts_with("-i") || *a == "--in-place") =>
        {
            targets.extend(operands().next_back());
        }
        _ if PACKAGE_MANAGERS.contains(&program)
            && args.iter().any(|a| INSTALL_VERBS.contains(a)) =>
        {
            targets.push("/usr".to_string());
        }
        "curl" => {
            if let Some(at) = args.iter().position(|a| matches!(*a, "-o" | "--output")) {
                targets.extend(args.get(at + 1).map(|a| a.to_string()));
            } else if args.iter().any(|a| matches!(*a, "-O" | "--remote-name")) {
                targets.push(".".to_string());
            }
        }
        "wget" => match args
            .iter()
            .position(|a| matches!(*a, "-O" | "--output-document"))
        {
            Some(at) => targets.extend(args.get(at + 1).map(|a| a.to_string())),
            None => targets.push(".".to_string()),
        },
        "tar" => {
            let extracts = args.first().is_some_and(|first| {
                let cluster = first.trim_start_matches('-');
                !first.starts_with("--") && cluster.contains('x')
            }) || args.contains(&"--extract");
            if extracts {
                let dir = args
                    .iter()
                    .position(|a| *a == "-C")
                    .and_then(|at| args.get(at + 1));
                targets.push(dir.map_or(".".to_string(), |d| d.to_string()));
            }
        }
        "dd" => targets.extend(
            args.iter()
                .filter_map(|a| a.strip_prefix("of="))
                .map(str::to_string),
        ),
        _ => {}
    }
    targets.retain(|t| !t.is_empty() && !t.starts_with("/dev/") && !t.starts_with("/proc/"));
    targets
}

/// Whether the attempt can write where it aims, under the container's spec:
/// `yes: root filesystem writable`, `yes: /var/run (emptyDir)`, `no: read-only root`,
/// or why it cannot be told.
pub fn writable(attempt: &Attempt, container: Option<&ContainerPosture>) -> String {
    let Some(c) = container else {
        return "unknown: no spec of the container logged".to_string();
    };
    if !c.read_only_root {
        return "yes: root filesystem writable".to_string();
    }
    let mut unknown = false;
    for target in &attempt.targets {
        if !target.starts_with('/') {
            unknown = true;
            continue;
        }
        // `/var/run (emptyDir)`: the mount path, then its volume type.
        let mount = c.writable_paths.iter().find(|declared| {
            let path = declared.split(" (").next().unwrap_or_default();
            let path = path.trim_end_matches('/');
            target == path || target.starts_with(&format!("{path}/"))
        });
        if let Some(mount) = mount {
            return format!("yes: {mount}");
        }
    }
    if unknown {
        "unknown: a relative path (the working directory is not logged)".to_string()
    } else {
        "no: read-only root, outside its writable paths".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn targets(words: &[&str]) -> Option<Vec<String>> {
        attempt(&argv(words)).map(|a| a.targets)
    }

    #[test]
    fn commands_that_write_or_install_are_attempts() {
        assert_eq!(
            targets(&["apt-get", "install", "-y", "curl"]),
            Some(vec!["/usr".into()])
        );
        assert_eq!(targets(&["touch", "/tmp/x"]), Some(vec!["/tmp/x".into()]));
        assert_eq!(
            targets(&["cp", "-r", "/a", "/etc/app"]),
            Some(vec!["/etc/app".into()])
        );
        assert_eq!(
            targets(&["sed", "-i", "s/a/b/", "/etc/conf"]),
            Some(vec!["/etc/conf".into()])
        );
        assert_eq!(
            targets(&["chmod", "777", "/app"]),
            Some(vec!["/app".into()])
        );
        assert_eq!(
            targets(&["tar", "xmf", "-", "-C", "/var/www"]),
            Some(vec!["/var/www".into()])
        );
        assert_eq!(
            targets(&["curl", "-o", "/tmp/t", "http://x"]),
            Some(vec!["/tmp/t".into()])
        );
        assert_eq!(
            targets(&["pip", "install", "requests"]),
            Some(vec!["/usr".into()])
        );
        // A shell's script, cut at its operators, with redirections.
        let a = attempt(&argv(&[
            "sh",
            "-c",
            "id; echo pwned >/etc/motd && cat /etc/passwd 2>/dev/null",
        ]))
        .unwrap();
        assert_eq!(a.targets, ["/etc/motd"]);
        assert_eq!(a.commands, ["echo pwned > /etc/motd"]);
        // Option clusters holding -c run a script too.
        assert_eq!(
            targets(&["bash", "-lc", "apk add curl"]),
            Some(vec!["/usr".into()])
        );
    }

    #[test]
    fn commands_that_only_read_are_not() {
        for words in [
            &["sh"][..],
            &["cat", "/etc/passwd"],
            &["tar", "cf", "-", "/app/config"],
            &["ls", "-la", ">/dev/null"],
            &["sh", "-c", "ps aux | grep x > /dev/null"],
            &["apt-get", "--version"],
        ] {
            assert_eq!(targets(words), None, "{words:?}");
        }
    }

    #[test]
    fn a_read_only_container_can_write_only_its_declared_paths() {
        let c = ContainerPosture {
            read_only_root: true,
            writable_paths: vec!["/var/run (emptyDir)".into()],
            ..ContainerPosture::default()
        };
        let install = attempt(&argv(&["apt-get", "install", "curl"])).unwrap();
        assert_eq!(
            writable(&install, Some(&c)),
            "no: read-only root, outside its writable paths"
        );
        let pid = attempt(&argv(&["touch", "/var/run/x.pid"])).unwrap();
        assert_eq!(writable(&pid, Some(&c)), "yes: /var/run (emptyDir)");
        // `/var/runner` is not under `/var/run`.
        let near = attempt(&argv(&["touch", "/var/runner"])).unwrap();
        assert_eq!(
            writable(&near, Some(&c)),
            "no: read-only root, outside its writable paths"
        );
        let open = ContainerPosture::default();
        assert_eq!(
            writable(&install, Some(&open)),
            "yes: root filesystem writable"
        );
        assert!(writable(&install, None).starts_with("unknown"));
    }
}
