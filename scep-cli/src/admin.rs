//! Administration over DIR/admin.sock: a Unix socket only the CA's owner can open (mode 0600
//! in a 0700 directory, and the peer's uid checked with SO_PEERCRED), one JSON request line
//! and one JSON answer line per connection.

pub(crate) mod client;
pub(crate) mod protocol;
pub(crate) mod render;
pub(crate) mod socket;
