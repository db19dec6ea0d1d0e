-- Education and training (articles 15-18): yearly training cohorts, their trainees and
-- placements, and one-on-one mentoring (结对教育) with its meeting log.
--
-- The size rules hold in the database itself, whatever the service does and however
-- many requests race: a cohort never holds more trainees than the maximum recorded on it
-- when it was created (a counter column moved by a trigger under the cohort row's lock,
-- with a CHECK against the maximum), a trainee's placements never overlap (an exclusion
-- constraint), a mentee has one open mentorship (a partial unique index) and a mentor
-- at most the limit recorded on the pairing (a trigger that serializes on the mentor's
-- member row and counts).

-- A year's cohort (art. 16): one per town and year. `min_size`/`max_size` are the
-- policy's cohort bounds when the cohort was created, so a later policy change does not
-- move the goalposts of a cohort under way.
CREATE TABLE cohorts (
    town_id        uuid NOT NULL REFERENCES towns (id),
    id             uuid NOT NULL,
    year           integer NOT NULL,
    -- selecting -> confirmed -> closed (a cohort still selecting may be closed too).
    status         text NOT NULL DEFAULT 'selecting',
    policy_version integer NOT NULL,
    min_size       integer NOT NULL,
    max_size       integer NOT NULL,
    -- Maintained by cohort_trainees_count(); never written by the service.
    trainee_count  integer NOT NULL DEFAULT 0,
    created_by     text NOT NULL,
    confirmed_on   date,
    confirmed_by   text,
    closed_on      date,
    closed_by      text,
    close_reason   text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT cohorts_id_key UNIQUE (id),
    -- The target of the trainees' (cohort, year) reference.
    CONSTRAINT cohorts_year_key UNIQUE (town_id, id, year),
    CONSTRAINT cohorts_one_per_year UNIQUE (town_id, year),
    CONSTRAINT cohorts_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT cohorts_status_valid CHECK (status IN ('selecting', 'confirmed', 'closed')),
    CONSTRAINT cohorts_year_sane CHECK (year BETWEEN 2000 AND 2200),
    CONSTRAINT cohorts_size_bounds CHECK (min_size >= 1 AND max_size >= min_size),
    -- Never more than the maximum: the counter moves under the row lock, so concurrent
    -- additions serialize here and the one over the maximum fails.
    CONSTRAINT cohorts_not_over_max CHECK (trainee_count BETWEEN 0 AND max_size),
    -- A confirmed cohort had at least the minimum (and cannot lose trainees after).
    CONSTRAINT cohorts_confirmed_size CHECK (confirmed_on IS NULL OR trainee_count >= min_size),
    CONSTRAINT cohorts_confirmation_shape CHECK (
        (status = 'selecting' AND confirmed_on IS NULL)
        OR (status = 'confirmed' AND confirmed_on IS NOT NULL)
        OR status = 'closed'),
    CONSTRAINT cohorts_confirmed_by_shape CHECK ((confirmed_on IS NULL) = (confirmed_by IS NULL)),
    CONSTRAINT cohorts_close_shape CHECK (
        (status = 'closed') = (closed_on IS NOT NULL AND closed_by IS NOT NULL AND close_reason IS NOT NULL)
        AND (status = 'closed' OR (closed_on IS NULL AND closed_by IS NULL AND close_reason IS NULL))),
    CONSTRAINT cohorts_close_reason_length CHECK (char_length(close_reason) BETWEEN 1 AND 500)
);

-- A cohort's trainees (art. 15): outstanding young members or village reserve cadres,
-- which the service checks when they are selected; `eligible_as` keeps why. A member is
-- in at most one cohort a year.
CREATE TABLE cohort_trainees (
    town_id     uuid NOT NULL,
    cohort_id   uuid NOT NULL,
    member_id   uuid NOT NULL,
    year        integer NOT NULL,
    eligible_as text NOT NULL,
    added_by    text NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, cohort_id, member_id),
    CONSTRAINT cohort_trainees_cohort_fk FOREIGN KEY (town_id, cohort_id, year)
        REFERENCES cohorts (town_id, id, year),
    CONSTRAINT cohort_trainees_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT cohort_trainees_one_cohort_a_year UNIQUE (town_id, year, member_id),
    CONSTRAINT cohort_trainees_eligible_as_valid CHECK (
        eligible_as IN ('outstanding_young', 'reserve_cadre', 'both'))
);
CREATE INDEX cohort_trainees_by_member ON cohort_trainees (town_id, member_id);

-- The counter and the state rule: a trainee comes or goes only while the cohort is
-- selecting, and each change moves `trainee_count` (and the cohort's version, its ETag)
-- under the cohort row's lock; the CHECK on cohorts refuses the one over the maximum.
CREATE FUNCTION cohort_trainees_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_town uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.town_id ELSE NEW.town_id END;
    row_cohort uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.cohort_id ELSE NEW.cohort_id END;
    delta integer := CASE WHEN TG_OP = 'DELETE' THEN -1 ELSE 1 END;
BEGIN
    UPDATE cohorts
    SET trainee_count = trainee_count + delta, version = version + 1, updated_at = now()
    WHERE town_id = row_town AND id = row_cohort AND status = 'selecting';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cohort % is not selecting trainees', row_cohort
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'cohort_trainees_cohort_selecting';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER cohort_trainees_count
    BEFORE INSERT OR DELETE ON cohort_trainees
    FOR EACH ROW EXECUTE FUNCTION cohort_trainees_count();
CREATE TRIGGER cohort_trainees_no_update
    BEFORE UPDATE ON cohort_trainees
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER cohort_trainees_no_truncate
    BEFORE TRUNCATE ON cohort_trainees
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- A trainee's placements (art. 15): a party lecture (上党课), a temporary post
-- (挂职锻炼: which post, in which unit), or the town's central work (参与镇中心工作),
-- each from a start to an end date (both included). One trainee is in one placement at
-- a time: the exclusion constraint refuses overlapping date ranges of one member.
CREATE TABLE placements (
    town_id    uuid NOT NULL,
    id         uuid NOT NULL,
    cohort_id  uuid NOT NULL,
    member_id  uuid NOT NULL,
    kind       text NOT NULL,
    post       text,
    unit       text,
    note       text,
    starts_on  date NOT NULL,
    ends_on    date NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT placements_id_key UNIQUE (id),
    CONSTRAINT placements_trainee_fk FOREIGN KEY (town_id, cohort_id, member_id)
        REFERENCES cohort_trainees (town_id, cohort_id, member_id),
    CONSTRAINT placements_kind_valid CHECK (kind IN ('lecture', 'temporary_post', 'central_work')),
    CONSTRAINT placements_post_shape CHECK (
        (kind = 'temporary_post') = (post IS NOT NULL AND unit IS NOT NULL)
        AND (kind = 'temporary_post' OR (post IS NULL AND unit IS NULL))),
    CONSTRAINT placements_dates_ordered CHECK (ends_on >= starts_on),
    CONSTRAINT placements_text_length CHECK (
        char_length(post) BETWEEN 1 AND 100 AND char_length(unit) BETWEEN 1 AND 100
        AND char_length(note) BETWEEN 1 AND 500),
    CONSTRAINT placements_no_overlap EXCLUDE USING gist (
        town_id WITH =, member_id WITH =, daterange(starts_on, ends_on, '[]') WITH &&)
);
CREATE INDEX placements_by_trainee ON placements (town_id, cohort_id, member_id, starts_on);
-- Placements are a record: corrected by the committee in the database, not edited.
CREATE TRIGGER placements_append_only
    BEFORE UPDATE OR DELETE ON placements
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- One-on-one mentoring (art. 18): a staff party member of the center branch (the
-- mentor, a member record) and a mentee, who is either a trainee of a cohort (`basis`
-- trainee, `cohort_id`) or a member under transformation (`basis` transformation,
-- `case_id`). `mentor_subject` is the mentor's token subject: only they write the log.
-- `mentor_limit` is the policy's limit when the pair was made.
CREATE TABLE mentorships (
    town_id        uuid NOT NULL,
    id             uuid NOT NULL,
    mentor_id      uuid NOT NULL,
    mentor_subject text NOT NULL,
    mentee_id      uuid NOT NULL,
    basis          text NOT NULL,
    cohort_id      uuid,
    case_id        uuid,
    policy_version integer NOT NULL,
    mentor_limit   integer NOT NULL,
    started_on     date NOT NULL,
    created_by     text NOT NULL,
    ended_on       date,
    ended_by       text,
    end_reason     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    version        bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT mentorships_id_key UNIQUE (id),
    CONSTRAINT mentorships_town_fk FOREIGN KEY (town_id) REFERENCES towns (id),
    CONSTRAINT mentorships_mentor_fk FOREIGN KEY (town_id, mentor_id) REFERENCES members (town_id, id),
    CONSTRAINT mentorships_mentee_fk FOREIGN KEY (town_id, mentee_id) REFERENCES members (town_id, id),
    CONSTRAINT mentorships_cohort_fk FOREIGN KEY (town_id, cohort_id) REFERENCES cohorts (town_id, id),
    CONSTRAINT mentorships_case_fk FOREIGN KEY (town_id, case_id) REFERENCES cases (town_id, id),
    CONSTRAINT mentorships_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT mentorships_not_self CHECK (mentor_id <> mentee_id),
    CONSTRAINT mentorships_basis_shape CHECK (
        (basis = 'trainee' AND cohort_id IS NOT NULL AND case_id IS NULL)
        OR (basis = 'transformation' AND case_id IS NOT NULL AND cohort_id IS NULL)),
    CONSTRAINT mentorships_limit_positive CHECK (mentor_limit >= 1),
    CONSTRAINT mentorships_subject_length CHECK (char_length(mentor_subject) BETWEEN 1 AND 200),
    CONSTRAINT mentorships_end_shape CHECK (
        (ended_on IS NULL) = (ended_by IS NULL) AND (ended_on IS NULL) = (end_reason IS NULL)),
    CONSTRAINT mentorships_end_after_start CHECK (ended_on >= started_on),
    CONSTRAINT mentorships_end_reason_length CHECK (char_length(end_reason) BETWEEN 1 AND 500)
);
-- One-on-one: a mentee has one open mentorship at a time.
CREATE UNIQUE INDEX mentorships_one_open_per_mentee ON mentorships (town_id, mentee_id) WHERE ended_on IS NULL;
-- A mentor's open load (the trigger's count, and the loads report).
CREATE INDEX mentorships_open_by_mentor ON mentorships (town_id, mentor_id) WHERE ended_on IS NULL;
CREATE INDEX mentorships_by_cohort ON mentorships (town_id, cohort_id) WHERE cohort_id IS NOT NULL;

-- A mentor has at most `mentor_limit` open mentorships. Pairings of one mentor are
-- serialized on the mentor's member row (FOR NO KEY UPDATE: it does not block the
-- foreign key checks of other tables, which take KEY SHARE), and the count is then taken
-- with a fresh snapshot (each statement of a volatile function gets one under READ
-- COMMITTED), so it sees every pairing that committed before the lock was granted.
CREATE FUNCTION mentorships_check_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    open_count integer;
BEGIN
    PERFORM 1 FROM members WHERE town_id = NEW.town_id AND id = NEW.mentor_id FOR NO KEY UPDATE;
    SELECT count(*) INTO open_count FROM mentorships
    WHERE town_id = NEW.town_id AND mentor_id = NEW.mentor_id AND ended_on IS NULL;
    IF open_count >= NEW.mentor_limit THEN
        RAISE EXCEPTION 'mentor % has % open mentorships (limit %)', NEW.mentor_id, open_count, NEW.mentor_limit
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'mentorships_mentor_limit';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER mentorships_check_limit
    BEFORE INSERT ON mentorships
    FOR EACH ROW EXECUTE FUNCTION mentorships_check_limit();

-- A mentorship is never deleted, its pairing never changes, and an ended one stays
-- ended: only the end (date, who, reason) is written, once.
CREATE FUNCTION mentorships_keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'mentorships are history and cannot be deleted' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (NEW.town_id, NEW.id, NEW.mentor_id, NEW.mentor_subject, NEW.mentee_id, NEW.basis, NEW.cohort_id,
        NEW.case_id, NEW.policy_version, NEW.mentor_limit, NEW.started_on, NEW.created_by)
       IS DISTINCT FROM
       (OLD.town_id, OLD.id, OLD.mentor_id, OLD.mentor_subject, OLD.mentee_id, OLD.basis, OLD.cohort_id,
        OLD.case_id, OLD.policy_version, OLD.mentor_limit, OLD.started_on, OLD.created_by) THEN
        RAISE EXCEPTION 'a mentorship''s pairing cannot be edited' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.ended_on IS NOT NULL THEN
        RAISE EXCEPTION 'mentorship % has ended', OLD.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'mentorships_ended';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER mentorships_keep_history
    BEFORE UPDATE OR DELETE ON mentorships
    FOR EACH ROW EXECUTE FUNCTION mentorships_keep_history();

-- The log of a mentorship's meetings: when, on what, notes on the mentee's study and
-- work. Written by the mentor only (checked by the service against `mentor_subject`);
-- append-only.
CREATE TABLE mentorship_logs (
    town_id       uuid NOT NULL,
    id            uuid NOT NULL,
    mentorship_id uuid NOT NULL,
    met_on        date NOT NULL,
    topic         text NOT NULL,
    study_notes   text,
    work_notes    text,
    written_by    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT mentorship_logs_id_key UNIQUE (id),
    CONSTRAINT mentorship_logs_mentorship_fk FOREIGN KEY (town_id, mentorship_id) REFERENCES mentorships (town_id, id),
    CONSTRAINT mentorship_logs_topic_length CHECK (char_length(topic) BETWEEN 1 AND 200),
    CONSTRAINT mentorship_logs_notes_length CHECK (
        char_length(study_notes) BETWEEN 1 AND 4000 AND char_length(work_notes) BETWEEN 1 AND 4000)
);
CREATE INDEX mentorship_logs_by_mentorship ON mentorship_logs (town_id, mentorship_id, id);
CREATE TRIGGER mentorship_logs_append_only
    BEFORE UPDATE OR DELETE ON mentorship_logs
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER mentorship_logs_no_truncate
    BEFORE TRUNCATE ON mentorship_logs
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
