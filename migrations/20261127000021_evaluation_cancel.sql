-- An evaluation the committee calls off (the panel cannot meet, the quorum will not be
-- reached): `cancelled`, with a reason. Its ballots are never counted (no tally), and its
-- case is due for an evaluation again. Like a closed one, a cancelled evaluation is final.

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
             OR (qualified_votes + not_qualified_votes = votes_cast AND votes_cast >= quorum))),
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
