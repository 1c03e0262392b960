//! Where simulated users run: one single-threaded tokio runtime per `--threads`, each on its own
//! OS thread, the first being the process's main runtime. A user is placed on a lane when it
//! starts (round robin) and stays there for life, with its connections, timers and buffers, so
//! N lanes cost per request what one does: no work stealing, no cross-thread wake-ups, as wrk's
//! threads each own their connections. (Tokio's multi-threaded scheduler, measured with
//! `bench/run.sh`, spent 14% more CPU per request on two threads than on one.)
//!
//! [`install`] is called once by `main`; without it (one thread, or in tests) users run on the
//! runtime that starts them.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;

static LANES: OnceLock<Lanes> = OnceLock::new();

struct Lanes {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

/// Keeps the extra lanes running; dropping it stops them (their users with them).
#[derive(Debug)]
pub struct LanesGuard {
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

/// Starts `threads - 1` lanes besides the current runtime (call from inside it).
pub fn install(threads: usize) -> std::io::Result<LanesGuard> {
    let mut handles = vec![Handle::current()];
    let mut stop = Vec::new();
    for i in 1..threads {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(format!("lane-{i}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(rt.handle().clone()));
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
            })?;
        let handle = handle_rx
            .recv()
            .map_err(|_| std::io::Error::other("a lane thread ended before starting"))??;
        handles.push(handle);
        stop.push(stop_tx);
    }
    if threads > 1 {
        let _ = LANES.set(Lanes {
            handles,
            next: AtomicUsize::new(0),
        });
    }
    Ok(LanesGuard { _stop: stop })
}

/// The lane the next user starts on; `None` when users run on the runtime that starts them.
pub fn next() -> Option<&'static Handle> {
    let lanes = LANES.get()?;
    let i = lanes.next.fetch_add(1, Ordering::Relaxed) % lanes.handles.len();
    lanes.handles.get(i)
}

/// How many lanes users are spread over.
pub fn count() -> usize {
    LANES.get().map_or(1, |l| l.handles.len())
}
