-- Version 2: C-14 limits across instances (ca-core's Store::count_open_requests and
-- Store::count_requests), asked on every enrolment, so both are cheap whatever the table's
-- size; and the purge of every instance's rows (Store::purge_requests).

-- The per-key quota counts a requester key's open rows: the open rows are indexed by key;
-- issued and rejected rows, the bulk of the table, stay out of the index.
CREATE INDEX scep_request_open_by_key ON scep_request (requester_key) WHERE open;

-- The timer lease holder purges every instance's rows by age (T-15).
CREATE INDEX scep_request_created ON scep_request (created);

-- max_requests compares the table's row count, which count(*) would find by reading the whole
-- table. Triggers keep it instead, spread over 16 slots by request id, so that concurrent
-- writers (several instances) seldom wait on one another's slot; the count is the slots' sum.
CREATE TABLE scep_request_count (
    slot smallint PRIMARY KEY,
    entries bigint NOT NULL
);
INSERT INTO scep_request_count (slot, entries) SELECT s, 0 FROM generate_series(0, 15) AS s;
UPDATE scep_request_count SET entries = (SELECT count(*) FROM scep_request) WHERE slot = 0;

CREATE FUNCTION scep_request_count_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE scep_request_count SET entries = entries + 1 WHERE slot = abs(NEW.id % 16);
    ELSE
        UPDATE scep_request_count SET entries = entries - 1 WHERE slot = abs(OLD.id % 16);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER scep_request_count_row AFTER INSERT OR DELETE ON scep_request
    FOR EACH ROW EXECUTE FUNCTION scep_request_count_row();
