-- The meetings of a branch's organizational life (三会一课 and the rest, by 中国共产党支部
-- 工作条例（试行）, 2018; articles 10, 12, 22 of the center's rules; issue 14).
--
-- A meeting is of one branch and one regulated kind; a party group meeting names the
-- group, which must be the branch's own (the composite foreign key). Who is expected is
-- fixed when it is planned, as for activities: the branch's (or group's) active members,
-- plus anyone else named (an inflowing or floating member of another branch, art. 12).
-- A member under transformation expected at a center-branch meeting is recorded with
-- their open case: the case an absence is scored to (art. 22).
--
-- The roll is sent once and never changed; the minutes (会议记录) are versions, never
-- edited: a correction is a new version, the old one kept.

CREATE TABLE meetings (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    branch_id        uuid NOT NULL,
    kind             text NOT NULL,
    group_id         uuid,
    starts_at        timestamptz NOT NULL,
    place            text NOT NULL,
    host             text NOT NULL,
    topic            text NOT NULL,
    -- What the center did for it (art. 10): nothing, hosted it, or helped the branch hold it.
    center_role      text NOT NULL DEFAULT 'none',
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Set once, by the transaction that records the roll (under this row's lock).
    roll_recorded_at timestamptz,
    roll_recorded_by text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT meetings_id_key UNIQUE (id),
    CONSTRAINT meetings_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT meetings_group_fk FOREIGN KEY (town_id, branch_id, group_id) REFERENCES party_groups (town_id, branch_id, id),
    CONSTRAINT meetings_kind_valid CHECK (kind IN ('general_meeting', 'branch_committee', 'party_group',
        'party_lecture', 'theme_day', 'life_meeting', 'member_appraisal')),
    CONSTRAINT meetings_group_shape CHECK ((kind = 'party_group') = (group_id IS NOT NULL)),
    CONSTRAINT meetings_center_role_valid CHECK (center_role IN ('none', 'hosted', 'helped')),
    CONSTRAINT meetings_text_length CHECK (
        char_length(place) BETWEEN 1 AND 200 AND char_length(host) BETWEEN 1 AND 100
        AND char_length(topic) BETWEEN 1 AND 200),
    CONSTRAINT meetings_roll_shape CHECK ((roll_recorded_at IS NULL) = (roll_recorded_by IS NULL))
);
-- The list's filters and the compliance view: a branch's meetings by time.
CREATE INDEX meetings_by_branch ON meetings (town_id, branch_id, starts_at);
CREATE INDEX meetings_by_start ON meetings (town_id, starts_at);
CREATE TRIGGER meetings_not_deleted
    BEFORE DELETE ON meetings
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Who is expected at a meeting, fixed when it is planned.
CREATE TABLE meeting_attendees (
    town_id    uuid NOT NULL,
    meeting_id uuid NOT NULL,
    member_id  uuid NOT NULL,
    -- branch_member, group_member, or extra (named: e.g. an inflowing member, art. 12)
    attends_as text NOT NULL,
    case_id    uuid,
    PRIMARY KEY (town_id, meeting_id, member_id),
    CONSTRAINT meeting_attendees_meeting_fk FOREIGN KEY (town_id, meeting_id) REFERENCES meetings (town_id, id),
    CONSTRAINT meeting_attendees_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT meeting_attendees_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT meeting_attendees_attends_as_valid CHECK (attends_as IN ('branch_member', 'group_member', 'extra'))
);
-- A member's meetings (their record).
CREATE INDEX meeting_attendees_by_member ON meeting_attendees (town_id, member_id, meeting_id);
CREATE TRIGGER meeting_attendees_append_only
    BEFORE UPDATE OR DELETE ON meeting_attendees
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER meeting_attendees_no_truncate
    BEFORE TRUNCATE ON meeting_attendees
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The roll: one record per expected member (the foreign key to the attendees makes a
-- record of anyone else impossible). The source of an absence's ledger entry
-- (source_type 'meeting_attendance').
CREATE TABLE meeting_attendance (
    town_id       uuid NOT NULL,
    id            uuid NOT NULL,
    meeting_id    uuid NOT NULL,
    member_id     uuid NOT NULL,
    status        text NOT NULL,
    excuse_reason text,
    approved_by   text,
    unscored      text,
    recorded_by   text NOT NULL,
    recorded_role text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT meeting_attendance_id_key UNIQUE (id),
    CONSTRAINT meeting_attendance_one_per_member UNIQUE (town_id, meeting_id, member_id),
    CONSTRAINT meeting_attendance_expected_fk FOREIGN KEY (town_id, meeting_id, member_id) REFERENCES meeting_attendees (town_id, meeting_id, member_id),
    CONSTRAINT meeting_attendance_status_valid CHECK (status IN ('present', 'absent', 'excused')),
    CONSTRAINT meeting_attendance_excuse_shape CHECK (
        (status = 'excused') = (excuse_reason IS NOT NULL AND approved_by IS NOT NULL)
        AND (status = 'excused' OR (excuse_reason IS NULL AND approved_by IS NULL))),
    CONSTRAINT meeting_attendance_unscored_valid CHECK (unscored IN ('case_concluded', 'score_frozen')),
    CONSTRAINT meeting_attendance_excuse_length CHECK (
        char_length(excuse_reason) BETWEEN 1 AND 500 AND char_length(approved_by) BETWEEN 1 AND 100)
);
CREATE TRIGGER meeting_attendance_append_only
    BEFORE UPDATE OR DELETE ON meeting_attendance
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER meeting_attendance_no_truncate
    BEFORE TRUNCATE ON meeting_attendance
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The minutes (会议记录): version 1 is the first text, each later version a correction
-- with its reason. Never edited or deleted.
CREATE TABLE meeting_minutes (
    town_id           uuid NOT NULL,
    meeting_id        uuid NOT NULL,
    version           integer NOT NULL,
    text              text NOT NULL,
    correction_reason text,
    recorded_by       text NOT NULL,
    recorded_role     text NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, meeting_id, version),
    CONSTRAINT meeting_minutes_meeting_fk FOREIGN KEY (town_id, meeting_id) REFERENCES meetings (town_id, id),
    CONSTRAINT meeting_minutes_version_positive CHECK (version >= 1),
    CONSTRAINT meeting_minutes_reason_shape CHECK ((version = 1) = (correction_reason IS NULL)),
    CONSTRAINT meeting_minutes_length CHECK (
        char_length(text) BETWEEN 1 AND 20000 AND char_length(correction_reason) BETWEEN 1 AND 500)
);
CREATE TRIGGER meeting_minutes_append_only
    BEFORE UPDATE OR DELETE ON meeting_minutes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER meeting_minutes_no_truncate
    BEFORE TRUNCATE ON meeting_minutes
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
