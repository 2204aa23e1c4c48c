-- Version 1: the records of ca-core's Store, one row per RecordKey.
-- kind names the RecordKey variant; num is its number (u64 stored bit for bit in a bigint),
-- name the archive file name; the other of the two is 0 or ''.
CREATE TABLE scep_record (
    kind  text   NOT NULL,
    num   bigint NOT NULL DEFAULT 0,
    name  text   NOT NULL DEFAULT '',
    value bytea  NOT NULL,
    PRIMARY KEY (kind, num, name)
);
