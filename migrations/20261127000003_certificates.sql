-- Floating party member activity certificates (流动党员活动证, article 12) and their
-- yearly reviews.
--
-- A certificate is issued to an active member of the town who goes elsewhere for a
-- while (where, and why), for at most a year; the yearly review may extend it by at most
-- a year from the review's date. It ends by being returned or revoked (final states).
-- "Expired" is not stored: a certificate whose `valid_until` has passed in the town's
-- zone reads as expired without anyone editing it (the service computes it, and filters
-- on it in SQL with the town's today).

-- The one-valid-certificate rule below is an exclusion constraint mixing `=` on uuids
-- with `&&` on date ranges in one GiST index, which needs btree_gist's operator classes.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE certificates (
    town_id             uuid NOT NULL REFERENCES towns (id),
    id                  uuid NOT NULL,
    -- The printed number, unique in the town.
    number              text NOT NULL,
    -- The holder.
    member_id           uuid NOT NULL,
    -- Where the member went (流入地) and why (外出原因: work, study, ...).
    destination         text NOT NULL,
    purpose             text NOT NULL,
    -- Calendar dates in the town's zone.
    issued_on           date NOT NULL,
    -- The validity the certificate was issued with (at most a year), kept as issued...
    initial_valid_until date NOT NULL,
    -- ...and the current one, which reviews may extend.
    valid_until         date NOT NULL,
    -- Stored state: valid, returned or revoked. `expired` is computed, never stored.
    status              text NOT NULL DEFAULT 'valid',
    returned_on         date,
    revoked_on          date,
    revocation_reason   text,
    -- Token subjects: who issued it, who returned or revoked it.
    issued_by           text NOT NULL,
    closed_by           text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    version             bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT certificates_id_key UNIQUE (id),
    CONSTRAINT certificates_number_key UNIQUE (town_id, number),
    CONSTRAINT certificates_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT certificates_status_valid CHECK (status IN ('valid', 'returned', 'revoked')),
    CONSTRAINT certificates_number_length CHECK (char_length(number) BETWEEN 1 AND 50),
    CONSTRAINT certificates_destination_length CHECK (char_length(destination) BETWEEN 1 AND 200),
    CONSTRAINT certificates_purpose_length CHECK (char_length(purpose) BETWEEN 1 AND 500),
    -- Issued for more than a day and at most a year (29 Feb + 1 year = 28 Feb, as in the service).
    CONSTRAINT certificates_initial_validity CHECK (
        initial_valid_until > issued_on AND initial_valid_until <= issued_on + interval '1 year'
    ),
    -- Reviews only extend.
    CONSTRAINT certificates_validity_extends CHECK (valid_until >= initial_valid_until),
    -- Each end state carries its date (and a revocation its reason), and only it does.
    CONSTRAINT certificates_returned_shape CHECK ((status = 'returned') = (returned_on IS NOT NULL)),
    CONSTRAINT certificates_revoked_shape CHECK (
        (status = 'revoked') = (revoked_on IS NOT NULL)
        AND (status = 'revoked') = (revocation_reason IS NOT NULL)
    ),
    CONSTRAINT certificates_closed_by CHECK ((status = 'valid') = (closed_by IS NULL)),
    CONSTRAINT certificates_end_dates CHECK (
        (returned_on IS NULL OR returned_on >= issued_on) AND (revoked_on IS NULL OR revoked_on >= issued_on)
    ),
    -- A member holds at most one valid certificate at a time: two certificates of one
    -- member whose validity periods overlap cannot both be `valid`. A new one can be
    -- issued once the old one is returned or revoked (it leaves the index) or expired
    -- (its period ends before today, the earliest a new one can start). Enforced by the
    -- database, so two concurrent issues can never both succeed: the second waits for
    -- the first to commit and then fails.
    CONSTRAINT certificates_one_valid EXCLUDE USING gist (
        town_id WITH =,
        member_id WITH =,
        daterange(issued_on, valid_until, '[]') WITH &&
    ) WHERE (status = 'valid')
);
CREATE INDEX certificates_by_member ON certificates (town_id, member_id, id);

-- A certificate is a record: never deleted; what was issued (number, holder, where, why,
-- dates as issued, by whom) never changes; only its validity (by review) and its state
-- move on, and a returned or revoked certificate is final.
CREATE FUNCTION certificates_keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'certificates are records and cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.town_id, NEW.id, NEW.number, NEW.member_id, NEW.destination, NEW.purpose, NEW.issued_on,
        NEW.initial_valid_until, NEW.issued_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.town_id, OLD.id, OLD.number, OLD.member_id, OLD.destination, OLD.purpose, OLD.issued_on,
        OLD.initial_valid_until, OLD.issued_by, OLD.created_at) THEN
        RAISE EXCEPTION 'an issued certificate cannot be edited' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> 'valid' THEN
        RAISE EXCEPTION 'certificate % is % and final', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'certificates_final';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER certificates_keep_history
    BEFORE UPDATE OR DELETE ON certificates
    FOR EACH ROW EXECUTE FUNCTION certificates_keep_history();
CREATE TRIGGER certificates_no_truncate
    BEFORE TRUNCATE ON certificates
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The yearly reviews (年度审验) of a certificate: append-only. Each keeps the validity
-- before and after it, so the certificate's history of extensions can be read back.
CREATE TABLE certificate_reviews (
    town_id              uuid NOT NULL,
    id                   uuid NOT NULL,
    certificate_id       uuid NOT NULL,
    reviewed_on          date NOT NULL,
    note                 text NOT NULL,
    -- The token subject of who recorded the review.
    reviewer             text NOT NULL,
    previous_valid_until date NOT NULL,
    valid_until          date NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT certificate_reviews_id_key UNIQUE (id),
    CONSTRAINT certificate_reviews_certificate_fk FOREIGN KEY (town_id, certificate_id)
        REFERENCES certificates (town_id, id),
    CONSTRAINT certificate_reviews_note_length CHECK (char_length(note) BETWEEN 1 AND 1000),
    -- A review keeps or extends the validity, by at most a year from the review's date.
    CONSTRAINT certificate_reviews_extension CHECK (
        valid_until >= previous_valid_until
        AND (valid_until = previous_valid_until OR valid_until <= reviewed_on + interval '1 year')
    )
);
CREATE INDEX certificate_reviews_by_certificate ON certificate_reviews (town_id, certificate_id, reviewed_on, id);

CREATE TRIGGER certificate_reviews_append_only
    BEFORE UPDATE OR DELETE ON certificate_reviews
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER certificate_reviews_no_truncate
    BEFORE TRUNCATE ON certificate_reviews
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
