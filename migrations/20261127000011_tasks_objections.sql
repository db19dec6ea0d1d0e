-- Tasks of transformation cases (art. 21) and members' objections to ledger entries (公示).
--
-- A task's outcome is recorded once, together with the ledger entry it earns; a mistake is
-- undone by a committee reversal in the ledger, never by editing the task. An objection is
-- decided once; an upheld objection is carried out by a reversal entry in the ledger. The
-- database itself refuses a second outcome or a second decision, so no code path (and no
-- race between two requests) can record one twice.

CREATE TABLE tasks (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    case_id          uuid NOT NULL,
    title            text NOT NULL,
    description      text,
    -- A calendar date in the town's time zone.
    due_on           date NOT NULL,
    -- The `sub` and role of who assigned it (staff or committee).
    assigned_by      text NOT NULL,
    assigned_role    text NOT NULL,
    -- The outcome: all of these are set together, once (tasks_outcome_once).
    outcome          text,
    outcome_note     text,
    outcome_entry_id uuid,
    outcome_by       text,
    outcome_at       timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT tasks_id_key UNIQUE (id),
    CONSTRAINT tasks_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT tasks_outcome_entry_fk FOREIGN KEY (town_id, outcome_entry_id) REFERENCES ledger_entries (town_id, id),
    -- One ledger entry belongs to at most one task.
    CONSTRAINT tasks_outcome_entry_key UNIQUE (town_id, outcome_entry_id),
    CONSTRAINT tasks_outcome_valid CHECK (outcome IN ('completed', 'not_completed')),
    CONSTRAINT tasks_outcome_shape CHECK (
        (outcome IS NULL) = (outcome_entry_id IS NULL)
        AND (outcome IS NULL) = (outcome_by IS NULL)
        AND (outcome IS NULL) = (outcome_at IS NULL)
        AND (outcome IS NOT NULL OR outcome_note IS NULL)),
    CONSTRAINT tasks_assigned_role_valid CHECK (assigned_role IN ('staff', 'committee')),
    CONSTRAINT tasks_text_length CHECK (
        char_length(title) BETWEEN 1 AND 200
        AND char_length(description) BETWEEN 1 AND 2000
        AND char_length(outcome_note) BETWEEN 1 AND 1000)
);
-- A case's tasks in id (creation) order, and the pending ones.
CREATE INDEX tasks_by_case ON tasks (town_id, case_id, id);
CREATE INDEX tasks_pending ON tasks (town_id, due_on) WHERE outcome IS NULL;

-- A task is assigned to an open case only; what a task is (its case, who assigned it, when)
-- never changes; its outcome is written once and then never changes, and it must be the
-- ledger entry this task earned (source task/id, the kind matching the outcome). Tasks are
-- never deleted.
CREATE FUNCTION tasks_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.outcome IS NOT NULL THEN
            RAISE EXCEPTION 'task % cannot be created with an outcome', NEW.id
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tasks_outcome_once';
        END IF;
        IF EXISTS (SELECT 1 FROM cases WHERE town_id = NEW.town_id AND id = NEW.case_id AND status = 'concluded') THEN
            RAISE EXCEPTION 'case % is concluded', NEW.case_id
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tasks_open_case';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.town_id <> OLD.town_id OR NEW.id <> OLD.id OR NEW.case_id <> OLD.case_id
       OR NEW.assigned_by <> OLD.assigned_by OR NEW.assigned_role <> OLD.assigned_role
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'task % keeps its case and assignment', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tasks_identity_fixed';
    END IF;
    IF OLD.outcome IS NOT NULL AND (
           NEW.outcome IS DISTINCT FROM OLD.outcome
        OR NEW.outcome_note IS DISTINCT FROM OLD.outcome_note
        OR NEW.outcome_entry_id IS DISTINCT FROM OLD.outcome_entry_id
        OR NEW.outcome_by IS DISTINCT FROM OLD.outcome_by
        OR NEW.outcome_at IS DISTINCT FROM OLD.outcome_at) THEN
        RAISE EXCEPTION 'task % has its outcome already', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tasks_outcome_once';
    END IF;
    IF OLD.outcome IS NULL AND NEW.outcome IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ledger_entries
        WHERE town_id = NEW.town_id AND id = NEW.outcome_entry_id AND case_id = NEW.case_id
          AND source_type = 'task' AND source_id = NEW.id AND kind = 'task_' || NEW.outcome) THEN
        RAISE EXCEPTION 'task % outcome must be its own ledger entry', NEW.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tasks_outcome_entry_matches';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tasks_guard
    BEFORE INSERT OR UPDATE ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_guard();
CREATE TRIGGER tasks_no_delete
    BEFORE DELETE ON tasks
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER tasks_no_truncate
    BEFORE TRUNCATE ON tasks
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- A member's objection to a ledger entry of their own case, lodged within the policy's
-- period and decided once by the committee: upheld (carried out by a reversal entry whose
-- source is the objection) or rejected, with a reason either way.
CREATE TABLE objections (
    town_id           uuid NOT NULL REFERENCES towns (id),
    id                uuid NOT NULL,
    case_id           uuid NOT NULL,
    entry_id          uuid NOT NULL,
    member_id         uuid NOT NULL,
    reason            text NOT NULL,
    -- open, upheld, rejected
    status            text NOT NULL DEFAULT 'open',
    decision_reason   text,
    decided_by        text,
    decided_at        timestamptz,
    -- For an upheld objection: the reversal entry that carried it out.
    reversal_entry_id uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT objections_id_key UNIQUE (id),
    CONSTRAINT objections_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT objections_entry_fk FOREIGN KEY (town_id, entry_id) REFERENCES ledger_entries (town_id, id),
    CONSTRAINT objections_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT objections_reversal_fk FOREIGN KEY (town_id, reversal_entry_id) REFERENCES ledger_entries (town_id, id),
    -- One objection per entry, whatever became of it.
    CONSTRAINT objections_one_per_entry UNIQUE (town_id, entry_id),
    CONSTRAINT objections_status_valid CHECK (status IN ('open', 'upheld', 'rejected')),
    CONSTRAINT objections_decided_shape CHECK (
        (status = 'open') = (decided_at IS NULL)
        AND (status = 'open') = (decided_by IS NULL)
        AND (status = 'open') = (decision_reason IS NULL)
        AND (status = 'upheld') = (reversal_entry_id IS NOT NULL)),
    CONSTRAINT objections_text_length CHECK (
        char_length(reason) BETWEEN 1 AND 1000 AND char_length(decision_reason) BETWEEN 1 AND 1000)
);
-- The committee's list by status, and a member's own objections.
CREATE INDEX objections_by_status ON objections (town_id, status, id);
CREATE INDEX objections_by_member ON objections (town_id, member_id, id);

-- What was objected to, by whom, never changes; a decision is made once and then never
-- changes; an upheld objection's reversal must reverse the objected entry and name the
-- objection as its source. Objections are never deleted.
CREATE FUNCTION objections_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN
            RAISE EXCEPTION 'objection % must be lodged open', NEW.id
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'objections_decided_once';
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM ledger_entries e JOIN cases c ON c.town_id = e.town_id AND c.id = e.case_id
            WHERE e.town_id = NEW.town_id AND e.id = NEW.entry_id AND e.case_id = NEW.case_id
              AND c.member_id = NEW.member_id) THEN
            RAISE EXCEPTION 'objection % must be to an entry of the member''s own case', NEW.id
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'objections_own_entry';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.town_id <> OLD.town_id OR NEW.id <> OLD.id OR NEW.case_id <> OLD.case_id
       OR NEW.entry_id <> OLD.entry_id OR NEW.member_id <> OLD.member_id
       OR NEW.reason <> OLD.reason OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'objection % keeps what it objects to', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'objections_identity_fixed';
    END IF;
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'objection % is decided already', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'objections_decided_once';
    END IF;
    IF NEW.status = 'upheld' AND NOT EXISTS (
        SELECT 1 FROM ledger_entries
        WHERE town_id = NEW.town_id AND id = NEW.reversal_entry_id AND kind = 'reversal'
          AND reverses_entry_id = NEW.entry_id AND source_type = 'objection' AND source_id = NEW.id) THEN
        RAISE EXCEPTION 'objection % upheld without its reversal', NEW.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'objections_reversal_matches';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER objections_guard
    BEFORE INSERT OR UPDATE ON objections
    FOR EACH ROW EXECUTE FUNCTION objections_guard();
CREATE TRIGGER objections_no_delete
    BEFORE DELETE ON objections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER objections_no_truncate
    BEFORE TRUNCATE ON objections
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
