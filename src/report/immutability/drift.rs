//! Drift at runtime: whether a session opened into a container (exec, attach, `kubectl
//! cp`) tried to change it, and whether the container's spec lets it.
//!
//! A command is read as a shell reads it, roughly: `sh -c SCRIPT` is split into simple
//! commands at `;`, `&&`, `||`, `|` and newlines, each skipping `VAR=value` words and
//! wrappers with their options (`sudo -u root`, `env`, `timeout 5s`, `nice -n 10`,
//! `xargs`, `busybox`). A command that writes or installs (`touch`, `cp`, `mv`, `tee`,
//! `sed -i`, `perl -pi`, `chmod`, `chown`, `chattr`, package managers' `install`,
//! `dpkg -i`, `rpm -U`, `curl -o`, `wget`, `tar x`, `unzip`, `git clone`, `find
//! -delete`, user and cron tools, a redirection `>`) is an attempt, with the paths it
//! writes where the command says them; a shell in a script given no script of its own
//! (`curl … | sh`) runs one the log does not hold. Quoting is not parsed: a quoted `>`
//! counts too, which errs towards reporting.

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
/// More package managers: (program, the words or options that make it install).
const INSTALLERS: [(&str, &[&str]); 10] = [
    ("opkg", &["install", "upgrade", "remove"]),
    ("yarn", &["add", "global", "install"]),
    ("pnpm", &["add", "install", "i"]),
    ("pipx", &["install", "upgrade"]),
    ("conda", &["install", "update", "remove"]),
    ("go", &["install", "get"]),
    ("cargo", &["install"]),
    ("composer", &["require", "install", "update"]),
    (
        "dpkg",
        &[
            "-i",
            "--install",
            "--unpack",
            "-r",
            "--remove",
            "-P",
            "--purge",
        ],
    ),
    (
        "rpm",
        &[
            "-i",
            "-U",
            "-F",
            "-e",
            "-ivh",
            "-Uvh",
            "--install",
            "--upgrade",
            "--erase",
        ],
    ),
];
const INSTALL_VERBS: [&str; 6] = ["install", "add", "i", "upgrade", "update", "remove"];
/// Commands that write the paths they are given (every argument that is not an option).
const WRITERS: [&str; 18] = [
    "touch", "tee", "mkdir", "rm", "rmdir", "truncate", "chmod", "chown", "chgrp", "ln", "unlink",
    "shred", "mknod", "mkfifo", "chattr", "gzip", "gunzip", "setfacl",
];
/// Commands whose first operand is a mode, owner or attribute, not a path.
const MODE_FIRST: [&str; 5] = ["chmod", "chown", "chgrp", "chattr", "setfacl"];
/// Commands that change the system's users and groups (`/etc/passwd`, `/etc/shadow`).
const USER_TOOLS: [&str; 9] = [
    "useradd", "adduser", "usermod", "userdel", "deluser", "groupadd", "addgroup", "passwd",
    "chpasswd",
];
/// Words that run the command after them (with their own options): `sudo touch /x`
/// writes as `touch /x` does. `busybox` and `toybox` run the applet named next.
const WRAPPERS: [&str; 16] = [
    "sudo", "doas", "env", "exec", "nohup", "nice", "ionice", "time", "command", "builtin",
    "stdbuf", "setsid", "xargs", "timeout", "busybox", "toybox",
];

/// The attempt a session's command makes, if it writes or installs (`kubectl cp` into
/// a container is an exec of `tar xmf - -C DIR`).
pub fn attempt(argv: &[String]) -> Option<Attempt> {
    let mut commands = Vec::new();
    let mut targets = Vec::new();
    for (words, in_script) in simple_commands(argv) {
        let mut found = writes(&words);
        // `curl … | sh` inside a script: a shell with no script named reads one from
        // its input, which the audit log does not hold.
        if in_script && found.is_empty() && runs_piped_script(&words) {
            found.push(PIPED_SCRIPT.to_string());
        }
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

/// The target of a shell reading a script from a pipe: what it writes is not logged.
const PIPED_SCRIPT: &str = "(a script read from a pipe)";

/// The target of `xargs rm` and the like: paths read from the command's input.
const FROM_INPUT: &str = "(paths read from its input)";

/// A shell given no script (`sh`, `bash -s`, `sh -x`): it runs what it reads.
fn runs_piped_script(words: &[String]) -> bool {
    let words = skip_wrappers(words);
    words
        .first()
        .is_some_and(|p| SHELLS.contains(&basename(p)) && basename(p) != "busybox")
        && words[1..]
            .iter()
            .all(|w| w.starts_with('-') && !w.contains('c'))
}

/// The simple commands of argv, each told whether it came from a script: argv itself,
/// or the script of `sh -c SCRIPT` cut at shell operators.
fn simple_commands(argv: &[String]) -> Vec<(Vec<String>, bool)> {
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
        return vec![(argv.to_vec(), false)];
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
            out.push((words, true));
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
    let via_xargs = words
        .iter()
        .take(words.len() - skip_wrappers(words).len())
        .any(|w| basename(w) == "xargs");
    let words: Vec<&str> = skip_wrappers(words)
        .iter()
        .map(String::as_str)
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
    let option_value = |names: &[&str]| {
        let at = args.iter().position(|a| names.contains(a))?;
        args.get(at + 1).map(|a| a.to_string())
    };
    match program {
        _ if WRITERS.contains(&program) => {
            let mut operands: Vec<String> = operands().collect();
            // chmod MODE FILE…, chown OWNER FILE…: the first operand is no path.
            if MODE_FIRST.contains(&program) && !operands.is_empty() {
                operands.remove(0);
            }
            // `chattr +i FILE`: an attribute, not a path.
            operands.retain(|o| !o.starts_with('+'));
            // `… | xargs rm`: the paths come from its input.
            if operands.is_empty() && via_xargs && program != "tee" {
                operands.push(FROM_INPUT.to_string());
            }
            targets.extend(operands);
        }
        // `cp -t DIR FILE…` names its destination first.
        "cp" | "mv" | "install" | "rsync" => match option_value(&["-t", "--target-directory"]) {
            Some(dir) => targets.push(dir),
            None => targets.extend(operands().next_back()),
        },
        // `-i`, or a cluster holding it (`sed -Ei`, `perl -pi`).
        "sed" | "perl"
            if args.iter().any(|a| {
                a.starts_with("--in-place")
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('i'))
            }) =>
        {
            targets.extend(operands().next_back());
        }
        _ if PACKAGE_MANAGERS.contains(&program)
            && args.iter().any(|a| INSTALL_VERBS.contains(a)) =>
        {
            targets.push("/usr".to_string());
        }
        _ if INSTALLERS
            .iter()
            .any(|(p, verbs)| *p == program && args.iter().any(|a| verbs.contains(a))) =>
        {
            targets.push("/usr".to_string());
        }
        _ if USER_TOOLS.contains(&program) => targets.push("/etc".to_string()),
        "crontab" if !args.iter().any(|a| matches!(*a, "-l")) => {
            targets.push("/var/spool/cron".to_string());
        }
        "unzip" => targets.push(option_value(&["-d"]).unwrap_or_else(|| ".".to_string())),
        "git" if args.first() == Some(&"clone") => {
            let operands: Vec<String> = operands().skip(1).collect();
            targets.push(match operands.as_slice() {
                [_, dir, ..] => dir.clone(),
                _ => ".".to_string(),
            });
        }
        // `find DIR … -delete`, or `-exec`/`-execdir` of a command that writes.
        "find" if args.contains(&"-delete") || finds_and_writes(args) => {
            targets.push(operands().next().unwrap_or_else(|| ".".to_string()));
        }
        "curl" => match short_or_long_value(args, 'o', "--output") {
            Some(file) if file == "-" => {}
            Some(file) => targets.push(file),
            None if args.iter().any(|a| {
                *a == "--remote-name"
                    || (a.starts_with('-') && !a.starts_with("--") && a.contains('O'))
            }) =>
            {
                targets.push(".".to_string());
            }
            None => {}
        },
        // wget writes a file named from the URL unless told otherwise.
        "wget" => match short_or_long_value(args, 'O', "--output-document") {
            Some(file) if file == "-" => {}
            Some(file) => targets.push(file),
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

/// The value of option `-L` (alone, or last in a cluster: `-sSLo FILE`, `-qO-`, value
/// attached or next) or `LONG` (`--output FILE`, `--output=FILE`); `-` is standard
/// output, which writes no file.
fn short_or_long_value(args: &[&str], letter: char, long: &str) -> Option<String> {
    let mut value = None;
    for (at, arg) in args.iter().enumerate() {
        let next = || args.get(at + 1).map(|v| v.to_string());
        if let Some(rest) = arg.strip_prefix(long) {
            value = match rest.strip_prefix('=') {
                Some(attached) => Some(attached.to_string()),
                None if rest.is_empty() => next(),
                None => continue,
            };
        } else if arg.starts_with('-') && !arg.starts_with("--") {
            if let Some((_, rest)) = arg[1..].split_once(letter) {
                value = if rest.is_empty() {
                    next()
                } else {
                    Some(rest.to_string())
                };
            }
        }
    }
    value
}

/// Whether a `find`'s `-exec`/`-execdir`/`-ok` runs a command that writes.
fn finds_and_writes(args: &[&str]) -> bool {
    let exec = ["-exec", "-execdir", "-ok", "-okdir"];
    let Some(at) = args.iter().position(|a| exec.contains(a)) else {
        return false;
    };
    let command: Vec<String> = args[at + 1..]
        .iter()
        .take_while(|a| !matches!(**a, ";" | "\\;" | "+"))
        .map(|a| a.replace("{}", "/found"))
        .collect();
    !writes(&command).is_empty()
}

/// `words` from the command a wrapper runs: `VAR=value` words, and wrappers (`sudo -u
/// root`, `timeout 5s`, `nice -n 10`, `busybox`) with their options, are skipped.
fn skip_wrappers(words: &[String]) -> &[String] {
    let mut at = 0;
    while let Some(word) = words.get(at) {
        if word.contains('=') && !word.starts_with('-') {
            at += 1;
            continue;
        }
        let program = basename(word);
        if !WRAPPERS.contains(&program) {
            break;
        }
        at += 1;
        // Its options, and the values of those that take one (`-n 10`, `-u root`).
        let valued = WRAPPER_VALUES
            .iter()
            .find(|(w, _)| *w == program)
            .map_or(&[][..], |(_, options)| *options);
        while let Some(option) = words.get(at).filter(|w| w.starts_with('-')) {
            at += 1;
            if valued.contains(&option.as_str()) && words.get(at).is_some() {
                at += 1;
            }
        }
        // `timeout DURATION COMMAND`.
        if program == "timeout" && words.get(at).is_some() {
            at += 1;
        }
    }
    &words[at..]
}

/// The options of a wrapper that take a value as the next word.
const WRAPPER_VALUES: [(&str, &[&str]); 8] = [
    (
        "sudo",
        &["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"],
    ),
    ("doas", &["-u", "-C"]),
    ("env", &["-u", "-C", "--unset", "--chdir"]),
    ("nice", &["-n", "--adjustment"]),
    ("ionice", &["-c", "-n", "-p", "--class", "--classdata"]),
    ("xargs", &["-I", "-n", "-P", "-d", "-s", "-L", "-a", "-E"]),
    ("timeout", &["-s", "-k", "--signal", "--kill-after"]),
    ("stdbuf", &["-i", "-o", "-e"]),
];

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
        // What the session read from its input is not in the audit log.
        if target == PIPED_SCRIPT || target == FROM_INPUT {
            return format!("unknown: {target}, not in the audit log");
        }
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
mod tests;
