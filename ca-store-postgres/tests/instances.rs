//! Two CA instances (two `Ca` values) on one PostgreSQL database, in one process with
//! virtual time: the timers run once, under the store's lease, and the other instance follows
//! (issue 16: exactly one rollover generated; both serve the same GetNextCACert; both activate
//! it).
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use ca_core::{Ca, CaConfig, CaEvent, CaState, GrantMode};
use ca_store_postgres::{PgOptions, PgStore};
use pki_timers::{Instant, Overlap};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use test_postgres::TestDb;

const DAY: u64 = 86_400;
const START: u64 = 1_767_225_600;

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn count(events: &[CaEvent], f: fn(&CaEvent) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[test]
fn c22_c25_one_rollover_generated_and_activated_once_both_instances_follow() {
    let db = TestDb::create().unwrap();
    let store = Arc::new(PgStore::open(db.url(), &PgOptions::default()).unwrap());
    let mut config = CaConfig::default();
    config.key_bits = 1024;
    config.grant = GrantMode::Auto;
    config.auto_rollover = Some(Overlap::new(30, 0, 0).unwrap());
    let t0 = Instant::from_unix(START);
    let a = Ca::open(config.clone(), Arc::clone(&store), t0, true, &mut rng(1)).unwrap();
    let b = Ca::open(config, Arc::clone(&store), t0, true, &mut rng(2)).unwrap();
    assert_eq!(
        a.ca_certificate_der(),
        b.ca_certificate_der(),
        "one CA, not two"
    );

    // Both instances' timers fire at the shadow-generation time, at the same moment.
    let shadow = Instant::from_unix(START + (1095 - 30) * DAY);
    let (ea, eb) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.handle_timeout(shadow, &mut rng(3)).unwrap());
        let tb = s.spawn(|| b.handle_timeout(shadow, &mut rng(4)).unwrap());
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let generated = |e: &CaEvent| matches!(e, CaEvent::RolloverGenerated { .. });
    assert_eq!(
        count(&ea, generated) + count(&eb, generated),
        1,
        "{ea:?} / {eb:?}"
    );
    // The one that did not run the timer picks the rollover up (at its next timer or request).
    let _ = a.handle_timeout(shadow, &mut rng(5)).unwrap();
    let _ = b.handle_timeout(shadow, &mut rng(6)).unwrap();
    assert_eq!(a.state(), CaState::ActiveWithRollover);
    assert_eq!(b.state(), CaState::ActiveWithRollover);
    let next = a.rollover_certificate_der().unwrap();
    assert_eq!(b.rollover_certificate_der().unwrap(), next);
    let get_next = |ca: &Ca<Arc<PgStore>>| {
        let r = ca.handle("GET", "/?operation=GetNextCACert", b"", shadow, &mut rng(7));
        assert_eq!(r.status, 200);
        r.body
    };
    assert_eq!(
        get_next(&a),
        get_next(&b),
        "the same GetNextCACert from both"
    );

    // At the old CA's end the rollover CA becomes active, once, in both.
    let end = Instant::from_unix(START + 1095 * DAY);
    let (ea, eb) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.handle_timeout(end, &mut rng(8)).unwrap());
        let tb = s.spawn(|| b.handle_timeout(end, &mut rng(9)).unwrap());
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let activated = |e: &CaEvent| matches!(e, CaEvent::RolloverActivated { .. });
    assert_eq!(
        count(&ea, activated) + count(&eb, activated),
        1,
        "{ea:?} / {eb:?}"
    );
    let _ = a.handle_timeout(end, &mut rng(10)).unwrap();
    let _ = b.handle_timeout(end, &mut rng(11)).unwrap();
    assert_eq!(a.ca_certificate_der(), next);
    assert_eq!(b.ca_certificate_der(), next);
    assert_eq!(a.crl_der(), b.crl_der(), "one CRL");
}
