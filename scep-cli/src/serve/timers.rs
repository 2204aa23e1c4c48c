//! The CA's timers (CRL update, shadow generation, expiry/activation, request purge): the
//! CA says when it next wants to run ([`ca_core::Ca::poll_timeout`]); this task wakes it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::App;
use crate::clock;

/// The longest sleep between checks: admin operations can arm earlier timers.
const RECHECK: Duration = Duration::from_secs(1);

/// Runs until shutdown.
pub(crate) async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let job = Arc::clone(&app);
        let due = app
            .pool
            .run("timers", move || {
                let now = clock::now();
                match job.ca.poll_timeout() {
                    Some(at) if at <= now => Some(fire(&job, now)),
                    _ => None,
                }
            })
            .await;
        let pause = match due {
            Ok(Some(Err(e))) => {
                tracing::error!(error = %e, "CA timer failed; retrying");
                RECHECK
            }
            Ok(Some(Ok(()))) => Duration::ZERO,
            Ok(None) => RECHECK,
            Err(_) => return,
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = crate::serve::stopped(&mut shutdown) => return,
        }
    }
}

fn fire(app: &App, now: pki_timers::Instant) -> Result<(), String> {
    let mut rng = clock::rng()?;
    let events = app
        .ca
        .handle_timeout(now, &mut rng)
        .map_err(|e| e.to_string())?;
    for event in &events {
        tracing::info!(event = %crate::admin::render::event_text(event), "CA timer");
    }
    if !events.is_empty() {
        crate::ca_files::publish(&app.dir, &app.ca)?;
    }
    Ok(())
}
