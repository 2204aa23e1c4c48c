//! Issue 13 item 7, from the attacker's side: a local user who can write to the directory of a
//! trustpoint record (C-20 temp file + rename) plants things where the temporary file goes.
#![cfg(unix)]
// Test code: unwrap/expect/panic are the assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use client_core::{FileStore, TrustpointStore};

const RECORD: &[u8] = b"SCEPTP private keys inside";

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// A symlink planted at the old fixed temporary path `<name>.tmp` is not followed: its target
/// keeps its bytes and its mode, the record lands in the store's own file, 0600.
#[test]
fn store_does_not_follow_a_symlink_planted_at_the_temp_path() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, b"the victim's bytes").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let planted = dir.path().join("tp.bin.tmp");
    std::os::unix::fs::symlink(&victim, &planted).unwrap();

    let store = FileStore::new(dir.path().join("tp.bin"));
    store.save(RECORD).unwrap();

    assert_eq!(std::fs::read(&victim).unwrap(), b"the victim's bytes");
    assert_eq!(mode(&victim), 0o644);
    assert_eq!(store.load().unwrap().as_deref(), Some(RECORD));
    assert!(
        !std::fs::symlink_metadata(store.path())
            .unwrap()
            .file_type()
            .is_symlink(),
        "the record is a file of its own"
    );
    assert_eq!(mode(store.path()), 0o600);
}

/// A world-readable file planted at `<name>.tmp` does not lend its mode (or its inode, which
/// the planter may hold open) to the record.
#[test]
fn store_does_not_reuse_a_file_planted_at_the_temp_path() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("tp.bin.tmp");
    std::fs::write(&planted, b"").unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let planted_inode = std::fs::metadata(&planted).unwrap().ino();

    let store = FileStore::new(dir.path().join("tp.bin"));
    store.save(RECORD).unwrap();

    assert_eq!(mode(store.path()), 0o600);
    assert_ne!(
        std::fs::metadata(store.path()).unwrap().ino(),
        planted_inode
    );
    assert_eq!(
        std::fs::read(&planted).unwrap(),
        b"",
        "the planted file never sees the record"
    );
}

/// The temporary file is unique per save: two stores in one directory, and saves that fail
/// half-way, leave no file behind but the records.
#[test]
fn store_temp_files_are_unique_and_cleaned_up() {
    let dir = tempfile::tempdir().unwrap();
    let a = FileStore::new(dir.path().join("a.bin"));
    let b = FileStore::new(dir.path().join("b.bin"));
    for i in 0..5u8 {
        a.save(&[i; 10]).unwrap();
        b.save(&[i; 20]).unwrap();
    }
    assert_eq!(a.load().unwrap(), Some(vec![4; 10]));
    assert_eq!(b.load().unwrap(), Some(vec![4; 20]));
    // The record's path is a directory: the rename fails, the temporary file goes.
    let blocked = FileStore::new(dir.path().join("blocked"));
    std::fs::create_dir(blocked.path()).unwrap();
    std::fs::write(blocked.path().join("keep"), b"x").unwrap();
    assert!(blocked.save(RECORD).is_err());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.bin", "b.bin", "blocked"]);
}
