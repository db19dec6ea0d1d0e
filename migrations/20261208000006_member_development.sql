-- Member development (发展党员, article 13), by 中国共产党发展党员工作细则 (2014): the
-- pipeline a branch follows, with the center's help, from an application to full
-- membership.
--
--   applicant (入党申请人) -> activist (入党积极分子) -> candidate (发展对象)
--     -> probationary (预备党员) -> full (正式党员); or withdrawn / disqualified.
--
-- Every step is a dated record (applicant_steps, append-only) saying who decided it; the
-- applicant row keeps the stage and the dates the rules count from. The numbers (ages,
-- months, counts, majorities) are town policy, versioned with the rest, and each step
-- names the policy version it was checked by.

-- The development numbers of the policy, with the 2014 rules as defaults.
ALTER TABLE policies
    -- An applicant is at least this old on the day of the application (第九条: 18).
    ADD COLUMN applicant_min_age integer NOT NULL DEFAULT 18,
    -- The branch talks with the applicant within this many months (第十条: one).
    ADD COLUMN talk_within_months integer NOT NULL DEFAULT 1,
    -- An activist has this many contact persons, full members (第十三条: one or two).
    ADD COLUMN contacts_min integer NOT NULL DEFAULT 1,
    ADD COLUMN contacts_max integer NOT NULL DEFAULT 2,
    -- An activist is reviewed at least every this many months (第十四条: half a year).
    ADD COLUMN activist_review_months integer NOT NULL DEFAULT 6,
    -- A candidate has been an activist at least this many months (第十五条: one year).
    ADD COLUMN activist_min_months integer NOT NULL DEFAULT 12,
    -- A candidate has this many introducers, full members (第十八条: two).
    ADD COLUMN introducers integer NOT NULL DEFAULT 2,
    -- A candidate's short training lasts at least this many days (第十七条: three).
    ADD COLUMN training_min_days integer NOT NULL DEFAULT 3,
    -- A branch general meeting admits (and converts) with more than this share (percent)
    -- of the full members with a vote in favour (第二十一条: more than half).
    ADD COLUMN development_majority_percent integer NOT NULL DEFAULT 50,
    -- The town committee approves an admission within this many months (第二十四条: three).
    ADD COLUMN approval_within_months integer NOT NULL DEFAULT 3,
    -- The probation lasts this many months from the approval (第二十八条: one year).
    ADD COLUMN probation_months integer NOT NULL DEFAULT 12,
    -- A probation may be extended once, by this many months at least and at most
    -- (第三十条: six months to one year).
    ADD COLUMN extension_min_months integer NOT NULL DEFAULT 6,
    ADD COLUMN extension_max_months integer NOT NULL DEFAULT 12,
    ADD CONSTRAINT policies_development_sane CHECK (
        applicant_min_age BETWEEN 14 AND 30
        AND talk_within_months BETWEEN 1 AND 12
        AND contacts_min BETWEEN 1 AND 5 AND contacts_max BETWEEN contacts_min AND 5
        AND activist_review_months BETWEEN 1 AND 24
        AND activist_min_months BETWEEN 0 AND 60
        AND introducers BETWEEN 1 AND 5
        AND training_min_days BETWEEN 1 AND 60
        AND development_majority_percent BETWEEN 50 AND 99
        AND approval_within_months BETWEEN 1 AND 12
        AND probation_months BETWEEN 1 AND 36
        AND extension_min_months BETWEEN 1 AND 36
        AND extension_max_months BETWEEN extension_min_months AND 36);

-- A member's standing in the party: a probationary member (预备党员) or a full one. It
-- is apart from `status`, which says where the membership is (in a branch, arriving,
-- gone): a probationary member transfers, travels and attends like any other, but has
-- no vote, and cannot be a contact person or an introducer. Every member recorded so far
-- is full. `full_member_since` is the day party standing (党龄) counts from: the end of
-- the probation (第三十二条); unknown for members registered before this was recorded.
ALTER TABLE members
    ADD COLUMN standing text NOT NULL DEFAULT 'full',
    ADD COLUMN full_member_since date,
    ADD CONSTRAINT members_standing_valid CHECK (standing IN ('probationary', 'full')),
    ADD CONSTRAINT members_full_since_when_full CHECK (standing = 'full' OR full_member_since IS NULL);

CREATE TABLE applicants (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    -- The branch that develops the applicant, and where the member record is made.
    branch_id        uuid NOT NULL,
    name             text NOT NULL,
    -- The resident ID number: the age rule reads its birth date, and it becomes the
    -- member record's. Masked in answers like a member's.
    national_id      text NOT NULL,
    phone            text,
    village          text,
    stage            text NOT NULL DEFAULT 'applicant',
    -- The dates the rules count from (each also a step below).
    applied_on       date NOT NULL,
    talked_on        date,
    activist_on      date,
    last_review_on   date,
    candidate_on     date,
    political_review_on date,
    training_days    integer,
    -- The branch general meeting's admission, then the committee's approval, which
    -- starts the probation.
    admitted_on      date,
    approved_on      date,
    probation_ends_on date,
    extended         boolean NOT NULL DEFAULT false,
    converted_vote_on date,
    full_on          date,
    -- Withdrawn or disqualified: when, and why.
    ended_on         date,
    end_reason       text,
    -- The member record made at the approval.
    member_id        uuid,
    created_by       text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    version          bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT applicants_id_key UNIQUE (id),
    CONSTRAINT applicants_branch_fk FOREIGN KEY (town_id, branch_id) REFERENCES branches (town_id, id),
    CONSTRAINT applicants_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT applicants_stage_valid CHECK (stage IN (
        'applicant', 'activist', 'candidate', 'probationary', 'full', 'withdrawn', 'disqualified')),
    CONSTRAINT applicants_name_length CHECK (char_length(name) BETWEEN 1 AND 50),
    CONSTRAINT applicants_national_id_format CHECK (national_id ~ '^[0-9]{17}[0-9X]$'),
    -- The member record exists exactly from the approval on (and stays, when a
    -- probationary member is disqualified).
    CONSTRAINT applicants_member_when_approved CHECK ((member_id IS NOT NULL) = (approved_on IS NOT NULL)),
    CONSTRAINT applicants_ended_shape CHECK (
        (stage IN ('withdrawn', 'disqualified')) = (ended_on IS NOT NULL AND end_reason IS NOT NULL)),
    -- The dates follow each other.
    CONSTRAINT applicants_dates_in_order CHECK (
        talked_on >= applied_on AND activist_on >= talked_on AND candidate_on >= activist_on
        AND admitted_on >= candidate_on AND approved_on >= admitted_on
        AND probation_ends_on > approved_on AND converted_vote_on >= approved_on
        AND full_on >= converted_vote_on AND ended_on >= applied_on)
);
-- One open application per person in a town: an applicant who withdrew may apply again.
CREATE UNIQUE INDEX applicants_one_open_per_person ON applicants (town_id, national_id)
    WHERE stage NOT IN ('full', 'withdrawn', 'disqualified');
CREATE INDEX applicants_by_branch ON applicants (town_id, branch_id, id);
CREATE INDEX applicants_by_stage ON applicants (town_id, stage, id);

-- Every step of an applicant's way, dated, with who decided it (a body such as the
-- branch committee, or a person) and who recorded it (the token subject). Never changed.
CREATE TABLE applicant_steps (
    town_id          uuid NOT NULL REFERENCES towns (id),
    id               uuid NOT NULL,
    applicant_id     uuid NOT NULL,
    kind             text NOT NULL,
    taken_on         date NOT NULL,
    decided_by       text NOT NULL,
    note             text,
    -- The numbers of the step: the vote's counts, the training's days, the extension's
    -- months, the contact persons and introducers (member ids).
    data             jsonb NOT NULL DEFAULT '{}',
    policy_version   integer NOT NULL,
    recorded_by      text NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, id),
    CONSTRAINT applicant_steps_id_key UNIQUE (id),
    CONSTRAINT applicant_steps_applicant_fk FOREIGN KEY (town_id, applicant_id) REFERENCES applicants (town_id, id),
    CONSTRAINT applicant_steps_policy_fk FOREIGN KEY (town_id, policy_version) REFERENCES policies (town_id, version),
    CONSTRAINT applicant_steps_kind_valid CHECK (kind IN (
        'application', 'talk', 'activist_designation', 'review', 'candidate_designation',
        'political_review', 'training', 'admission', 'approval', 'extension', 'conversion_vote',
        'conversion', 'withdrawal', 'disqualification')),
    CONSTRAINT applicant_steps_decided_by_length CHECK (char_length(decided_by) BETWEEN 1 AND 100)
);
CREATE INDEX applicant_steps_by_applicant ON applicant_steps (town_id, applicant_id, taken_on, id);
CREATE TRIGGER applicant_steps_append_only
    BEFORE UPDATE OR DELETE ON applicant_steps
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- The contact persons (培养联系人) of an activist and the introducers (入党介绍人) of a
-- candidate: members of the town, recorded with the step that named them.
CREATE TABLE applicant_sponsors (
    town_id          uuid NOT NULL REFERENCES towns (id),
    applicant_id     uuid NOT NULL,
    member_id        uuid NOT NULL,
    role             text NOT NULL,
    step_id          uuid NOT NULL,
    PRIMARY KEY (town_id, applicant_id, role, member_id),
    CONSTRAINT applicant_sponsors_applicant_fk FOREIGN KEY (town_id, applicant_id) REFERENCES applicants (town_id, id),
    CONSTRAINT applicant_sponsors_member_fk FOREIGN KEY (town_id, member_id) REFERENCES members (town_id, id),
    CONSTRAINT applicant_sponsors_step_fk FOREIGN KEY (town_id, step_id) REFERENCES applicant_steps (town_id, id),
    CONSTRAINT applicant_sponsors_role_valid CHECK (role IN ('contact', 'introducer'))
);
