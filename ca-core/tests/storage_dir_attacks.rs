//! `DirStore` against a local attacker who can plant files (issue 13 item 7, C-20): temp files
//! are created exclusively with unpredictable names and mode 0600, never through a symlink,
//! and never inherit a planted file's permissions.
#![cfg(unix)]
// Test code: a failed step should stop the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use ca_core::{DirStore, Store, storage::RecordKey};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// The temp names the store used to pick for the first writes after an open:
/// `.tmp-<n>-<name>`, `n` counting from 0.
fn predictable_temp_names(name: &str) -> Vec<String> {
    (0..32).map(|n| format!(".tmp-{n}-{name}")).collect()
}

#[test]
fn c20_symlink_planted_at_a_predictable_temp_path_is_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store");
    let victim = tmp.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    let store = DirStore::open(&root).unwrap();
    for name in predictable_temp_names("serial") {
        symlink(&victim, root.join(name)).unwrap();
    }
    for name in predictable_temp_names("state") {
        symlink(&victim, root.join("ca").join(name)).unwrap();
    }
    // Writes still succeed (a planted name is not a way to stop the CA) ...
    store.put(&RecordKey::SerialCounter, b"7\n").unwrap();
    store.put(&RecordKey::CaState, b"keys").unwrap();
    store.compact().unwrap();
    // ... land in the records, and leave the symlinks' target alone.
    assert_eq!(fs::read(root.join("serial")).unwrap(), b"7\n");
    assert_eq!(fs::read(root.join("ca/state")).unwrap(), b"keys");
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert_eq!(mode(&victim), 0o644);
    assert!(fs::symlink_metadata(root.join("serial")).unwrap().is_file());
    // The next open deletes the planted links (not what they point to).
    drop(store);
    let _store = DirStore::open(&root).unwrap();
    assert!(
        !root.join(".tmp-0-serial").exists()
            && fs::symlink_metadata(root.join(".tmp-0-serial")).is_err()
    );
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
}

#[test]
fn c20_planted_files_do_not_lend_their_permissions() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let store = DirStore::open(root).unwrap();
    // A world-readable file at the temp path and at the record itself.
    for name in predictable_temp_names("request-id") {
        fs::write(root.join(&name), b"planted").unwrap();
        fs::set_permissions(root.join(&name), fs::Permissions::from_mode(0o666)).unwrap();
    }
    fs::write(root.join("request-id"), b"old").unwrap();
    fs::set_permissions(root.join("request-id"), fs::Permissions::from_mode(0o644)).unwrap();
    store.put(&RecordKey::RequestCounter, b"9\n").unwrap();
    store.compact().unwrap();
    assert_eq!(fs::read(root.join("request-id")).unwrap(), b"9\n");
    assert_eq!(mode(&root.join("request-id")), 0o600);
    let planted = root.join(".tmp-0-request-id");
    assert_eq!(fs::read(&planted).unwrap(), b"planted");
    assert_eq!(mode(&planted), 0o666);
}

#[test]
fn c20_the_lock_file_is_not_followed_and_an_open_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let root = tmp.path().join("store");
    fs::create_dir(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o700)).unwrap();
    symlink(&victim, root.join(".lock")).unwrap();
    assert!(DirStore::open(&root).is_err());
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    fs::remove_file(root.join(".lock")).unwrap();
    // A folder anyone may write into is no place for CA keys.
    fs::set_permissions(&root, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(DirStore::open(&root).is_err());
    fs::set_permissions(&root, fs::Permissions::from_mode(0o750)).unwrap();
    let store = DirStore::open(&root).unwrap();
    store.put(&RecordKey::SerialCounter, b"1\n").unwrap();
}
