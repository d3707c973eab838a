//! The real binary in a pseudo-terminal, read through a terminal emulator: what a
//! user at an 100x30 terminal sees when they type a query, open a row and quit.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{LocalModes, Winsize, tcgetattr, tcsetwinsize};

use crate::common::Kaudit;
use crate::samples::samples;

fn sample_logs() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs")
}

/// A child on a pseudo-terminal, with the screen it has drawn.
pub struct Terminal {
    master: std::fs::File,
    /// Kept open to read the terminal's modes after the child is gone.
    slave: std::fs::File,
    child: Child,
    screen: Arc<Mutex<vt100::Parser>>,
    /// Every byte the child wrote to the terminal.
    raw: Arc<Mutex<Vec<u8>>>,
    /// The thread reading the master side, and its stop flag.
    stop_reading: Arc<AtomicBool>,
    reading: Option<std::thread::JoinHandle<()>>,
}

const ROWS: u16 = 30;
const COLS: u16 = 100;
/// Generous: a debug build on a loaded two-core machine. Only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(30);

impl Terminal {
    pub fn spawn(command: std::process::Command) -> Terminal {
        Terminal::spawn_sized(command, ROWS, COLS)
    }

    /// On a terminal of `rows` x `cols` (160 columns show the wide table).
    pub fn spawn_sized(mut command: std::process::Command, rows: u16, cols: u16) -> Terminal {
        // CLOEXEC: a child (this one, or another test's running at the same time) that
        // inherited the master side would keep the terminal from ever hanging up.
        let master =
            openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&slave, size).unwrap();
        command
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap());
        // SAFETY: between fork and exec only async-signal-safe calls (setsid, ioctl).
        unsafe {
            command.pre_exec(|| {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(std::io::stdin())?;
                Ok(())
            });
        }
        let child = command.spawn().unwrap();
        let master = std::fs::File::from(master);
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().unwrap(),
            cols.try_into().unwrap(),
            0,
        )));
        let mut reader = master.try_clone().unwrap();
        let parser = Arc::clone(&screen);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let bytes = Arc::clone(&raw);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&stop_reading);
        // Polls rather than blocks, so `hang_up` can stop it and close every copy of
        // the master side.
        let reading = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stop.load(Ordering::Relaxed) {
                let mut fds = [PollFd::new(&reader, PollFlags::IN)];
                let wait = Timespec::try_from(Duration::from_millis(50)).unwrap();
                match poll(&mut fds, Some(&wait)) {
                    Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                    Ok(_) => {}
                    Err(_) => break,
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        bytes.lock().unwrap().extend_from_slice(&buf[..n]);
                        parser.lock().unwrap().process(&buf[..n]);
                    }
                }
            }
        });
        Terminal {
            master,
            slave,
            child,
            screen,
            raw,
            stop_reading,
            reading: Some(reading),
        }
    }

    pub fn raw(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`.
    pub fn wait_for(&self, text: &str) -> String {
        let started = Instant::now();
        loop {
            let screen = self.contents();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the screen never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen no longer shows `text`: the key that closes a screen was
    /// read, so the next key cannot arrive with it (Esc and a key read together are
    /// Alt plus that key).
    pub fn wait_gone(&self, text: &str) {
        let started = Instant::now();
        loop {
            let screen = self.contents();
            if !screen.contains(text) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the screen still shows {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Closes the terminal (a window closed, an SSH session dropped) and waits for the
    /// child to end; None when it is still running after `PATIENCE` (then killed).
    pub fn hang_up(self) -> Option<std::process::ExitStatus> {
        let Terminal {
            master,
            slave,
            mut child,
            stop_reading,
            mut reading,
            ..
        } = self;
        stop_reading.store(true, Ordering::Relaxed);
        if let Some(thread) = reading.take() {
            thread.join().unwrap();
        }
        drop((master, slave));
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    pub fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }

    pub fn wait_exit(&mut self) -> i32 {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(started.elapsed() < PATIENCE, "the TUI did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The terminal is back to line mode with echo, out of the alternate screen.
    pub fn assert_restored(&self) {
        let modes = tcgetattr(&self.slave).unwrap().local_modes;
        assert!(
            modes.contains(LocalModes::ICANON | LocalModes::ECHO),
            "raw mode left on: {modes:?}"
        );
        // Let the reader thread take the last bytes.
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            !self.screen.lock().unwrap().screen().alternate_screen(),
            "still in the alternate screen"
        );
    }
}

pub fn tui(k: &Kaudit) -> std::process::Command {
    let mut command = k.command();
    command
        .env("KAUDIT_HISTORY", k.path("history"))
        .env("TERM", "xterm-256color")
        .current_dir(k.dir.path());
    command
}

#[test]
fn a_user_queries_opens_a_row_and_quits() {
    let k = samples();
    let mut command = tui(&k);
    command.arg("tui");
    let mut term = Terminal::spawn(command);
    term.wait_for("1 of 932");

    term.type_keys("/@exec-into-pods\r");
    term.wait_for("1 of 4");
    // The count can be drawn a frame before the rows of the new page.
    let screen = term.wait_for("pods/exec");
    assert!(screen.contains("bob@example.com"), "{screen}");
    assert!(screen.contains("pods/exec"), "{screen}");

    term.type_keys("\r");
    let detail = term.wait_for("command");
    assert!(detail.contains("apt-get install -y curl"), "{detail}");
    assert!(detail.contains("\"auditID\""), "{detail}");

    // Esc back to the table, Backspace back to all requests, q quits.
    term.type_keys("\x1b");
    term.wait_for("VERB");
    term.type_keys("\x7f");
    term.wait_for("1 of 932");
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
    term.assert_restored();
    let history = std::fs::read_to_string(k.path("history")).unwrap();
    assert_eq!(history, "@exec-into-pods\n", "kept for the next run");
}

#[test]
fn sigterm_gives_the_terminal_back() {
    let k = Kaudit::new();
    let mut command = tui(&k);
    command.arg("tui").arg(sample_logs());
    let mut term = Terminal::spawn(command);
    term.wait_for("ingest done: 932 new requests");
    let pid = rustix::process::Pid::from_child(&term.child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    term.wait_exit();
    term.assert_restored();
    // What was ingested in the background is kept.
    let count = k.run(&["query", "--count", ""]);
    assert_eq!(count.stdout.trim(), "932", "{}", count.stderr);
}

#[test]
fn a_terminal_that_hangs_up_ends_the_tui() {
    // crossterm reads a hung-up terminal forever; the TUI joined that thread on exit
    // and hung at 100% CPU after its window was closed.
    let k = Kaudit::new();
    k.ingest(&[&sample_logs()]);
    let mut command = tui(&k);
    command.args(["tui", "-q", "resource:secrets"]);
    let term = Terminal::spawn(command);
    term.wait_for("1 of ");
    let status = term.hang_up();
    assert!(
        status.is_some(),
        "the TUI was still running after its terminal hung up"
    );
}

#[test]
fn b_counts_the_hits_by_a_field_and_enter_narrows_to_a_value() {
    let k = samples();
    let mut command = tui(&k);
    command.args(["tui", "-q", "decision:forbid"]);
    let mut term = Terminal::spawn(command);
    term.wait_for("1 of 3");
    term.type_keys("b");
    term.wait_for("count the hits by");
    term.type_keys("j\r");
    let counts = term.wait_for("3 requests by user");
    assert!(counts.contains("system:anonymous"), "{counts}");
    assert!(
        counts.contains("Enter: decision:forbid user:system:anonymous"),
        "{counts}"
    );
    term.type_keys("\r");
    let narrowed = term.wait_for("1 of 2");
    assert!(
        narrowed.contains("/ decision:forbid user:system:anonymous"),
        "{narrowed}"
    );
    // Back: the counts again; Esc closes them.
    term.type_keys("\x7f");
    term.wait_for("3 requests by user");
    term.type_keys("\x1b");
    let table = term.wait_for("VERB");
    assert!(!table.contains("requests by user"), "{table}");
    term.type_keys("q");
    assert_eq!(term.wait_exit(), 0);
    term.assert_restored();
}
