//! Timers (T-5 … T-16): when the host must wake the CA ([`Ca::poll_timeout`]) and what
//! runs then ([`Ca::handle_timeout`]): CRL update (C-21), shadow generation (C-22), expiry or
//! activation (C-25), the request purge (C-16) and the one-time password purge.

use std::sync::Arc;

use pki_timers::{CaTimer, Instant, TimerListing, ca_timers, purge_at};
use rand::CryptoRng;

use super::state::Inner;
use super::{Ca, CaConfig, CaError, CaState};
use crate::issue::generate_key;
use crate::storage::{RecordKey, Store};

/// What the CA did in [`Ca::handle_timeout`] or a rollover operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CaEvent {
    /// A new CRL (C-21).
    CrlUpdated {
        /// Its cRLNumber.
        number: u64,
        /// Its nextUpdate.
        next_update: Instant,
    },
    /// A rollover CA certificate was generated (C-22).
    RolloverGenerated {
        /// Its serial.
        serial: u64,
        /// Its notAfter.
        not_after: Instant,
    },
    /// The rollover CA became the active CA (C-25).
    RolloverActivated {
        /// The new active CA's serial.
        serial: u64,
    },
    /// The CA certificate expired without a rollover (C-25).
    Expired,
    /// The rollover was cancelled (C-24).
    RolloverCancelled {
        /// Pending requests to it that were rejected.
        rejected: usize,
        /// Certificates it issued that are now useless (their holders must re-enrol).
        issued: usize,
    },
    /// Request table entries purged at `created + L_req` (C-16).
    RequestsPurged {
        /// How many.
        count: usize,
    },
    /// One-time passwords deleted at their expiry.
    OneTimePasswordsPurged {
        /// How many.
        count: usize,
    },
}

impl<S: Store> Ca<S> {
    /// T-12: tell the CA whether the host clock is authoritative. Without it no timer runs.
    pub fn set_authoritative_time(&self, authoritative: bool) {
        let mut inner = self.lock();
        inner.timers.set_authoritative(authoritative);
        rearm(&self.config, &mut inner);
    }

    /// The earliest of the three CA timers (T-16 labels), or `None` without authoritative
    /// time (T-12). Request purges (T-15) and password expiries are not CA timers: see
    /// [`Ca::poll_timeout`].
    #[must_use]
    pub fn next_ca_timer(&self) -> Option<(CaTimer, Instant)> {
        self.lock().timers.next_deadline()
    }

    /// When the host must call [`Ca::handle_timeout`] next: the earliest CA timer, pending
    /// request purge (T-15) or one-time password expiry; `None` without authoritative
    /// time.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let inner = self.lock();
        let timer = inner.timers.next_deadline().map(|(_, at)| at)?;
        let purge = earliest_purge(&self.config, &inner);
        Some(
            [purge, inner.otps.next_expiry()]
                .into_iter()
                .flatten()
                .fold(timer, Instant::min),
        )
    }

    /// Fires every timer due at `now`, earliest first (T-12: none without authoritative
    /// time): CRL update (C-21), shadow generation (C-22), expiry or activation (C-25), then
    /// the request purge (C-16) and the one-time password purge; calls before a
    /// deadline change nothing.
    ///
    /// # Errors
    /// The first failing step's error; the timers not yet fired stay due.
    pub fn handle_timeout<R: CryptoRng + ?Sized>(
        &self,
        now: Instant,
        rng: &mut R,
    ) -> Result<Vec<CaEvent>, CaError> {
        let mut events = Vec::new();
        let mut inner = self.lock();
        // Store v2: the state other instances wrote first; then the timers run only in the
        // instance holding the store's lease (the others pick up its results).
        self.refresh(&mut inner, rng)?;
        if inner.timers.is_authoritative() && !self.hold_lease(now)? {
            return Ok(events);
        }
        // Each firing moves its timer past `now` or disarms it; the bound only guards
        // against a livelock.
        for _ in 0..16 {
            let Some((timer, _at)) = inner.timers.pop_due(now) else {
                break;
            };
            let result = match timer {
                CaTimer::CrlUpdate => {
                    self.regenerate_crl(&mut inner, now, rng)
                        .map(|number| CaEvent::CrlUpdated {
                            number,
                            next_update: inner.crl.next_update,
                        })
                }
                CaTimer::ShadowGeneration => {
                    // The new key is made without the lock (request threads keep running);
                    // the state is checked again when it is installed.
                    drop(inner);
                    let key = generate_key(self.config.key_bits, rng);
                    inner = self.lock();
                    key.map_err(CaError::Issue)
                        .and_then(|key| self.generate_rollover(&mut inner, key, rng))
                }
                CaTimer::CertExpire => self.expire(&mut inner, now, rng),
            };
            match result {
                Ok(event) => events.push(event),
                Err(e) => {
                    rearm(&self.config, &mut inner);
                    return Err(e);
                }
            }
        }
        if inner.timers.is_authoritative() {
            let lifetime = self.config.lifetime_enrollment_request;
            let due = inner
                .requests
                .created_until(|created| purge_at(created, lifetime) <= now);
            for id in &due {
                self.store
                    .remove(&RecordKey::Request(*id))
                    .map_err(CaError::storage)?;
                inner.requests.remove(id);
            }
            if !due.is_empty() {
                events.push(CaEvent::RequestsPurged { count: due.len() });
            }
            self.purge_otps(&mut inner, now, &mut events)?;
        }
        Ok(events)
    }

    /// C-25: activate the rollover, or expire.
    fn expire<R: CryptoRng + ?Sized>(
        &self,
        inner: &mut Inner,
        now: Instant,
        rng: &mut R,
    ) -> Result<CaEvent, CaError> {
        let Some(next) = inner.ca.rollover.clone() else {
            inner.ca.state = CaState::Expired;
            self.put_ca(inner)?;
            rearm(&self.config, inner);
            return Ok(CaEvent::Expired);
        };
        let old_active = Arc::clone(&inner.ca.active);
        inner.ca.active = Arc::clone(&next);
        inner.ca.rollover = None;
        inner.ca.state = CaState::Active;
        if let Err(e) = self.put_ca(inner) {
            inner.ca.active = old_active;
            inner.ca.rollover = Some(next);
            inner.ca.state = CaState::ActiveWithRollover;
            return Err(e);
        }
        // The old key is gone from the store (it was archived at its creation, C-19); the
        // CRL is re-signed with the new key.
        self.regenerate_crl(inner, now, rng)?;
        let serial = crate::issue::certificate_serial(next.ca.certificate()).unwrap_or(0);
        Ok(CaEvent::RolloverActivated { serial })
    }

    /// T-16: the armed CA timers as IOS prints them (group `CS Timers`).
    #[must_use]
    pub fn timer_listing(&self, now: Instant) -> TimerListing {
        let inner = self.lock();
        let mut listing = TimerListing::new("CS Timers");
        for (timer, at) in inner.timers.entries() {
            listing.push_instant(timer.label(), at, now);
        }
        listing
    }
}

/// Re-arms the three CA timers from the state (T-5, T-8, T-9; C-24 suppression).
pub(crate) fn rearm(config: &CaConfig, inner: &mut Inner) {
    inner.timers.clear();
    if inner.ca.state == CaState::Expired {
        inner.timers.arm(CaTimer::CrlUpdate, inner.crl.next_update);
        return;
    }
    let inputs = pki_timers::CaTimerInputs {
        active_ca: inner.ca.active.validity(),
        crl_next_update: inner.crl.next_update,
        auto_rollover: if inner.ca.shadow_suppressed {
            None
        } else {
            config.auto_rollover
        },
        rollover_exists: inner.ca.rollover.is_some(),
    };
    for (timer, at) in ca_timers(&inputs) {
        inner.timers.arm(timer, at);
    }
}

/// T-15: the purge instant of the oldest entry (an index lookup, not a scan).
fn earliest_purge(config: &CaConfig, inner: &Inner) -> Option<Instant> {
    inner
        .requests
        .oldest_created()
        .map(|created| purge_at(created, config.lifetime_enrollment_request))
}
