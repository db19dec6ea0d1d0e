-- An evaluation the committee calls off before it has its quorum (the panel cannot meet,
-- the quorum will not be reached): `cancelled`, with a reason. Its ballots are destroyed
-- uncounted (kept, one or two of them could be read against the list of who voted), who
-- voted stays on record, and its case is due for an evaluation again. An evaluation with
-- its quorum is closed, never cancelled. Like a closed one, a cancelled one is final.

ALTER TABLE evaluations ADD COLUMN cancel_reason text;

ALTER TABLE evaluations
    DROP CONSTRAINT evaluations_status_valid,
    ADD CONSTRAINT evaluations_status_valid CHECK (status IN ('open', 'passed', 'failed', 'cancelled')),
    DROP CONSTRAINT evaluations_closed_shape,
    -- Open: no closer. Passed or failed: a tally that adds up to the votes cast and meets
    -- the quorum. Cancelled: a reason and no tally.
    ADD CONSTRAINT evaluations_closed_shape CHECK (
        (status = 'open') = (closed_at IS NULL)
        AND (status = 'open') = (closed_by IS NULL)
        AND (status IN ('passed', 'failed')) = (qualified_votes IS NOT NULL)
        AND (status IN ('passed', 'failed')) = (not_qualified_votes IS NOT NULL)
        AND (status = 'cancelled') = (cancel_reason IS NOT NULL)
        AND (status NOT IN ('passed', 'failed')
             OR (qualified_votes + not_qualified_votes = votes_cast AND votes_cast >= quorum))
        AND (status <> 'cancelled' OR votes_cast < quorum)),
    ADD CONSTRAINT evaluations_cancel_reason_length CHECK (char_length(cancel_reason) BETWEEN 1 AND 500);

-- Closed or cancelled is final: only an open evaluation changes.
CREATE FUNCTION evaluations_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status <> 'open' THEN
        RAISE EXCEPTION 'evaluation % is %: it no longer changes', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'evaluations_final';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER evaluations_final
    BEFORE UPDATE ON evaluations
    FOR EACH ROW EXECUTE FUNCTION evaluations_final();

-- One voter, one ballot, as before; a cancelled evaluation keeps its voters and no ballot.
CREATE OR REPLACE FUNCTION evaluations_check_votes(town uuid, evaluation uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    voters integer;
    ballots integer;
    cast_count integer;
    cancelled boolean;
    expected_ballots integer;
BEGIN
    SELECT count(*) INTO voters FROM evaluation_voters WHERE town_id = town AND evaluation_id = evaluation;
    SELECT count(*) INTO ballots FROM evaluation_ballots WHERE town_id = town AND evaluation_id = evaluation;
    SELECT votes_cast, status = 'cancelled' INTO cast_count, cancelled
    FROM evaluations WHERE town_id = town AND id = evaluation;
    expected_ballots := CASE WHEN coalesce(cancelled, false) THEN 0 ELSE voters END;
    IF voters <> coalesce(cast_count, 0) OR ballots <> expected_ballots THEN
        RAISE EXCEPTION 'evaluation % has % voters, % ballots, votes_cast %', evaluation, voters, ballots, cast_count
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'evaluations_votes_match';
    END IF;
END $$;
