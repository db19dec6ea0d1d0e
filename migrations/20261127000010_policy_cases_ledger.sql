-- Transformation management: the town's versioned policy, cases, the points ledger and
-- the committee matters that thresholds open.
--
-- Points are whole half-points everywhere (+1 = +0.5): no floating point from the HTTP
-- body to the column. The ledger is append-only, and a case's score is maintained by the
-- database from its entries and checked against them when each transaction commits.

-- The rules a town runs by (DOMAIN.md "Policy"). A change is a new version; versions are
-- never edited, so every ledger entry and evaluation can name the version it used.
CREATE TABLE policies (
    town_id                    uuid NOT NULL REFERENCES towns (id),
    version                    integer NOT NULL,
    base_half_points           integer NOT NULL DEFAULT 10,  -- 5 points (art. 21)
    step_half_points           integer NOT NULL DEFAULT 1,   -- 0.5 points (art. 21, 22)
    low_threshold_half_points  integer NOT NULL DEFAULT 6,   -- below 3 points (art. 23)
    evaluation_threshold_half_points integer NOT NULL DEFAULT 30, -- 15 points (art. 23)
    excused_leave_costs        boolean NOT NULL DEFAULT false,
    -- Whether entries still move the score once an evaluation is due or under way.
    score_moves_after_due      boolean NOT NULL DEFAULT true,
    -- What a failed evaluation does to the score: keep it, or start again at the base
    -- (written as a correction entry, so the ledger still sums to the score).
    failed_evaluation_resets_score boolean NOT NULL DEFAULT false,
    evaluation_quorum          integer NOT NULL DEFAULT 5,
    -- A pass needs more than this share (percent) of the votes cast to be `qualified`.
    evaluation_majority_percent integer NOT NULL DEFAULT 50,
    objection_period_working_days integer NOT NULL DEFAULT 3,
    cohort_min                 integer NOT NULL DEFAULT 10,
    cohort_max                 integer NOT NULL DEFAULT 15,
    mentor_limit               integer NOT NULL DEFAULT 2,
    letter_validity_default_days integer NOT NULL DEFAULT 30,
    letter_validity_max_days   integer NOT NULL DEFAULT 90,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    created_by                 text NOT NULL,
    PRIMARY KEY (town_id, version),
    CONSTRAINT policies_version_positive CHECK (version >= 1),
    CONSTRAINT policies_points_sane CHECK (
        step_half_points >= 1 AND base_half_points >= 0
        AND low_threshold_half_points >= 0 AND low_threshold_half_points <= base_half_points
        AND evaluation_threshold_half_points > base_half_points),
    CONSTRAINT policies_evaluation_sane CHECK (
        evaluation_quorum >= 1 AND evaluation_majority_percent BETWEEN 50 AND 99),
    CONSTRAINT policies_periods_sane CHECK (
        objection_period_working_days BETWEEN 0 AND 30
        AND letter_validity_default_days BETWEEN 1 AND letter_validity_max_days
        AND letter_validity_max_days BETWEEN 1 AND 92),
    CONSTRAINT policies_cohort_sane CHECK (cohort_min >= 1 AND cohort_max >= cohort_min AND mentor_limit >= 1)
);
CREATE TRIGGER policies_append_only
    BEFORE UPDATE OR DELETE ON policies
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Every existing town starts with the rules as written.
INSERT INTO policies (town_id, version, created_by)
SELECT id, 1, 'migration' FROM towns;

-- A town always has a policy: checked when the creating transaction commits.
CREATE FUNCTION towns_require_policy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM policies WHERE town_id = NEW.id) THEN
        RAISE EXCEPTION 'town % has no policy', NEW.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'towns_have_policy';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER towns_have_policy
    AFTER INSERT ON towns DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION towns_require_policy();

-- A transformation case (转化档案): one member's stay under transformation management.
CREATE TABLE cases (
    town_id            uuid NOT NULL REFERENCES towns (id),
    id                 uuid NOT NULL,
    member_id          uuid NOT NULL,
    -- Where the member's relation came from, and goes back to after a passed evaluation.
    original_branch_id uuid NOT NULL,
    intake_transfer_id uuid NOT NULL,
    reason             text NOT NULL,
    opened_on          date NOT NULL,
    opened_by          text NOT NULL,
    policy_version     integer NOT NULL,
    base_half_points   integer NOT NULL,
    -- Maintained by ledger_entries_apply(); checked against the entries at commit.
    score_half_points  integer NOT NULL,
    status             text NOT NULL DEFAULT 'active',
    -- When the score first reached the evaluation threshold (never cleared).
    evaluation_due_at  timestamptz,
    -- How many ledger entries the case has (the next entry's seq is this + 1).
    entries_count      integer NOT NULL DEFAULT 0,
    concluded_on       date,
    conclusion         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT cases_id_key UNIQUE (id),
    CONSTRAINT cases_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT cases_original_branch_fk FOREIGN KEY (town_id, original_branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT cases_intake_fk FOREIGN KEY (town_id, intake_transfer_id) REFERENCES transfers (town_id, id),
    CONSTRAINT cases_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT cases_status_valid CHECK (status IN ('active', 'below_threshold', 'evaluation_due', 'under_evaluation', 'concluded')),
    CONSTRAINT cases_conclusion_valid CHECK (
        (status = 'concluded') = (conclusion IS NOT NULL AND concluded_on IS NOT NULL)
        AND (conclusion IS NULL OR conclusion IN ('returned', 'removed', 'other')))
);
-- One open case per member.
CREATE UNIQUE INDEX cases_one_open_per_member ON cases (town_id, member_id) WHERE status <> 'concluded';
CREATE INDEX cases_by_status ON cases (town_id, status, id);

-- The ledger: every change of a case's score, in whole half-points.
CREATE TABLE ledger_entries (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    case_id          uuid NOT NULL,
    -- 1, 2, 3, ... within the case, in the order the entries were written.
    seq              integer NOT NULL,
    half_points      integer NOT NULL,
    -- task_completed, task_not_completed, absence, correction, reversal
    kind             text NOT NULL,
    -- What earned the entry: a task, an attendance record, an entry (for a reversal), an objection.
    source_type      text,
    source_id        uuid,
    reverses_entry_id uuid,
    reason           text,
    recorded_by      text NOT NULL,
    recorded_role    text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    policy_version   integer NOT NULL,
    -- The case's score just after this entry (set by ledger_entries_apply()).
    score_after      integer NOT NULL DEFAULT 0,
    PRIMARY KEY (town_id, id),
    CONSTRAINT ledger_entries_id_key UNIQUE (id),
    CONSTRAINT ledger_entries_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT ledger_entries_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT ledger_entries_reverses_fk FOREIGN KEY (town_id, reverses_entry_id) REFERENCES ledger_entries (town_id, id),
    CONSTRAINT ledger_entries_kind_valid CHECK (kind IN ('task_completed', 'task_not_completed', 'absence', 'correction', 'reversal')),
    CONSTRAINT ledger_entries_nonzero CHECK (half_points <> 0),
    CONSTRAINT ledger_entries_source_shape CHECK ((source_type IS NULL) = (source_id IS NULL)),
    CONSTRAINT ledger_entries_reason_required CHECK (kind NOT IN ('correction', 'reversal') OR reason IS NOT NULL),
    CONSTRAINT ledger_entries_reversal_shape CHECK ((kind = 'reversal') = (reverses_entry_id IS NOT NULL)),
    CONSTRAINT ledger_entries_seq_key UNIQUE (town_id, case_id, seq)
);
-- One source (a task's outcome, an attendance record, an objection) scores at most once.
CREATE UNIQUE INDEX ledger_entries_one_per_source ON ledger_entries (town_id, source_type, source_id)
    WHERE source_id IS NOT NULL;
-- An entry is reversed at most once.
CREATE UNIQUE INDEX ledger_entries_reversed_once ON ledger_entries (town_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
-- The ledger page, newest first, answered from the index alone.
CREATE INDEX ledger_entries_page ON ledger_entries (town_id, case_id, seq DESC)
    INCLUDE (id, half_points, kind, source_type, source_id, reverses_entry_id, recorded_at, score_after, policy_version);

-- Each entry moves its case's score, under the case's row lock, so concurrent entries
-- serialize and none is lost; the entry records its position and the score after it.
CREATE FUNCTION ledger_entries_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_score integer;
    new_count integer;
BEGIN
    UPDATE cases
    SET score_half_points = score_half_points + NEW.half_points,
        entries_count = entries_count + 1,
        updated_at = now(),
        version = version + 1
    WHERE town_id = NEW.town_id AND id = NEW.case_id AND status <> 'concluded'
    RETURNING score_half_points, entries_count INTO new_score, new_count;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'case % is concluded or missing', NEW.case_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entries_open_case';
    END IF;
    NEW.seq := new_count;
    NEW.score_after := new_score;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entries_apply
    BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_apply();

CREATE TRIGGER ledger_entries_append_only
    BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER ledger_entries_no_truncate
    BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The score is base + the sum of the entries, whatever wrote them: checked at commit for
-- every case a transaction touched.
CREATE FUNCTION cases_score_matches_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total integer;
    score integer;
    base integer;
BEGIN
    -- A deferred trigger sees the row as it was at its own event, not at commit: read the
    -- case as it stands now.
    SELECT c.score_half_points, c.base_half_points INTO score, base
    FROM cases c WHERE c.town_id = NEW.town_id AND c.id = NEW.id;
    SELECT coalesce(sum(half_points), 0) INTO total
    FROM ledger_entries WHERE town_id = NEW.town_id AND case_id = NEW.id;
    IF score <> base + total THEN
        RAISE EXCEPTION 'case % score % is not base % + entries %', NEW.id, score, base, total
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'cases_score_matches_ledger';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER cases_score_matches_ledger
    AFTER INSERT OR UPDATE ON cases DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION cases_score_matches_ledger();

-- Committee matters: opened when a score goes below the low threshold (once per
-- crossing), closed by the committee's disposition.
CREATE TABLE committee_matters (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    case_id          uuid NOT NULL,
    opened_by_entry_id uuid NOT NULL,
    opened_at        timestamptz NOT NULL DEFAULT now(),
    score_half_points integer NOT NULL,
    -- talk, deadline, persuade_to_leave, removal, other
    disposition      text,
    disposition_note text,
    deadline         date,
    decided_by       text,
    decided_at       timestamptz,
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT committee_matters_id_key UNIQUE (id),
    CONSTRAINT committee_matters_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT committee_matters_entry_fk FOREIGN KEY (town_id, opened_by_entry_id) REFERENCES ledger_entries (town_id, id),
    CONSTRAINT committee_matters_disposition_valid CHECK (
        disposition IS NULL OR disposition IN ('talk', 'deadline', 'persuade_to_leave', 'removal', 'other')),
    CONSTRAINT committee_matters_decided_shape CHECK (
        (disposition IS NULL) = (decided_at IS NULL) AND (disposition IS NULL) = (decided_by IS NULL)
        AND (disposition IS NULL OR disposition_note IS NOT NULL)
        AND (disposition IS DISTINCT FROM 'deadline' OR deadline IS NOT NULL))
);
-- One crossing, one matter: a matter is opened by exactly one entry.
CREATE UNIQUE INDEX committee_matters_one_per_entry ON committee_matters (town_id, opened_by_entry_id);
CREATE INDEX committee_matters_open ON committee_matters (town_id, case_id) WHERE disposition IS NULL;
