//! The GetNextCACert answer (S-33), signed once per rollover certificate.
//!
//! Anyone may ask for it, unauthenticated, and each answer is an RSA signature by the active
//! key: signing it per request would let a peer buy a signature with one GET. The answer is
//! kept with the pair of generations it was made for and reused until either changes (a
//! rollover, a cancel, an activation). Its signingTime is therefore when it was first asked
//! for. The cache has its own lock: the CA's lock is never held while signing it.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::state::Generation;

/// The last GetNextCACert body and the generations it belongs to.
#[derive(Default)]
pub(crate) struct NextCaCache {
    slot: Mutex<Option<Cached>>,
}

struct Cached {
    active: Weak<Generation>,
    rollover: Weak<Generation>,
    body: Vec<u8>,
}

impl Cached {
    fn is_for(&self, active: &Arc<Generation>, rollover: &Arc<Generation>) -> bool {
        // The weak references keep the allocations alive, so an address is never reused by
        // another generation while it is cached.
        std::ptr::eq(self.active.as_ptr(), Arc::as_ptr(active))
            && std::ptr::eq(self.rollover.as_ptr(), Arc::as_ptr(rollover))
    }
}

impl NextCaCache {
    /// The cached answer for (`active`, `rollover`), or the one `build` makes, which is kept.
    /// Callers asking at the same time wait for one build instead of signing each.
    pub(crate) fn get_or_build<E>(
        &self,
        active: &Arc<Generation>,
        rollover: &Arc<Generation>,
        build: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = slot.as_ref().filter(|c| c.is_for(active, rollover)) {
            return Ok(cached.body.clone());
        }
        let body = build()?;
        *slot = Some(Cached {
            active: Arc::downgrade(active),
            rollover: Arc::downgrade(rollover),
            body: body.clone(),
        });
        Ok(body)
    }
}
