//! The keyboard thread: reads terminal events so the event loop never waits on them,
//! and ends when the TUI does. It polls with a timeout rather than blocking in a read,
//! so it sees the stop flag within `POLL` and can be joined instead of leaked (a
//! leaked reader could swallow the first keys typed into the shell afterwards).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};

/// The longest the thread waits for an event before looking at the stop flag: also
/// the longest `Input`'s drop waits for it.
const POLL: Duration = Duration::from_millis(50);

/// The running keyboard thread; dropping it stops and joins the thread.
pub struct Input {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Input {
    /// Reads crossterm events, sending each as `wrap(event)` until the receiver is gone,
    /// reading fails, or this is dropped.
    pub fn spawn<M: Send + 'static>(to_loop: mpsc::Sender<M>, wrap: fn(Event) -> M) -> Input {
        // The terminal crossterm reads: stdin when it is one, else /dev/tty, opened once.
        let tty = (!rustix::termios::isatty(io::stdin())).then(|| std::fs::File::open("/dev/tty"));
        Input::spawn_reading(
            move |wait| match &tty {
                None => poll_terminal(io::stdin().as_fd(), wait),
                Some(Ok(tty)) => poll_terminal(tty.as_fd(), wait),
                Some(Err(e)) => Err(io::Error::new(e.kind(), e.to_string())),
            },
            to_loop,
            wrap,
        )
    }

    /// As `spawn`, with events from `next_event` (which waits at most the given time
    /// and answers None when none came): tests use a fake terminal.
    fn spawn_reading<M, S>(
        mut next_event: S,
        to_loop: mpsc::Sender<M>,
        wrap: fn(Event) -> M,
    ) -> Input
    where
        M: Send + 'static,
        S: FnMut(Duration) -> io::Result<Option<Event>> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match next_event(POLL) {
                    Ok(Some(event)) => {
                        if to_loop.send(wrap(event)).is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(_) => break,
                }
            }
        });
        Input {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panic there was already reported by the panic hook.
            let _ = thread.join();
        }
    }
}

/// The next terminal event within `wait`, if any; an error once the terminal has hung
/// up (its window closed, the SSH session dropped).
///
/// crossterm 0.29 cannot be asked directly: on a hung-up terminal its read returns no
/// bytes and it reads again, forever, inside `poll`, so this thread would never see the
/// stop flag and the TUI, joining it on exit, would hang at 100% CPU. The terminal is
/// polled here first, and crossterm only asked when it has bytes or events buffered.
fn poll_terminal(terminal: BorrowedFd<'_>, wait: Duration) -> io::Result<Option<Event>> {
    let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "the terminal hung up");
    if terminal_ready(terminal, Duration::ZERO)? == Ready::HungUp {
        return Err(gone());
    }
    // Events crossterm parsed already, or bytes waiting: without waiting.
    if event::poll(Duration::ZERO)? {
        return event::read().map(Some);
    }
    match terminal_ready(terminal, wait)? {
        Ready::HungUp => Err(gone()),
        Ready::Input if event::poll(Duration::ZERO)? => event::read().map(Some),
        Ready::Input | Ready::Nothing => Ok(None),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ready {
    Nothing,
    Input,
    HungUp,
}

/// Waits up to `wait` for `terminal` to have input or hang up.
fn terminal_ready(terminal: BorrowedFd<'_>, wait: Duration) -> io::Result<Ready> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut fds = [PollFd::new(&terminal, PollFlags::IN)];
    let timeout = Timespec::try_from(wait).map_err(|_| io::ErrorKind::InvalidInput)?;
    match poll(&mut fds, Some(&timeout)) {
        Ok(0) => return Ok(Ready::Nothing),
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(Ready::Nothing),
        Err(e) => return Err(e.into()),
    }
    let revents = fds[0].revents();
    Ok(
        if revents.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
            Ready::HungUp
        } else {
            Ready::Input
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyEvent};

    /// A fake terminal that sends one key, then nothing, sleeping as `poll` would;
    /// it holds `alive` so the test sees when the thread has let go of it.
    fn quiet_terminal(alive: Arc<()>) -> impl FnMut(Duration) -> io::Result<Option<Event>> {
        let mut sent = false;
        move |wait| {
            let _hold = &alive;
            if !sent {
                sent = true;
                return Ok(Some(Event::Key(KeyEvent::from(KeyCode::Char('x')))));
            }
            std::thread::sleep(wait);
            Ok(None)
        }
    }

    #[test]
    fn dropping_the_input_ends_its_thread() {
        let alive = Arc::new(());
        let (to_loop, events) = mpsc::channel();
        let input = Input::spawn_reading(quiet_terminal(Arc::clone(&alive)), to_loop, |e| e);
        let first = events.recv_timeout(Duration::from_secs(5)).expect("a key");
        assert_eq!(first, Event::Key(KeyEvent::from(KeyCode::Char('x'))));
        // The receiver is still there: only the stop flag can end the thread.
        assert_eq!(Arc::strong_count(&alive), 2, "the thread is reading");
        drop(input);
        assert_eq!(Arc::strong_count(&alive), 1, "the thread was joined");
        drop(events);
    }

    #[test]
    fn the_thread_ends_when_the_loop_is_gone() {
        let alive = Arc::new(());
        let (to_loop, events) = mpsc::channel();
        drop(events);
        let input = Input::spawn_reading(quiet_terminal(Arc::clone(&alive)), to_loop, |e| e);
        let thread = input.thread.as_ref().expect("running");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !thread.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(thread.is_finished(), "a failed send ends the thread");
    }
}
