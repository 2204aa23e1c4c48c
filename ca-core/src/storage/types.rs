//! The values the typed [`Store`](super::Store) operations take and give.

use core::fmt;

use super::RecordKey;

/// A counter the store hands values from ([`Store::allocate`](super::Store::allocate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Counter {
    /// Serial numbers, of identity and CA certificates alike (C-3). Its record is
    /// [`RecordKey::SerialCounter`].
    Serial,
    /// Request-table ids (C-14). Its record is [`RecordKey::RequestCounter`].
    RequestId,
    /// One-time password ids. Its record is [`RecordKey::OtpCounter`].
    OtpId,
}

impl Counter {
    /// The record holding the counter's last value (decimal text and a line feed).
    #[must_use]
    pub const fn record_key(self) -> RecordKey {
        match self {
            Self::Serial => RecordKey::SerialCounter,
            Self::RequestId => RecordKey::RequestCounter,
            Self::OtpId => RecordKey::OtpCounter,
        }
    }
}

/// One row of the request table: the CA's encoded entry plus the columns a store indexes.
/// The store never interprets `body`.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestRow {
    /// The request id (C-14); the row's key, [`RecordKey::Request`].
    pub id: u64,
    /// The SCEP transactionID; unique in the table (C-12).
    pub transaction_id: String,
    /// The subjectPublicKey bits of the request's signer (C-12, C-13: who the entry is bound
    /// to).
    pub requester_key: Vec<u8>,
    /// Whether the entry is still waiting (pending, not issued or rejected) (C-14 quota).
    pub open: bool,
    /// When the entry was made, Unix seconds (T-15 purge).
    pub created: u64,
    /// The CA's encoding of the entry: the bytes of [`RecordKey::Request`]`(id)`.
    pub body: Vec<u8>,
}

impl fmt::Debug for RequestRow {
    // The body holds a CSR and maybe a certificate: only the indexed columns are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestRow")
            .field("id", &self.id)
            .field("transaction_id", &self.transaction_id)
            .field("open", &self.open)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

/// Everything one issuance records, in one atomic write
/// ([`Store::record_issuance`](super::Store::record_issuance)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// The request row in its issued state.
    pub request: RequestRow,
    /// A row deleted in the same step (C-12), as in
    /// [`Store::put_request`](super::Store::put_request).
    pub replaces: Option<u64>,
    /// The certificate's serial, from [`Counter::Serial`].
    pub serial: u64,
    /// The (serial, subject) record, [`RecordKey::IssuedName`] (database level Names and up).
    pub name: Option<Vec<u8>>,
    /// The certificate's DER, [`RecordKey::IssuedCert`] (database level Complete).
    pub cert: Option<Vec<u8>>,
}

/// A record with the version a compare-and-swap checks
/// ([`Store::ca_state`](super::Store::ca_state)).
#[derive(Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The version: greater after every write.
    pub version: u64,
    /// The record's bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Versioned {
    // The CA state holds the CA keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Versioned")
            .field("version", &self.version)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// What a conditional write found instead of what it expected
/// ([`StoreError::Conflict`](super::StoreError::Conflict)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// The CA state's version was not the one expected.
    CaState {
        /// The version found (`None`: no CA state).
        current: Option<u64>,
    },
    /// The CRL's number was not the one expected, or the new number is not greater.
    CrlNumber {
        /// The number found (`None`: no CRL).
        current: Option<u64>,
    },
    /// Another request row holds the transactionID.
    TransactionId {
        /// That row's id.
        holder: u64,
    },
    /// The serial is already recorded as issued.
    Serial {
        /// The serial.
        serial: u64,
    },
    /// A counter is at its largest value.
    CounterExhausted {
        /// The counter.
        counter: Counter,
    },
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CaState { current } => write!(f, "CA state is at version {current:?}"),
            Self::CrlNumber { current } => write!(f, "CRL is at number {current:?}"),
            Self::TransactionId { holder } => {
                write!(f, "transactionID is held by request {holder}")
            }
            Self::Serial { serial } => write!(f, "serial {serial:X} is already issued"),
            Self::CounterExhausted { counter } => write!(f, "counter {counter:?} is exhausted"),
        }
    }
}

/// The timer lease is held by someone else
/// ([`StoreError::LeaseHeld`](super::StoreError::LeaseHeld)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseHeld {
    /// The holder's id.
    pub holder: u64,
    /// When its lease ends, Unix seconds (`u64::MAX`: held for as long as the holder lives,
    /// e.g. a database session lock).
    pub until: u64,
}

impl fmt::Display for LeaseHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timer lease held by {:016x} until {}",
            self.holder, self.until
        )
    }
}
