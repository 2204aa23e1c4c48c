//! The trustpoint persistence decoder (issue 13 item 8): a corrupted file on disk. Restoring
//! never panics; what restores saves again and restores to the same bytes; a restored
//! trustpoint keeps running (timers, the next request, the listing) without panicking.
//!
//! Input: byte 0 with the high bit set: the rest is the record. Otherwise byte 0 picks a real
//! record (trustpoint_lab) and byte 1 how the rest corrupts it: 0 = (offset u16, xor u8)
//! triples, 1 = truncate at offset u16 then append the remainder, 2 = insert the remainder at
//! offset u16. Records are tried plain and with a password.
#![no_main]

mod trustpoint_lab;

use std::sync::Arc;

use client_core::{KeySource, Trustpoint};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;
use trustpoint_lab::{Lab, at};

/// Never generates: a corrupted record must not make the target spend seconds on RSA.
struct NoKeys;

impl KeySource for NoKeys {
    fn next_key(&self, _bits: u32) -> Option<scep_proto::PrivateKey> {
        Some(Lab::get().client_key.clone())
    }
}

fn offset(b: &[u8], len: usize) -> usize {
    let o = match b {
        [hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => 0,
    };
    if len == 0 { 0 } else { o % (len + 1) }
}

fn corrupt(data: &[u8]) -> Option<Vec<u8>> {
    let (&pick, rest) = data.split_first()?;
    if pick & 0x80 != 0 {
        return Some(rest.to_vec());
    }
    let lab = Lab::get();
    let mut record = lab.states[usize::from(pick) % lab.states.len()]
        .record
        .clone();
    let (&how, rest) = rest.split_first()?;
    match how % 3 {
        0 => {
            for p in rest.chunks_exact(3) {
                let o = offset(p, record.len());
                if let Some(b) = record.get_mut(o) {
                    *b ^= p[2];
                }
            }
        }
        1 => {
            let o = offset(rest, record.len());
            record.truncate(o);
            record.extend_from_slice(rest.get(2..).unwrap_or_default());
        }
        _ => {
            let o = offset(rest, record.len());
            let tail = record.split_off(o);
            record.extend_from_slice(rest.get(2..).unwrap_or_default());
            record.extend_from_slice(&tail);
        }
    }
    Some(record)
}

fn exercise(mut tp: Trustpoint) {
    let bytes = tp.to_bytes().expect("a restored trustpoint saves");
    let again = Trustpoint::from_bytes(&bytes).expect("and restores");
    assert_eq!(again.to_bytes().expect("and saves again"), bytes);
    let _ = format!("{tp:?}");
    let _ = tp.jitter_offset();
    tp.set_key_source(Arc::new(NoKeys));
    let mut r = StdRng::seed_from_u64(1);
    // The request a restored exchange sends again, then the timers.
    let start = tp.poll_timeout().unwrap_or(at(trustpoint_lab::T0));
    let _ = tp.poll_request(start, &mut r);
    let _ = tp.timer_listing(start);
    for _ in 0..2 {
        let Some(t) = tp.poll_timeout() else { break };
        tp.handle_timeout(t);
        while tp.poll_event().is_some() {}
        let _ = tp.poll_request(t, &mut r);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(record) = corrupt(data) else {
        return;
    };
    if let Ok(tp) = Trustpoint::from_bytes(&record) {
        exercise(tp);
    }
    if let Ok(tp) = Trustpoint::from_bytes_encrypted(&record, b"fuzz password") {
        exercise(tp);
    }
});
