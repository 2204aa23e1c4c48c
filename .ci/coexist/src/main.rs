//! Uses our types together with the application's own copies of the shared crates, so a second,
//! incompatible copy of `x509-cert` or `rand` in the graph fails to compile here.
fn main() {
    let caps = scep_proto::Capabilities::parse(b"AES\nSHA-256\n");
    let config = client_core::TrustpointConfig::default();
    let ours: Option<&scep_proto::Certificate> = None;
    // The subject type of our certificates is the application's `x509_cert::name::Name`.
    let subject: Option<&x509_cert::name::Name> = ours.map(|c| c.tbs_certificate().subject());
    // Our RNG arguments accept the application's `rand` generators.
    let mut rng = rand::rng();
    let nonce = scep_proto::Nonce::random(&mut rng);
    println!("{caps:?} {} {} {}", config.subject, subject.is_none(), nonce.0.len());
}
