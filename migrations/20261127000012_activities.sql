-- Activities and attendance rolls (articles 14, 17, 22).
--
-- An activity (a meeting, a party lecture, organizational life, a cultural activity, a
-- stint of the town's central work) is planned with the members who must attend it:
-- the members under transformation (art. 22: an absence costs them points), the
-- trainees (art. 17: they attend every activity) and anyone else named. Who must attend
-- is fixed when the activity is planned, so the roll and the points are judged against
-- what was announced, not against who happens to be under transformation later.
--
-- The roll is sent once, as one batch; it is a record, not a worksheet: its rows are
-- never changed or deleted. A mistake is corrected by a committee reversal of the
-- absence's ledger entry (whose source is the attendance record), never by an edit.

CREATE TABLE activities (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    kind             text NOT NULL,
    title            text NOT NULL,
    starts_at        timestamptz NOT NULL,
    place            text NOT NULL,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Set once, by the transaction that records the roll (under this row's lock, which
    -- is how two concurrent rolls of one activity are serialized).
    roll_recorded_at timestamptz,
    roll_recorded_by text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT activities_id_key UNIQUE (id),
    CONSTRAINT activities_kind_valid CHECK (kind IN ('meeting', 'lecture', 'organizational_life', 'cultural', 'central_work')),
    CONSTRAINT activities_title_length CHECK (char_length(title) BETWEEN 1 AND 200),
    CONSTRAINT activities_place_length CHECK (char_length(place) BETWEEN 1 AND 200),
    CONSTRAINT activities_roll_shape CHECK ((roll_recorded_at IS NULL) = (roll_recorded_by IS NULL))
);
-- The list: by kind, and by start time (the from/to filters).
CREATE INDEX activities_by_kind ON activities (town_id, kind, id);
CREATE INDEX activities_by_start ON activities (town_id, starts_at);

-- Who must attend an activity, one row per member, fixed when it is planned.
-- `transformation` rows name the member's open case at that moment: the case an
-- absence is scored to.
CREATE TABLE activity_attendees (
    town_id     uuid NOT NULL,
    activity_id uuid NOT NULL,
    member_id   uuid NOT NULL,
    required_as text NOT NULL,
    case_id     uuid,
    PRIMARY KEY (town_id, activity_id, member_id),
    CONSTRAINT activity_attendees_activity_fk FOREIGN KEY (town_id, activity_id) REFERENCES activities (town_id, id),
    CONSTRAINT activity_attendees_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT activity_attendees_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT activity_attendees_required_as_valid CHECK (required_as IN ('transformation', 'trainee', 'other')),
    CONSTRAINT activity_attendees_case_shape CHECK ((required_as = 'transformation') = (case_id IS NOT NULL))
);
-- `/me/activities`: a member's activities.
CREATE INDEX activity_attendees_by_member ON activity_attendees (town_id, member_id, activity_id);
CREATE TRIGGER activity_attendees_append_only
    BEFORE UPDATE OR DELETE ON activity_attendees
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER activity_attendees_no_truncate
    BEFORE TRUNCATE ON activity_attendees
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- The roll: one record per required member (the foreign key to the attendees makes a
-- record for anyone else impossible, the key a second record of one member).
CREATE TABLE attendance_records (
    town_id       uuid NOT NULL,
    id            uuid NOT NULL,
    activity_id   uuid NOT NULL,
    member_id     uuid NOT NULL,
    status        text NOT NULL,
    -- An excused leave (请假) says why, and who approved it.
    excuse_reason text,
    approved_by   text,
    -- A line that would cost points but did not, and why: the member's case was concluded
    -- after the activity was planned, or the policy froze the score (evaluation due).
    unscored      text,
    recorded_by   text NOT NULL,
    recorded_role text NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT attendance_records_id_key UNIQUE (id),
    CONSTRAINT attendance_records_one_per_member UNIQUE (town_id, activity_id, member_id),
    CONSTRAINT attendance_records_required_fk FOREIGN KEY (town_id, activity_id, member_id)
        REFERENCES activity_attendees (town_id, activity_id, member_id),
    CONSTRAINT attendance_records_status_valid CHECK (status IN ('present', 'absent', 'excused')),
    CONSTRAINT attendance_records_excuse_shape CHECK (
        (status = 'excused') = (excuse_reason IS NOT NULL AND approved_by IS NOT NULL)
        AND (status = 'excused' OR (excuse_reason IS NULL AND approved_by IS NULL))),
    CONSTRAINT attendance_records_unscored_valid CHECK (unscored IN ('case_concluded', 'score_frozen')),
    CONSTRAINT attendance_records_excuse_length CHECK (
        char_length(excuse_reason) BETWEEN 1 AND 500 AND char_length(approved_by) BETWEEN 1 AND 100)
);
CREATE TRIGGER attendance_records_append_only
    BEFORE UPDATE OR DELETE ON attendance_records
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER attendance_records_no_truncate
    BEFORE TRUNCATE ON attendance_records
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
