-- A branch's own organization (中国共产党支部工作条例（试行）, 2018): its party groups
-- (党小组) with their members, and its secretary, deputy secretary and committee members
-- (支部委员会) with their terms. Issue 14; DOMAIN.md "Organizational life".

-- A party group inside a branch. A group belongs to one branch for good; its name is
-- unique in the branch. Groups are never deleted: a meeting of a group names it.
CREATE TABLE party_groups (
    town_id    uuid NOT NULL REFERENCES towns (id),
    id         uuid NOT NULL,
    branch_id  uuid NOT NULL,
    name       text NOT NULL,
    -- The group leader (党小组组长), one of its members; optional.
    leader_id  uuid,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT party_groups_id_key UNIQUE (id),
    -- The target of a meeting's (branch, group) reference: a group meeting is the group's
    -- own branch's meeting.
    CONSTRAINT party_groups_branch_key UNIQUE (town_id, branch_id, id),
    CONSTRAINT party_groups_name_taken UNIQUE (town_id, branch_id, name),
    CONSTRAINT party_groups_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT party_groups_leader_fk FOREIGN KEY (town_id, leader_id) REFERENCES members (town_id, id),
    CONSTRAINT party_groups_name_length CHECK (char_length(name) BETWEEN 1 AND 100)
);
CREATE TRIGGER party_groups_not_deleted
    BEFORE DELETE ON party_groups
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Who is in a group now. A member is in at most one group of the town (a member has one
-- branch, and one group in it). The set is replaced as a whole by a group's change.
CREATE TABLE party_group_members (
    town_id   uuid NOT NULL,
    group_id  uuid NOT NULL,
    member_id uuid NOT NULL,
    added_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, group_id, member_id),
    CONSTRAINT party_group_members_group_fk FOREIGN KEY (town_id, group_id) REFERENCES party_groups (town_id, id),
    CONSTRAINT party_group_members_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT party_group_members_one_group UNIQUE (town_id, member_id)
);

-- The branch's officers with their terms. A term is a record: it is never edited or
-- deleted (a term cut short is recorded with the day it really ended, as a new term
-- is). The rules between terms (one secretary at a time, one office per member at a
-- time) are checked under the branch's row lock.
CREATE TABLE branch_officers (
    town_id    uuid NOT NULL REFERENCES towns (id),
    id         uuid NOT NULL,
    branch_id  uuid NOT NULL,
    member_id  uuid NOT NULL,
    office     text NOT NULL,
    term_from  date NOT NULL,
    term_to    date NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT branch_officers_id_key UNIQUE (id),
    CONSTRAINT branch_officers_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT branch_officers_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT branch_officers_office_valid CHECK (office IN ('secretary', 'deputy_secretary', 'committee_member')),
    CONSTRAINT branch_officers_term_order CHECK (term_to >= term_from)
);
CREATE INDEX branch_officers_by_branch ON branch_officers (town_id, branch_id, term_from);
CREATE TRIGGER branch_officers_append_only
    BEFORE UPDATE OR DELETE ON branch_officers
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER branch_officers_no_truncate
    BEFORE TRUNCATE ON branch_officers
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
