//! The host's clock for a blocking host: the trustpoint itself never reads one.
//!
//! [`Instant`] and [`Duration`] are whole seconds (pki-timers); these helpers connect them to
//! `std::time` so a host does not write its own `now()` and `sleep()`. `Duration` also converts
//! to and from `std::time::Duration` with `From`/`Into` (rounded up, never shorter).

use std::time::{SystemTime, UNIX_EPOCH};

use pki_timers::{Duration, Instant};

/// The system clock now, in whole seconds (a clock set before 1970 reads as the epoch).
#[must_use]
pub fn now() -> Instant {
    from_system_time(SystemTime::now())
}

/// `t` in whole seconds since the Unix epoch (before the epoch: the epoch).
#[must_use]
pub fn from_system_time(t: SystemTime) -> Instant {
    Instant::from_unix(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

/// `t` as a `SystemTime`.
#[must_use]
pub fn to_system_time(t: Instant) -> SystemTime {
    UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(t.unix()))
        .unwrap_or(UNIX_EPOCH)
}

/// Blocks the thread for `d`.
pub fn sleep(d: Duration) {
    std::thread::sleep(d.into());
}

/// Where [`Enrollment`](crate::Enrollment) and [`Agent`](crate::Agent) read the time and
/// wait: [`SystemClock`] in a real host, a virtual clock in a simulation or a test.
pub trait Clock: Send {
    /// The time now (authoritative: the trustpoint's timers run on it).
    fn now(&mut self) -> Instant;
    /// Waits `d`, or less when `stop` is raised meanwhile. The default sleeps the whole `d`
    /// (a virtual clock advances); [`SystemClock`] wakes at once on [`StopHandle::stop`].
    fn sleep(&mut self, d: Duration, stop: &StopHandle) {
        let _ = stop;
        sleep(d);
    }
}

/// The operating system's clock and `std::thread` waiting.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> Instant {
        now()
    }
    fn sleep(&mut self, d: Duration, stop: &StopHandle) {
        stop.wait(d.into());
    }
}

/// Ends a resident [`Agent::run`](crate::Agent::run) from another thread (a signal handler
/// thread, a service manager's stop request): the run returns at its next step, and a wait
/// in progress ends at once. Cloning gives another handle to the same flag.
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    inner: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl StopHandle {
    /// A handle not yet raised.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag and wakes a waiting run.
    pub fn stop(&self) {
        let (flag, cv) = &*self.inner;
        if let Ok(mut f) = flag.lock() {
            *f = true;
        }
        cv.notify_all();
    }

    /// Whether [`StopHandle::stop`] was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.inner.0.lock().map_or(true, |f| *f)
    }

    /// Waits `d` or until stopped.
    fn wait(&self, d: std::time::Duration) {
        let (flag, cv) = &*self.inner;
        let Ok(guard) = flag.lock() else { return };
        let _ = cv.wait_timeout_while(guard, d, |stopped| !*stopped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_handle_ends_a_wait_at_once() {
        let stop = StopHandle::new();
        let other = stop.clone();
        let t = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            SystemClock.sleep(Duration::from_hours(1), &other);
            start.elapsed()
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        stop.stop();
        assert!(t.join().unwrap() < std::time::Duration::from_secs(5));
        assert!(stop.is_stopped());
    }

    #[test]
    fn system_time_round_trips_in_whole_seconds() {
        let t = UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_900);
        assert_eq!(from_system_time(t), Instant::from_unix(1_700_000_000));
        assert_eq!(
            to_system_time(Instant::from_unix(5)),
            UNIX_EPOCH + std::time::Duration::from_secs(5)
        );
        let before = UNIX_EPOCH - std::time::Duration::from_secs(10);
        assert_eq!(from_system_time(before), Instant::UNIX_EPOCH);
        assert!(now().unix() > 1_700_000_000);
    }
}
