-- The service desk register (articles 3-14): everyone who comes to the center, member of
-- this town or not, whatever their jurisdiction, is registered truthfully and handled.
--
-- The register is a record, not a worksheet: an entry is never deleted, what was
-- registered (who came, from where, what they asked, who received them, when) never
-- changes, and only the handling moves on, by a fixed state machine:
--
--   registered -> in_progress -> resolved (with the outcome)
--                             -> referred (to whom, why) -> in_progress | resolved
--                                (leaving `referred` carries the follow-up: what came back)
--
-- Every status change, the registration included, is kept in desk_status_events with who
-- and when. Those rows are written by a trigger from the entry itself, so no code path can
-- move an entry without leaving its history behind.

CREATE TABLE desk_entries (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    -- Who came. A member of this town is linked; anyone else is a name and a jurisdiction.
    visitor_name     text NOT NULL,
    member_id        uuid,
    -- Normalized by the service (crate::members::domain::Phone); masked for county readers.
    visitor_phone    text,
    -- Where they are from, as they say it: the center serves every jurisdiction (art. 3).
    jurisdiction     text,
    category         text NOT NULL,
    -- What they asked.
    request          text NOT NULL,
    -- The `sub` of the staff member (or committee member) who received them.
    received_by      text NOT NULL,
    -- When they came: the server's time, or an earlier time given by staff; never later
    -- than the moment it was registered.
    received_at      timestamptz NOT NULL,
    -- Counselling records (art. 11) are seen by their author and the committee only.
    confidential     boolean GENERATED ALWAYS AS (category = 'counselling') STORED,
    -- The handling: these columns, and only these, move by the state machine.
    status           text NOT NULL DEFAULT 'registered',
    outcome          text,
    referred_to      text,
    referral_reason  text,
    follow_up        text,
    -- The last status change: its note, who made it, when (set by the trigger). Copied into
    -- desk_status_events by desk_entries_record_status().
    status_note      text,
    status_changed_by text NOT NULL,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT desk_entries_id_key UNIQUE (id),
    CONSTRAINT desk_entries_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT desk_entries_category_valid CHECK (category IN (
        'relation_transfer', 'consultation', 'help_request', 'counselling', 'floating_certificate',
        'materials', 'branch_support', 'recruitment_help', 'other')),
    CONSTRAINT desk_entries_status_valid CHECK (status IN ('registered', 'in_progress', 'resolved', 'referred')),
    CONSTRAINT desk_entries_visitor_name_length CHECK (char_length(visitor_name) BETWEEN 1 AND 50),
    CONSTRAINT desk_entries_visitor_phone_format CHECK (visitor_phone ~ '^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$'),
    CONSTRAINT desk_entries_jurisdiction_length CHECK (char_length(jurisdiction) BETWEEN 1 AND 200),
    CONSTRAINT desk_entries_request_length CHECK (char_length(request) BETWEEN 1 AND 2000),
    CONSTRAINT desk_entries_received_not_future CHECK (received_at <= created_at),
    CONSTRAINT desk_entries_outcome_when_resolved CHECK ((status = 'resolved') = (outcome IS NOT NULL)),
    CONSTRAINT desk_entries_referral_when_referred CHECK (
        status <> 'referred' OR (referred_to IS NOT NULL AND referral_reason IS NOT NULL)),
    CONSTRAINT desk_entries_handling_length CHECK (
        char_length(outcome) BETWEEN 1 AND 2000 AND char_length(referred_to) BETWEEN 1 AND 200
        AND char_length(referral_reason) BETWEEN 1 AND 2000 AND char_length(follow_up) BETWEEN 1 AND 2000
        AND char_length(status_note) BETWEEN 1 AND 2000)
);
-- The list filters: by member, by category, and the open (not yet resolved) entries by
-- age, for `open_for_days`.
CREATE INDEX desk_entries_by_member ON desk_entries (town_id, member_id, id) WHERE member_id IS NOT NULL;
CREATE INDEX desk_entries_by_category ON desk_entries (town_id, category, id);
CREATE INDEX desk_entries_open ON desk_entries (town_id, received_at) WHERE status <> 'resolved';

-- One row per status an entry has been in, numbered by the entry's version: version 1 is
-- the registration, each later version one change. The key makes a gap or a second
-- record of one change impossible.
CREATE TABLE desk_status_events (
    town_id     uuid NOT NULL,
    entry_id    uuid NOT NULL,
    version     bigint NOT NULL,
    from_status text,
    status      text NOT NULL,
    note        text,
    outcome     text,
    referred_to text,
    reason      text,
    changed_by  text NOT NULL,
    changed_at  timestamptz NOT NULL,
    PRIMARY KEY (town_id, entry_id, version),
    CONSTRAINT desk_status_events_entry_fk FOREIGN KEY (town_id, entry_id) REFERENCES desk_entries (town_id, id),
    CONSTRAINT desk_status_events_status_valid CHECK (status IN ('registered', 'in_progress', 'resolved', 'referred'))
);

-- The register keeps what was registered: no delete, no edit of the registered content,
-- and every update is exactly one allowed status change. The service checks the same
-- machine first (src/desk/domain.rs) to answer 409/422; this is the guarantee.
CREATE FUNCTION desk_entries_keep_register() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'desk entries are a register and cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- The change's time is the database's, never the client's.
    NEW.status_changed_at := now();
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'registered' OR NEW.version <> 1 OR NEW.outcome IS NOT NULL OR NEW.referred_to IS NOT NULL
           OR NEW.referral_reason IS NOT NULL OR NEW.follow_up IS NOT NULL THEN
            RAISE EXCEPTION 'a desk entry starts as registered, at version 1, with no handling'
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'desk_entries_status_machine';
        END IF;
        RETURN NEW;
    END IF;
    IF (NEW.town_id, NEW.id, NEW.visitor_name, NEW.member_id, NEW.visitor_phone, NEW.jurisdiction, NEW.category,
        NEW.request, NEW.received_by, NEW.received_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.town_id, OLD.id, OLD.visitor_name, OLD.member_id, OLD.visitor_phone, OLD.jurisdiction, OLD.category,
        OLD.request, OLD.received_by, OLD.received_at, OLD.created_at) THEN
        RAISE EXCEPTION 'what was registered at the desk cannot be edited' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (OLD.status, NEW.status) NOT IN (
        ('registered', 'in_progress'),
        ('in_progress', 'resolved'), ('in_progress', 'referred'),
        ('referred', 'in_progress'), ('referred', 'resolved'))
       OR NEW.version <> OLD.version + 1
       -- a referral is written when the entry is referred, and kept as it was otherwise
       OR (NEW.status <> 'referred' AND (NEW.referred_to, NEW.referral_reason)
                                        IS DISTINCT FROM (OLD.referred_to, OLD.referral_reason))
       -- the follow-up is the note of the change that leaves `referred`, and only of that one
       OR (OLD.status = 'referred' AND (NEW.follow_up IS NULL OR NEW.follow_up IS DISTINCT FROM NEW.status_note))
       OR (OLD.status <> 'referred' AND NEW.follow_up IS DISTINCT FROM OLD.follow_up) THEN
        RAISE EXCEPTION 'desk entry %: % -> % is not a change the register allows', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'desk_entries_status_machine';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER desk_entries_keep_register
    BEFORE INSERT OR UPDATE OR DELETE ON desk_entries
    FOR EACH ROW EXECUTE FUNCTION desk_entries_keep_register();
CREATE TRIGGER desk_entries_no_truncate
    BEFORE TRUNCATE ON desk_entries
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Every status an entry takes is appended to its history, from the row itself.
CREATE FUNCTION desk_entries_record_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO desk_status_events
        (town_id, entry_id, version, from_status, status, note, outcome, referred_to, reason, changed_by, changed_at)
    VALUES (
        NEW.town_id, NEW.id, NEW.version,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END,
        NEW.status, NEW.status_note,
        CASE WHEN NEW.status = 'resolved' THEN NEW.outcome END,
        CASE WHEN NEW.status = 'referred' THEN NEW.referred_to END,
        CASE WHEN NEW.status = 'referred' THEN NEW.referral_reason END,
        NEW.status_changed_by, NEW.status_changed_at);
    RETURN NULL;
END $$;
CREATE TRIGGER desk_entries_record_status
    AFTER INSERT OR UPDATE ON desk_entries
    FOR EACH ROW EXECUTE FUNCTION desk_entries_record_status();

-- The history is append-only.
CREATE TRIGGER desk_status_events_append_only
    BEFORE UPDATE OR DELETE ON desk_status_events
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER desk_status_events_no_truncate
    BEFORE TRUNCATE ON desk_status_events
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
