-- Democratic evaluations (民主评议, articles 23-24): the committee schedules one for a case
-- whose score reached the evaluation threshold, with a fixed panel of evaluators; each
-- evaluator votes once, `qualified` or `not_qualified`, by secret ballot; the committee
-- closes it, and a pass returns the member's relation to the original branch.
--
-- Secrecy is a matter of the schema: who voted (evaluation_voters) and how
-- (evaluation_ballots) are separate tables with nothing in common but the evaluation.
-- A ballot has a random (v4, not time-ordered) id, no timestamp and no voter; the
-- closing transaction re-writes an evaluation's ballots in random order under new ids, so
-- that afterwards neither their physical order nor their transaction ids (xmin) lead
-- back to the voting transactions that evaluation_voters and audit_log record.

CREATE TABLE evaluations (
    town_id            uuid NOT NULL REFERENCES towns (id),
    id                 uuid NOT NULL,
    case_id            uuid NOT NULL,
    -- The member under evaluation (the case's), kept here so the panel can be checked
    -- against it by the database.
    member_id          uuid NOT NULL,
    -- When and where the panel meets; `held_on` is that day in the town's zone, the day
    -- the floating-certificate rule is checked on.
    held_at            timestamptz NOT NULL,
    held_on            date NOT NULL,
    place              text NOT NULL,
    -- The policy in force at scheduling, and the numbers of it this evaluation follows
    -- (copied, so the rule an evaluation is closed by is readable with it).
    policy_version     integer NOT NULL,
    quorum             integer NOT NULL,
    majority_percent   integer NOT NULL,
    -- open, passed, failed. Closed evaluations are final.
    status             text NOT NULL DEFAULT 'open',
    -- How many have voted (the count of evaluation_voters; checked at commit).
    votes_cast         integer NOT NULL DEFAULT 0,
    -- The tally, written when closing and only then.
    qualified_votes    integer,
    not_qualified_votes integer,
    -- A pass: the transfer back to the original branch. A fail under a policy that
    -- restarts the score: the correction entry that brought it back to the base.
    return_transfer_id uuid,
    reset_entry_id     uuid,
    scheduled_by       text NOT NULL,
    closed_by          text,
    closed_at          timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT evaluations_id_key UNIQUE (id),
    CONSTRAINT evaluations_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT evaluations_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT evaluations_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT evaluations_return_transfer_fk FOREIGN KEY (town_id, return_transfer_id) REFERENCES transfers (town_id, id),
    CONSTRAINT evaluations_reset_entry_fk FOREIGN KEY (town_id, reset_entry_id) REFERENCES ledger_entries (town_id, id),
    CONSTRAINT evaluations_status_valid CHECK (status IN ('open', 'passed', 'failed')),
    CONSTRAINT evaluations_place_length CHECK (char_length(place) BETWEEN 1 AND 200),
    CONSTRAINT evaluations_rule_sane CHECK (quorum >= 1 AND majority_percent BETWEEN 50 AND 99),
    CONSTRAINT evaluations_votes_nonnegative CHECK (votes_cast >= 0),
    -- Open: no tally, no closer. Closed: the tally adds up to the votes cast and meets the quorum.
    CONSTRAINT evaluations_closed_shape CHECK (
        (status = 'open') = (closed_at IS NULL)
        AND (status = 'open') = (closed_by IS NULL)
        AND (status = 'open') = (qualified_votes IS NULL)
        AND (status = 'open') = (not_qualified_votes IS NULL)
        AND (status = 'open' OR (qualified_votes + not_qualified_votes = votes_cast AND votes_cast >= quorum))),
    -- A pass returns the member; only a fail may reset the score.
    CONSTRAINT evaluations_outcome_shape CHECK (
        (status = 'passed') = (return_transfer_id IS NOT NULL)
        AND (reset_entry_id IS NULL OR status = 'failed'))
);
-- At most one open evaluation per case (the case's status says the same; this is the
-- database's own guarantee).
CREATE UNIQUE INDEX evaluations_one_open_per_case ON evaluations (town_id, case_id) WHERE status = 'open';
CREATE INDEX evaluations_by_case ON evaluations (town_id, case_id, id);
CREATE INDEX evaluations_by_status ON evaluations (town_id, status, id);

-- Evaluations are records: never deleted.
CREATE TRIGGER evaluations_no_delete
    BEFORE DELETE ON evaluations
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The panel (art. 24), fixed at scheduling. An evaluator is who votes with a token whose
-- `sub` is `subject`; `member_id` when they are a party member of the town.
CREATE TABLE evaluation_panel (
    town_id       uuid NOT NULL,
    evaluation_id uuid NOT NULL,
    subject       text NOT NULL,
    -- The order the committee listed them in.
    position      integer NOT NULL,
    -- center_staff, village_cadre (村两委干部), congress_deputy (人大代表),
    -- party_member_representative, public_representative. Extend the list here.
    kind          text NOT NULL,
    name          text NOT NULL,
    member_id     uuid,
    PRIMARY KEY (town_id, evaluation_id, position),
    CONSTRAINT evaluation_panel_subject_key UNIQUE (town_id, evaluation_id, subject),
    CONSTRAINT evaluation_panel_evaluation_fk FOREIGN KEY (town_id, evaluation_id) REFERENCES evaluations (town_id, id),
    CONSTRAINT evaluation_panel_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT evaluation_panel_kind_valid CHECK (kind IN (
        'center_staff', 'village_cadre', 'congress_deputy', 'party_member_representative', 'public_representative')),
    CONSTRAINT evaluation_panel_subject_length CHECK (char_length(subject) BETWEEN 1 AND 200),
    CONSTRAINT evaluation_panel_name_length CHECK (char_length(name) BETWEEN 1 AND 50)
);
CREATE UNIQUE INDEX evaluation_panel_member_key ON evaluation_panel (town_id, evaluation_id, member_id)
    WHERE member_id IS NOT NULL;

-- The member under evaluation never sits on their own panel.
CREATE FUNCTION evaluation_panel_check_member() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.member_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM evaluations
        WHERE town_id = NEW.town_id AND id = NEW.evaluation_id AND member_id = NEW.member_id
    ) THEN
        RAISE EXCEPTION 'the member under evaluation cannot sit on the panel'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'evaluation_panel_not_evaluated';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER evaluation_panel_not_evaluated
    BEFORE INSERT ON evaluation_panel
    FOR EACH ROW EXECUTE FUNCTION evaluation_panel_check_member();

-- The panel is fixed once scheduled.
CREATE TRIGGER evaluation_panel_fixed
    BEFORE UPDATE OR DELETE ON evaluation_panel
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Who voted, and when. Only a panel member votes, and only once.
CREATE TABLE evaluation_voters (
    town_id       uuid NOT NULL,
    evaluation_id uuid NOT NULL,
    subject       text NOT NULL,
    voted_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT evaluation_voters_once PRIMARY KEY (town_id, evaluation_id, subject),
    CONSTRAINT evaluation_voters_on_panel FOREIGN KEY (town_id, evaluation_id, subject)
        REFERENCES evaluation_panel (town_id, evaluation_id, subject)
);
CREATE TRIGGER evaluation_voters_append_only
    BEFORE UPDATE OR DELETE ON evaluation_voters
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER evaluation_voters_no_truncate
    BEFORE TRUNCATE ON evaluation_voters
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- How they voted: the verdicts alone. No voter, no time, a random id.
CREATE TABLE evaluation_ballots (
    town_id       uuid NOT NULL,
    evaluation_id uuid NOT NULL,
    id            uuid NOT NULL DEFAULT gen_random_uuid(),
    verdict       text NOT NULL,
    PRIMARY KEY (town_id, evaluation_id, id),
    CONSTRAINT evaluation_ballots_evaluation_fk FOREIGN KEY (town_id, evaluation_id) REFERENCES evaluations (town_id, id),
    CONSTRAINT evaluation_ballots_verdict_valid CHECK (verdict IN ('qualified', 'not_qualified'))
);
-- A verdict is never edited. (Deleting is how the closing transaction re-writes the
-- ballots shuffled; the commit check below keeps their number equal to the voters'.)
CREATE TRIGGER evaluation_ballots_no_update
    BEFORE UPDATE ON evaluation_ballots
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER evaluation_ballots_no_truncate
    BEFORE TRUNCATE ON evaluation_ballots
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- A ballot goes only into an open evaluation: once the tally is written, nothing joins it.
CREATE FUNCTION evaluation_ballots_check_open() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM evaluations
        WHERE town_id = NEW.town_id AND id = NEW.evaluation_id AND status = 'open'
    ) THEN
        RAISE EXCEPTION 'evaluation % is closed', NEW.evaluation_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'evaluation_ballots_open';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER evaluation_ballots_open
    BEFORE INSERT ON evaluation_ballots
    FOR EACH ROW EXECUTE FUNCTION evaluation_ballots_check_open();

-- One voter, one ballot: when a transaction commits, every evaluation it touched has as
-- many ballots as voters, and votes_cast says that number.
CREATE FUNCTION evaluations_check_votes(town uuid, evaluation uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    voters integer;
    ballots integer;
    cast_count integer;
BEGIN
    SELECT count(*) INTO voters FROM evaluation_voters WHERE town_id = town AND evaluation_id = evaluation;
    SELECT count(*) INTO ballots FROM evaluation_ballots WHERE town_id = town AND evaluation_id = evaluation;
    SELECT votes_cast INTO cast_count FROM evaluations WHERE town_id = town AND id = evaluation;
    IF voters <> ballots OR voters <> coalesce(cast_count, 0) THEN
        RAISE EXCEPTION 'evaluation % has % voters, % ballots, votes_cast %', evaluation, voters, ballots, cast_count
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'evaluations_votes_match';
    END IF;
END $$;

CREATE FUNCTION evaluations_votes_match() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'evaluations' THEN
        PERFORM evaluations_check_votes(NEW.town_id, NEW.id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM evaluations_check_votes(OLD.town_id, OLD.evaluation_id);
    ELSE
        PERFORM evaluations_check_votes(NEW.town_id, NEW.evaluation_id);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER evaluations_votes_match
    AFTER INSERT OR UPDATE ON evaluations DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION evaluations_votes_match();
CREATE CONSTRAINT TRIGGER evaluation_voters_votes_match
    AFTER INSERT ON evaluation_voters DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION evaluations_votes_match();
CREATE CONSTRAINT TRIGGER evaluation_ballots_votes_match
    AFTER INSERT OR DELETE ON evaluation_ballots DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION evaluations_votes_match();
