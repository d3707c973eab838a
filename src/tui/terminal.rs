//! The terminal side: raw mode and the alternate screen (always given back, on quit,
//! error, panic or SIGTERM), and the event loop. Three threads feed one channel: the
//! keyboard, the worker answering effects from the index, and the loop's own clock
//! (spinner, ingest progress, signals). The loop redraws only when something changed.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::{DefaultTerminal, Terminal, backend::CrosstermBackend};

use crate::error::{Error, Result};
use crate::query::Engine;
use crate::query::saved::SavedQuery;

use super::background::Background;
use super::input::Input;
use super::state::{Action, Effect, State};
use super::view::{Theme, draw};
use super::worker::{Context, perform};
use super::{history, keys};

/// How often the loop wakes with nothing to do: signals, ingest progress, spinner.
const TICK: Duration = Duration::from_millis(100);
/// How often the worker looks for a new commit of the index.
const RELOAD: Duration = Duration::from_millis(1000);

/// Latency figures for benches/perf.sh, written when `$KAUDIT_TUI_TRACE` names a
/// file: one line per event, `first_frame MS`, `first_results MS`, `key MS` (key
/// read to frame drawn) and `query MS` (query sent to its first page drawn).
struct Trace {
    file: Option<std::fs::File>,
    started: Instant,
    key: Option<Instant>,
    query: Option<(u64, Instant)>,
    frames: u64,
    results_seen: bool,
}

impl Trace {
    fn open(path: Option<&std::path::Path>, started: Instant) -> Trace {
        // A path from the environment, opened as root: never through a link, nor in
        // a directory another user can change (`trust`).
        let file = path.and_then(|path| crate::index::trust::append_private(path).ok());
        Trace {
            file,
            started,
            key: None,
            query: None,
            frames: 0,
            results_seen: false,
        }
    }

    fn write(&mut self, what: &str, since: Instant) {
        if let Some(file) = &mut self.file {
            let _ = writeln!(file, "{what} {:.2}", since.elapsed().as_secs_f64() * 1000.0);
        }
    }

    /// A frame was drawn of `state`.
    fn drawn(&mut self, state: &State) {
        if self.file.is_none() {
            return;
        }
        self.frames += 1;
        if self.frames == 1 {
            self.write("first_frame", self.started);
        }
        let shown = match state.results.total {
            Some(0) => true,
            Some(_) => !state.results.rows.is_empty(),
            None => false,
        };
        if shown && !self.results_seen {
            self.results_seen = true;
            self.write("first_results", self.started);
        }
        if let Some(at) = self.key.take() {
            self.write("key", at);
        }
        if let Some((generation, at)) = self.query
            && shown
            && state.results.ask.generation == generation
        {
            self.query = None;
            self.write("query", at);
        }
    }
}

/// What the TUI starts from.
pub struct Options {
    pub query: String,
    pub export_dir: PathBuf,
    /// Where the query history is kept, if anywhere.
    pub history: Option<PathBuf>,
    /// Start in live mode (following the log).
    pub live: bool,
    /// When the command started, for the first-frame figure of the trace.
    pub started: Instant,
    /// Draw in colors (not when `$NO_COLOR` is set).
    pub color: bool,
    /// Where to append timings (`$KAUDIT_TUI_TRACE`, for benches/tui.sh), if anywhere.
    pub trace: Option<PathBuf>,
    /// `--policy FILE`, loaded.
    pub policy: Option<crate::policy::PolicyFile>,
}

enum Message {
    Terminal(Event),
    Answer(Action),
}

/// Set by the panic hook: a thread (worker, ingest) died and the screen is already
/// given back, so the loop must stop too rather than draw over the message.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Raw mode and the alternate screen for as long as it lives.
struct Screen;

impl Screen {
    fn enter() -> Result<(Screen, DefaultTerminal)> {
        let io = |e| Error::io("<terminal>", e);
        // Restore before the panic message, or it is drawn into the alternate screen
        // and lost with it.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            restore();
            previous(info);
        }));
        enable_raw_mode().map_err(io)?;
        let screen = Screen;
        execute!(
            std::io::stdout(),
            EnterAlternateScreen,
            EnableMouseCapture,
            EnableBracketedPaste
        )
        .map_err(io)?;
        let terminal = Terminal::new(CrosstermBackend::new(std::io::stdout())).map_err(io)?;
        Ok((screen, terminal))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    let _ = execute!(
        std::io::stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        ratatui::crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = std::io::stdout().flush();
}

/// Runs the TUI until the user quits or a signal asks to stop.
pub fn run(
    engine: Engine,
    saved: Vec<SavedQuery>,
    options: Options,
    ingest: Option<&Background>,
) -> Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut handlers = Vec::new();
    for signal in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
    ] {
        let id = signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| Error::io("<signal handler>", e))?;
        handlers.push(id);
    }
    let result = run_loop(engine, saved, options, ingest, &stop);
    // Ctrl-C works again while the background ingest winds down.
    for id in handlers {
        signal_hook::low_level::unregister(id);
    }
    result
}

/// The event loop: starts the worker and keyboard threads, enters the screen, then
/// redraws when something changed and applies each key, answer or tick to the state,
/// handing its effects to the worker. Returns when the user quits, a signal sets
/// `stop`, or a thread of the TUI died; the screen and keyboard thread are given back
/// on the way out, however it ends.
fn run_loop(
    engine: Engine,
    saved: Vec<SavedQuery>,
    options: Options,
    ingest: Option<&Background>,
    stop: &AtomicBool,
) -> Result<()> {
    let history = options
        .history
        .as_deref()
        .map(history::load)
        .unwrap_or_default();
    let names = saved
        .iter()
        .map(|q| (q.name.clone(), q.description.clone()))
        .collect();
    let (mut state, effects) = State::new(&options.query, history, names);
    if options.policy.is_some() {
        state.offer_policy_check();
    }
    let (to_loop, messages) = mpsc::channel::<Message>();
    let (to_worker, work) = mpsc::channel::<Effect>();
    let cancel = Arc::new(AtomicU64::new(0));
    spawn_worker(
        engine,
        saved,
        options.policy.clone(),
        options.export_dir.clone(),
        &cancel,
        work,
        to_loop.clone(),
    );
    let (_screen, mut terminal) = Screen::enter()?;
    // Declared after the screen, so dropped before it: the keyboard thread has stopped
    // reading before the terminal is given back.
    let _input = Input::spawn(to_loop, Message::Terminal);
    let theme = Theme {
        color: options.color,
    };
    let trace = std::cell::RefCell::new(Trace::open(options.trace.as_deref(), options.started));
    let dispatch = |effects: Vec<Effect>| -> bool {
        for effect in effects {
            match effect {
                Effect::Quit => return false,
                Effect::Cancel(task) => cancel.store(task, Ordering::Relaxed),
                Effect::Remember(text) => {
                    if let Some(path) = &options.history {
                        history::append(path, &text);
                    }
                }
                other => {
                    if let Effect::Run(ask) = &other {
                        trace.borrow_mut().query = Some((ask.generation, Instant::now()));
                    }
                    let _ = to_worker.send(other);
                }
            }
        }
        true
    };
    dispatch(effects);
    if options.live {
        dispatch(state.update(Action::Live));
    }
    let started = Instant::now();
    let mut dirty = true;
    let mut page = 20isize;
    loop {
        if dirty {
            let size = terminal.size().map_err(|e| Error::io("<terminal>", e))?;
            page = isize::try_from(size.height.saturating_sub(5))
                .unwrap_or(1)
                .max(1);
            let mut detail_max = 0;
            terminal
                .draw(|frame| detail_max = draw(frame, &state, theme, tick(started)))
                .map_err(|e| Error::io("<terminal>", e))?;
            state.clamp_detail(detail_max);
            trace.borrow_mut().drawn(&state);
            dirty = false;
        }
        if PANICKED.load(Ordering::SeqCst) {
            return Err(Error::Internal("a thread of the TUI panicked".into()));
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let action = match messages.recv_timeout(TICK) {
            Ok(Message::Terminal(Event::Resize(..))) => {
                dirty = true;
                None
            }
            Ok(Message::Terminal(event)) => {
                let action = keys::action(&event, state.focus(), page);
                if action.is_some() {
                    trace.borrow_mut().key = Some(Instant::now());
                }
                action
            }
            Ok(Message::Answer(action)) => Some(action),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The spinner turns while something runs.
                dirty |= state.searching() || state.busy.is_some();
                ingest
                    .map(Background::progress)
                    .filter(|p| state.ingest.as_ref() != Some(p))
                    .map(Action::Ingest)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::Internal("the TUI's worker stopped".into()));
            }
        };
        if let Some(action) = action {
            dirty = true;
            if !dispatch(state.update(action)) {
                return Ok(());
            }
        }
    }
}

/// The spinner's frame: one every tick.
fn tick(started: Instant) -> u64 {
    (started.elapsed().as_millis() / TICK.as_millis()) as u64
}

/// Answers effects from the index. Of several queued query effects only the last is
/// run: each replaced the one before it. Between effects it looks for new commits.
fn spawn_worker(
    engine: Engine,
    saved: Vec<SavedQuery>,
    policy: Option<crate::policy::PolicyFile>,
    export_dir: PathBuf,
    cancel: &Arc<AtomicU64>,
    work: mpsc::Receiver<Effect>,
    to_loop: mpsc::Sender<Message>,
) {
    let cancel = Arc::clone(cancel);
    std::thread::spawn(move || {
        let cx = Context {
            saved: &saved,
            export_dir: &export_dir,
            cancel: &cancel,
            policy: policy.as_ref(),
        };
        let mut last_reload = Instant::now();
        let mut reload_failed = false;
        loop {
            let mut batch = match work.recv_timeout(RELOAD) {
                Ok(effect) => vec![effect],
                Err(mpsc::RecvTimeoutError::Timeout) => Vec::new(),
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            };
            batch.extend(work.try_iter());
            let is_query = |e: &Effect| {
                matches!(
                    e,
                    Effect::Run(_) | Effect::LoadPage(..) | Effect::Refresh(..)
                )
            };
            let last_query = batch.iter().rposition(is_query);
            for (i, effect) in batch.iter().enumerate() {
                if is_query(effect) && Some(i) != last_query {
                    continue;
                }
                for answer in perform(&engine, &cx, effect) {
                    if to_loop.send(Message::Answer(answer)).is_err() {
                        return;
                    }
                }
            }
            if last_reload.elapsed() >= RELOAD {
                last_reload = Instant::now();
                let answer = match engine.reload() {
                    Ok(true) => Some(Action::IndexChanged),
                    Ok(false) => None,
                    // Searches go on with the commit they have; the user is told once.
                    Err(e) if !reload_failed => {
                        reload_failed = true;
                        Some(Action::Notice(format!(
                            "cannot read the newest commit: {e}"
                        )))
                    }
                    Err(_) => None,
                };
                if let Some(answer) = answer
                    && to_loop.send(Message::Answer(answer)).is_err()
                {
                    return;
                }
            }
        }
    });
}
