//! The worker threads that run clients while the engine's own thread serves the CA.
//!
//! A job is one client with the CA's answer it waited for; a worker runs it to its next
//! [`Step`] and hands it back. Which thread ran a client never shows in the result: a client
//! touches only its own state, and the engine serves the CA in a fixed order.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use super::client::{Answer, ClientSim, Ctx, Step, View};
use crate::DrillError;
use crate::scenario::Scenario;

/// One client to run, with the answer it waited for and the epoch it runs in.
pub(crate) struct Job {
    pub(crate) client: Box<ClientSim>,
    pub(crate) answer: Option<Answer>,
    pub(crate) view: Arc<View>,
}

/// A client run to its next step (or the error that stopped it).
pub(crate) struct Done {
    pub(crate) index: usize,
    pub(crate) result: Result<(Box<ClientSim>, Step), DrillError>,
}

fn run_job(s: &Scenario, job: Job) -> Done {
    let Job {
        mut client,
        answer,
        view,
    } = job;
    let index = client.index;
    let ctx = Ctx { s, view: &view };
    let result = client.step(&ctx, answer).map(|step| (client, step));
    Done { index, result }
}

/// The jobs waiting for a worker.
#[derive(Default)]
pub(crate) struct Queue {
    state: Mutex<(VecDeque<Job>, bool)>,
    wake: Condvar,
}

impl Queue {
    fn push(&self, job: Job) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.0.push_back(job);
        self.wake.notify_one();
    }

    /// The next job; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(job) = state.0.pop_front() {
                return Some(job);
            }
            if state.1 {
                return None;
            }
            state = self
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Client `index`'s job if no worker has taken it yet and it is among the first
    /// `window` waiting (the engine serves clients in the order it queued them, so the one it
    /// waits for is at the front unless a worker has it already).
    fn steal(&self, index: usize, window: usize) -> Option<Job> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let at = state
            .0
            .iter()
            .take(window)
            .position(|job| job.client.index == index)?;
        state.0.remove(at)
    }

    /// Lets the workers finish.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.1 = true;
        self.wake.notify_all();
    }
}

/// A worker's loop: run jobs until the queue closes.
pub(crate) fn worker(s: &Scenario, queue: &Queue, out: &Sender<Done>) {
    while let Some(job) = queue.pop() {
        let index = job.client.index;
        let done = catch_unwind(AssertUnwindSafe(|| run_job(s, job))).unwrap_or(Done {
            index,
            result: Err(DrillError::Worker),
        });
        if out.send(done).is_err() {
            return;
        }
    }
}

/// How far into the queue the engine looks for the job it waits for.
const STEAL_WINDOW: usize = 8;

/// Where the engine sends clients to run: its own thread, or the workers.
pub(crate) enum Runner<'a> {
    /// On the engine's thread, when it is wanted (one core, or one client this epoch).
    Inline { waiting: HashMap<usize, Job> },
    /// On the worker threads.
    Workers {
        queue: &'a Queue,
        results: &'a Receiver<Done>,
        /// Results that came in before the engine wanted them.
        ready: HashMap<usize, Done>,
    },
}

impl<'a> Runner<'a> {
    /// A runner on the engine's thread.
    pub(crate) fn inline() -> Self {
        Self::Inline {
            waiting: HashMap::new(),
        }
    }

    /// A runner on the workers.
    pub(crate) fn workers(queue: &'a Queue, results: &'a Receiver<Done>) -> Self {
        Self::Workers {
            queue,
            results,
            ready: HashMap::new(),
        }
    }

    /// Hands a client over to run.
    pub(crate) fn submit(&mut self, job: Job) {
        match self {
            Self::Inline { waiting } => {
                waiting.insert(job.client.index, job);
            }
            Self::Workers { queue, .. } => queue.push(job),
        }
    }

    /// Client `index` run to its next step (waiting for it if need be).
    pub(crate) fn take(&mut self, s: &Scenario, index: usize) -> Done {
        match self {
            Self::Inline { waiting } => match waiting.remove(&index) {
                Some(job) => run_job(s, job),
                None => Done {
                    index,
                    result: Err(DrillError::Worker),
                },
            },
            Self::Workers {
                queue,
                results,
                ready,
            } => loop {
                if let Some(done) = ready.remove(&index) {
                    return done;
                }
                // Collect what came in; if `index` is not done and no worker has started it,
                // run it here rather than wait: the engine's thread is the third on two cores
                // and would otherwise sleep while its job waits in the queue.
                while let Ok(done) = results.try_recv() {
                    ready.insert(done.index, done);
                }
                if let Some(done) = ready.remove(&index) {
                    return done;
                }
                if let Some(job) = queue.steal(index, STEAL_WINDOW) {
                    return run_job(s, job);
                }
                match results.recv() {
                    Ok(done) => {
                        ready.insert(done.index, done);
                    }
                    Err(_) => {
                        return Done {
                            index,
                            result: Err(DrillError::Worker),
                        };
                    }
                }
            },
        }
    }
}

/// A channel for the workers' results.
pub(crate) fn results() -> (Sender<Done>, Receiver<Done>) {
    channel()
}
