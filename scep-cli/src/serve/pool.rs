//! The bounded pool for the CA's work: every `Ca` call (RSA signing, decryption, key
//! generation, store writes) runs here, never on the threads that talk to clients, and at
//! most `workers` at a time. A job is submitted only once its request has been read whole,
//! so a slow client never holds a worker.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Why a job gave no result.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PoolError {
    /// The job panicked; the panic was logged and the pool is intact.
    #[error("the job panicked")]
    Panicked,
    /// The runtime is shutting down.
    #[error("the server is shutting down")]
    Closed,
}

/// At most `workers` jobs at once on tokio's blocking threads.
#[derive(Clone, Debug)]
pub(crate) struct Pool {
    permits: Arc<Semaphore>,
    workers: usize,
}

impl Pool {
    /// A pool running at most `workers` jobs at once.
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers.max(1))),
            workers: workers.max(1),
        }
    }

    /// How many jobs may run at once.
    pub(crate) const fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `job` on a worker once one is free. The worker is held until the job ends, even
    /// if the caller stops waiting (a client that hangs up cannot free a busy worker early).
    /// A panic in `job` is caught and logged; the caller gets [`PoolError::Panicked`].
    pub(crate) async fn run<T, F>(&self, what: &'static str, job: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Closed)?;
        let handle = tokio::task::spawn_blocking(move || {
            let result = job();
            drop(permit);
            result
        });
        match handle.await {
            Ok(value) => Ok(value),
            Err(e) if e.is_panic() => {
                let payload = e.into_panic();
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "non-text panic payload".to_owned());
                tracing::error!(job = what, panic = %message, "a job panicked; answered with an error, the server goes on");
                Err(PoolError::Panicked)
            }
            Err(_) => Err(PoolError::Closed),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_is_contained_and_the_pool_keeps_its_workers() {
        let pool = Pool::new(2);
        for _ in 0..5 {
            let r = pool
                .run("test", || -> u32 { panic!("boom in a request") })
                .await;
            assert!(matches!(r, Err(PoolError::Panicked)), "{r:?}");
        }
        // Both workers are still there: two jobs that wait for each other both finish.
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let (b1, b2) = (Arc::clone(&barrier), Arc::clone(&barrier));
        let (a, b) = tokio::join!(
            pool.run("test", move || {
                b1.wait();
                1
            }),
            pool.run("test", move || {
                b2.wait();
                2
            })
        );
        assert_eq!((a.unwrap(), b.unwrap()), (1, 2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_workers_jobs_run_at_once() {
        let pool = Pool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<_> = (0..8)
            .map(|_| {
                let (pool, running, peak) = (pool.clone(), Arc::clone(&running), Arc::clone(&peak));
                tokio::spawn(async move {
                    pool.run("test", move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for j in jobs {
            j.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }
}
