-- Version 1: ca-core's Store v2. Every u64 (id, serial, counter, instant, version) is stored
-- bit for bit in a bigint; ca-core's record bytes are kept opaque in bytea columns, beside the
-- few columns the atomic operations index.

-- Records without a typed table: the key archives (C-19), by file name.
CREATE TABLE scep_archive (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);

-- Counters (C-3 serials, C-14 request ids, Q-7 password ids): the last value handed out.
-- A row UPDATE rather than a SEQUENCE: a sequence caches and skips values, and C-3 wants the
-- next serial to be the last one plus one.
CREATE TABLE scep_counter (
    name  text   PRIMARY KEY,
    value bigint NOT NULL
);

-- The request table (C-9, C-12 ... C-16). transaction_id is unique across the table (C-12);
-- NULL only for a row written through the key-value put whose body could not be read.
CREATE TABLE scep_request (
    id             bigint  PRIMARY KEY,
    transaction_id text    UNIQUE,
    requester_key  bytea   NOT NULL DEFAULT '\x',
    open           boolean NOT NULL DEFAULT false,
    created        bigint  NOT NULL DEFAULT 0,
    body           bytea   NOT NULL
);

-- Issued certificates (C-18): the (serial, subject) record and the DER; one row per serial,
-- so a serial is never recorded twice.
CREATE TABLE scep_issued (
    serial bigint PRIMARY KEY,
    name   bytea,
    cert   bytea,
    CHECK (name IS NOT NULL OR cert IS NOT NULL)
);

CREATE TABLE scep_revoked (
    serial bigint PRIMARY KEY,
    record bytea  NOT NULL
);

CREATE TABLE scep_otp (
    id     bigint PRIMARY KEY,
    record bytea  NOT NULL
);

-- Singletons: the CA state with its compare-and-swap version, the CRL with its number, the
-- timer lease, and the shared version instances poll to refresh their caches.
CREATE TABLE scep_ca_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint  NOT NULL,
    value     bytea   NOT NULL
);

CREATE TABLE scep_crl (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    number    bigint,
    value     bytea   NOT NULL
);

CREATE TABLE scep_lease (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    holder    bigint  NOT NULL,
    until     bigint  NOT NULL
);

CREATE TABLE scep_meta (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    shared_version bigint  NOT NULL
);
INSERT INTO scep_meta (singleton, shared_version) VALUES (true, 0);
