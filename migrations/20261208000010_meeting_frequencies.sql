-- How often each kind of branch meeting must be held: town policy, versioned with the
-- rest (issue 14). The defaults are those of 中国共产党支部工作条例（试行）(2018): the
-- general meeting and a party lecture at least once a quarter, the branch committee and
-- each party group at least once a month, the theme party day every month, the
-- organizational life meeting and the appraisal of members at least once a year. The
-- period of each is fixed by the rules; the number per period is the town's (0: not
-- required).
ALTER TABLE policies
    ADD COLUMN general_meetings_per_quarter integer NOT NULL DEFAULT 1,
    ADD COLUMN branch_committees_per_month integer NOT NULL DEFAULT 1,
    ADD COLUMN party_groups_per_month integer NOT NULL DEFAULT 1,
    ADD COLUMN party_lectures_per_quarter integer NOT NULL DEFAULT 1,
    ADD COLUMN theme_days_per_month integer NOT NULL DEFAULT 1,
    ADD COLUMN life_meetings_per_year integer NOT NULL DEFAULT 1,
    ADD COLUMN member_appraisals_per_year integer NOT NULL DEFAULT 1,
    ADD CONSTRAINT policies_meetings_sane CHECK (
        general_meetings_per_quarter BETWEEN 0 AND 12 AND branch_committees_per_month BETWEEN 0 AND 12
        AND party_groups_per_month BETWEEN 0 AND 12 AND party_lectures_per_quarter BETWEEN 0 AND 12
        AND theme_days_per_month BETWEEN 0 AND 12 AND life_meetings_per_year BETWEEN 0 AND 12
        AND member_appraisals_per_year BETWEEN 0 AND 12);
