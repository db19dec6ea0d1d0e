-- The score stays base + the sum of the ledger, checked by the database, but the check
-- no longer sums a case's whole ledger on every change of the case row: that made an
-- entry on a case with a million entries take half a second. The same invariant is now
-- kept by induction, with a few index lookups per entry:
--
-- 1. Each entry continues its predecessor (ledger_entries_follow_previous): the case's
--    score before the entry is the previous entry's score_after (the base for the
--    first entry), so each score_after is base + the sum of the entries up to it.
-- 2. At commit, each touched case stands where its ledger ends
--    (cases_score_matches_ledger): the score is the score_after of its last entry
--    (entries_count), or the base when it has none, there is no entry past it, and
--    its base is still the one its first entry started from.
--
-- Entries are append-only and their seq and score_after are set by
-- ledger_entries_apply() under the case's row lock, so (1) and (2) together say
-- exactly what the old full sum said.

CREATE OR REPLACE FUNCTION ledger_entries_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_score integer;
    new_count integer;
    base integer;
    before integer;
BEGIN
    UPDATE cases
    SET score_half_points = score_half_points + NEW.half_points,
        entries_count = entries_count + 1,
        updated_at = now(),
        version = version + 1
    WHERE town_id = NEW.town_id AND id = NEW.case_id AND status <> 'concluded'
    RETURNING score_half_points, entries_count, base_half_points INTO new_score, new_count, base;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'case % is concluded or missing', NEW.case_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entries_open_case';
    END IF;
    IF new_count = 1 THEN
        before := base;
    ELSE
        SELECT e.score_after INTO before
        FROM ledger_entries e
        WHERE e.town_id = NEW.town_id AND e.case_id = NEW.case_id AND e.seq = new_count - 1;
    END IF;
    IF before IS DISTINCT FROM new_score - NEW.half_points THEN
        RAISE EXCEPTION 'case % stood at % before entry %, its ledger at %',
                NEW.case_id, new_score - NEW.half_points, new_count, before
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'ledger_entries_follow_previous';
    END IF;
    NEW.seq := new_count;
    NEW.score_after := new_score;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION cases_score_matches_ledger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    score integer;
    base integer;
    entries integer;
    last_after integer;
BEGIN
    -- A deferred trigger sees the row as it was at its own event, not at commit: read the
    -- case as it stands now.
    SELECT c.score_half_points, c.base_half_points, c.entries_count INTO score, base, entries
    FROM cases c WHERE c.town_id = NEW.town_id AND c.id = NEW.id;
    IF entries = 0 THEN
        last_after := base;
    ELSE
        SELECT e.score_after INTO last_after
        FROM ledger_entries e
        WHERE e.town_id = NEW.town_id AND e.case_id = NEW.id AND e.seq = entries;
    END IF;
    IF last_after IS DISTINCT FROM score
       OR EXISTS (SELECT 1 FROM ledger_entries e
                  WHERE e.town_id = NEW.town_id AND e.case_id = NEW.id AND e.seq = 1
                    AND e.score_after - e.half_points <> base)
       OR EXISTS (SELECT 1 FROM ledger_entries e
                  WHERE e.town_id = NEW.town_id AND e.case_id = NEW.id AND e.seq = entries + 1) THEN
        RAISE EXCEPTION 'case % score % is not where its ledger of % entries ends (%)',
                NEW.id, score, entries, last_after
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'cases_score_matches_ledger';
    END IF;
    RETURN NULL;
END $$;
