//! A blocking driver: runs a trustpoint over a transport and a clock, on the public API only.

use pki_timers::{Duration, Instant};

use crate::transport::Transport;
use crate::trustpoint::{Event, Trustpoint};

/// Why [`run_until`] returned without its stop condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DriveError {
    /// Nothing to send and no timer armed: the trustpoint waits for the host (e.g.
    /// `approve_ca`, `enroll`, authoritative time).
    #[error("the trustpoint is idle: nothing to send and no timer armed")]
    Idle,
    /// A terminal event ([`Event::is_terminal`]) that `stop` did not accept: the attempt
    /// under way ended (rejected, retries or polls exhausted, …), so waiting on would only
    /// sleep until some distant timer.
    #[error("the attempt ended: {0}")]
    Terminal(Event),
}

/// Drives `trustpoint` until `stop` accepts an event, which is returned:
/// `poll_request` → `transport` → `handle_response`; `poll_timeout` → `sleep` →
/// `handle_timeout`; every event is passed to `stop`.
///
/// # Errors
/// [`DriveError::Terminal`] with the first terminal event `stop` does not accept (a `stop`
/// that waits for `Enrolled` gets the CA's rejection instead of a sleep until the CA
/// expires); [`DriveError::Idle`] when nothing remains to do.
pub fn run_until<T, R, C, S, F>(
    trustpoint: &mut Trustpoint,
    transport: &mut T,
    rng: &mut R,
    mut clock: C,
    mut sleep: S,
    mut stop: F,
) -> Result<Event, DriveError>
where
    T: Transport + ?Sized,
    R: rand::CryptoRng + ?Sized,
    C: FnMut() -> Instant,
    S: FnMut(Duration),
    F: FnMut(&Event) -> bool,
{
    loop {
        while let Some(event) = trustpoint.poll_event() {
            if stop(&event) {
                return Ok(event);
            }
            if event.is_terminal() {
                return Err(DriveError::Terminal(event));
            }
        }
        let now = clock();
        if let Some(request) = trustpoint.poll_request(now, rng) {
            let reply = transport.send(&request);
            let now = clock();
            trustpoint.handle_response(reply, now, rng);
            continue;
        }
        if trustpoint.poll_event_pending() {
            continue;
        }
        match trustpoint.poll_timeout() {
            Some(at) => {
                let now = clock();
                if at > now {
                    sleep(at.saturating_since(now));
                }
                let now = clock();
                trustpoint.handle_timeout(now);
            }
            None => return Err(DriveError::Idle),
        }
    }
}
