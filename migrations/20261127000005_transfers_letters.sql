-- Transfers: who closed a letter, and the rules a new transfer must meet, kept by the
-- database so that every part that writes a transfer (the transfers endpoints, member
-- registration, transformation intake and return) is held to the same rules.

-- A letter's receipt, rejection or revocation is a decision too: keep who recorded it and
-- when, next to the decision that issued it (the audit trail has it as well, but the
-- transfer's own record should answer "who closed this letter" without a join).
ALTER TABLE transfers
    ADD COLUMN closed_by text,
    ADD COLUMN closed_at timestamptz,
    ADD CONSTRAINT transfers_closed_has_who CHECK (
        (status IN ('received', 'rejected', 'revoked')) = (closed_by IS NOT NULL AND closed_at IS NOT NULL)
    );

-- A new transfer must start from where the member is, and fit the member's state:
-- * a transfer that leaves a branch (internal, outflow, intake, return) leaves the
--   member's current branch, and only an active member moves;
-- * an inflow is for a member record that is waiting to arrive ('incoming');
-- * nothing completes while a letter is open: the sending side is responsible for the
--   member until the receipt, so the member cannot meanwhile move elsewhere (two open
--   letters are refused by the transfers_one_open index already).
-- The member row is locked, so two transfers of one member are decided one after the other.
-- Registration (a member's first entry) is not checked: the members part writes it with
-- the new member record itself (one by one or by the thousand in an import), so the
-- member can have neither a branch to leave nor an open letter.
CREATE FUNCTION transfers_check_new() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    m_branch uuid;
    m_status text;
BEGIN
    IF NEW.kind = 'registration' THEN
        RETURN NEW;
    END IF;
    SELECT branch_id, status INTO m_branch, m_status
    FROM members WHERE town_id = NEW.town_id AND id = NEW.member_id
    FOR UPDATE;
    IF NOT FOUND THEN
        -- The foreign key reports it.
        RETURN NEW;
    END IF;
    IF NEW.status = 'completed' AND EXISTS (
        SELECT 1 FROM transfers
        WHERE town_id = NEW.town_id AND member_id = NEW.member_id AND status = 'issued'
    ) THEN
        RAISE EXCEPTION 'member % has an open letter', NEW.member_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'transfers_letter_open';
    END IF;
    IF NEW.kind = 'inflow' THEN
        IF m_status <> 'incoming' THEN
            RAISE EXCEPTION 'an inflow is for an incoming member record, not one that is %', m_status
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'transfers_member_state';
        END IF;
    ELSE
        IF m_status <> 'active' THEN
            RAISE EXCEPTION 'member % is % and cannot transfer', NEW.member_id, m_status
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'transfers_member_state';
        END IF;
        IF NEW.from_branch_id IS DISTINCT FROM m_branch THEN
            RAISE EXCEPTION 'a transfer leaves the member''s current branch'
                USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'transfers_from_current_branch';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transfers_check_new
    BEFORE INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_check_new();
