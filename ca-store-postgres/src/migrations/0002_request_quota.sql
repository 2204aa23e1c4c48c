-- Version 2: C-14 limits across instances. Every enrolment counts the open requests of its
-- signer key (the per-key quota), so the open rows are indexed by requester key; issued and
-- rejected rows, the bulk of the table, stay out of the index.
CREATE INDEX scep_request_open_by_key ON scep_request (requester_key) WHERE open;
