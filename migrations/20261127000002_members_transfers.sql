-- Members (党员) and the transfers of their organizational relations (组织关系接转).
--
-- A member's current branch is never written directly: it is the destination of their
-- last completed transfer, maintained here by a trigger, so no code path can put a member
-- in a branch without a transfer record that says who decided it and why.

-- Chinese names are two to four characters, so trigram indexes (which need three) do not
-- help a substring search. Instead every name keeps its set of single characters and
-- character pairs; a search for "建国" looks up the pair "建国", a search for "张" the
-- character "张", through a GIN index, and the exact substring is then rechecked.
CREATE FUNCTION name_grams(name text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT coalesce(array_agg(DISTINCT g), '{}')
    FROM (
        SELECT substr(lower(name), i, 1) AS g FROM generate_series(1, char_length(name)) AS i
        UNION ALL
        SELECT substr(lower(name), i, 2) FROM generate_series(1, char_length(name) - 1) AS i
    ) grams
    WHERE g !~ '\s'
$$;

CREATE TABLE members (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    name             text NOT NULL,
    -- The 18-character resident ID number (upper-case X), checked by the service
    -- (format, birth date, check digit). Never sent unmasked but to the committee on request.
    national_id      text NOT NULL,
    phone            text,
    -- The village or community the member lives in (a filter for the desk and cohorts).
    village          text,
    -- Maintained by members_follow_transfers(); NULL only while an inflow is pending.
    branch_id        uuid,
    status           text NOT NULL DEFAULT 'active',
    joined_party_on  date,
    reserve_cadre    boolean NOT NULL DEFAULT false,
    outstanding_young boolean NOT NULL DEFAULT false,
    name_grams       text[] GENERATED ALWAYS AS (name_grams(name)) STORED,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT members_id_key UNIQUE (id),
    CONSTRAINT members_national_id_key UNIQUE (town_id, national_id),
    CONSTRAINT members_phone_key UNIQUE (town_id, phone),
    CONSTRAINT members_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT members_status_valid CHECK (status IN ('active', 'incoming', 'transferred_out', 'removed', 'deceased')),
    CONSTRAINT members_national_id_format CHECK (national_id ~ '^[0-9]{17}[0-9X]$'),
    CONSTRAINT members_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    CONSTRAINT members_branch_when_active CHECK (branch_id IS NOT NULL OR status = 'incoming')
);
CREATE INDEX members_by_branch ON members (town_id, branch_id, id);
CREATE INDEX members_by_village ON members (town_id, village, id);
CREATE INDEX members_name_grams ON members USING gin (name_grams);
-- Prefix searches ("张%") use this one.
CREATE INDEX members_name_prefix ON members (town_id, name text_pattern_ops);

-- Every move of a member's relation. Inside the town a transfer completes at once; into
-- or out of the town it goes by an introduction letter (介绍信) and completes when the
-- receipt (回执) comes back; until then the sending side stays responsible.
CREATE TABLE transfers (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    member_id        uuid NOT NULL,
    -- registration: first entry of a member in a branch of the town;
    -- internal: between two branches of the town;
    -- outflow: out of the town (letter); inflow: into the town (letter);
    -- intake: into the center branch for transformation; return: back after a passed evaluation.
    kind             text NOT NULL,
    from_branch_id   uuid,
    to_branch_id     uuid,
    -- The organization on the other side of an outflow or inflow.
    external_org     text,
    reason           text NOT NULL,
    decided_by       text NOT NULL,
    decided_on       date NOT NULL,
    status           text NOT NULL,
    -- Introduction letter: serial number, dues paid up to, valid until.
    letter_serial    text,
    dues_paid_until  date,
    valid_until      date,
    receipt_on       date,
    rejection_reason text,
    revocation_reason text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT transfers_id_key UNIQUE (id),
    CONSTRAINT transfers_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT transfers_from_fk FOREIGN KEY (town_id, from_branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT transfers_to_fk FOREIGN KEY (town_id, to_branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT transfers_kind_valid CHECK (kind IN ('registration', 'internal', 'outflow', 'inflow', 'intake', 'return')),
    CONSTRAINT transfers_status_valid CHECK (status IN ('completed', 'issued', 'received', 'rejected', 'revoked')),
    CONSTRAINT transfers_not_to_same_branch CHECK (from_branch_id IS DISTINCT FROM to_branch_id),
    -- The shape of each kind: which ends are branches of this town, which need a letter.
    CONSTRAINT transfers_kind_shape CHECK (
        CASE kind
            WHEN 'registration' THEN from_branch_id IS NULL AND to_branch_id IS NOT NULL AND status = 'completed'
            WHEN 'internal' THEN from_branch_id IS NOT NULL AND to_branch_id IS NOT NULL AND status = 'completed'
            WHEN 'intake' THEN from_branch_id IS NOT NULL AND to_branch_id IS NOT NULL AND status = 'completed'
            WHEN 'return' THEN from_branch_id IS NOT NULL AND to_branch_id IS NOT NULL AND status = 'completed'
            WHEN 'outflow' THEN from_branch_id IS NOT NULL AND to_branch_id IS NULL AND external_org IS NOT NULL
                AND letter_serial IS NOT NULL AND valid_until IS NOT NULL AND status <> 'completed'
            WHEN 'inflow' THEN from_branch_id IS NULL AND to_branch_id IS NOT NULL AND external_org IS NOT NULL
                AND letter_serial IS NOT NULL AND valid_until IS NOT NULL AND status <> 'completed'
        END
    ),
    CONSTRAINT transfers_rejection_has_reason CHECK (status <> 'rejected' OR rejection_reason IS NOT NULL),
    CONSTRAINT transfers_revocation_has_reason CHECK (status <> 'revoked' OR revocation_reason IS NOT NULL),
    CONSTRAINT transfers_receipt_when_received CHECK ((status = 'received') = (receipt_on IS NOT NULL))
);
CREATE INDEX transfers_by_member ON transfers (town_id, member_id, id);
CREATE UNIQUE INDEX transfers_letter_serial_key ON transfers (town_id, letter_serial) WHERE letter_serial IS NOT NULL;
-- A member has at most one open (letter issued, no receipt yet) transfer.
CREATE UNIQUE INDEX transfers_one_open ON transfers (town_id, member_id) WHERE status = 'issued';
-- The overdue listing: open letters by validity.
CREATE INDEX transfers_open_letters ON transfers (town_id, valid_until) WHERE status = 'issued';

-- A member's branch follows their completed transfers. A transfer that completes (at once,
-- or when its letter's receipt comes back) moves the member; an outflow's receipt marks
-- them transferred out (they keep their last branch as history).
CREATE FUNCTION members_follow_transfers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'completed' OR (NEW.status = 'received' AND NEW.kind = 'inflow') THEN
        UPDATE members
        SET branch_id = NEW.to_branch_id, status = 'active', updated_at = now(), version = version + 1
        WHERE town_id = NEW.town_id AND id = NEW.member_id
          AND (branch_id IS DISTINCT FROM NEW.to_branch_id OR status <> 'active');
    ELSIF NEW.status = 'received' AND NEW.kind = 'outflow' THEN
        UPDATE members
        SET status = 'transferred_out', updated_at = now(), version = version + 1
        WHERE town_id = NEW.town_id AND id = NEW.member_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER members_follow_transfers
    AFTER INSERT OR UPDATE OF status ON transfers
    FOR EACH ROW EXECUTE FUNCTION members_follow_transfers();

-- ...and nothing else may change it: an update of branch_id outside that trigger fails.
CREATE FUNCTION members_branch_only_by_transfer() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.branch_id IS DISTINCT FROM OLD.branch_id AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'a member''s branch changes only through a transfer'
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'members_branch_only_by_transfer';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER members_branch_only_by_transfer
    BEFORE UPDATE OF branch_id ON members
    FOR EACH ROW EXECUTE FUNCTION members_branch_only_by_transfer();

-- Transfers are history: a transfer row is never deleted, and its decision (who, ends,
-- kind, reason, date, letter) never changes; only a letter's state moves on.
CREATE FUNCTION transfers_keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'transfers are history and cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.member_id, NEW.kind, NEW.from_branch_id, NEW.to_branch_id, NEW.external_org, NEW.reason,
        NEW.decided_by, NEW.decided_on, NEW.letter_serial, NEW.dues_paid_until, NEW.valid_until)
       IS DISTINCT FROM
       (OLD.member_id, OLD.kind, OLD.from_branch_id, OLD.to_branch_id, OLD.external_org, OLD.reason,
        OLD.decided_by, OLD.decided_on, OLD.letter_serial, OLD.dues_paid_until, OLD.valid_until) THEN
        RAISE EXCEPTION 'a transfer''s decision cannot be edited' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status <> 'issued' THEN
        RAISE EXCEPTION 'transfer % is % and final', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'transfers_final';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER transfers_keep_history
    BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_keep_history();

-- Members are never deleted either: leaving the party or the town is a status.
CREATE TRIGGER members_no_delete
    BEFORE DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
