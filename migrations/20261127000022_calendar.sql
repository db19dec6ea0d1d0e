-- A town's calendar: the exceptions to "Monday to Friday" that working-day rules (the
-- objection period) must know. A `holiday` is a weekday off (法定节假日); a `workday` is
-- a weekend day worked instead (调休上班). Set by the committee ahead of time, usually
-- once a year when the State Council publishes the holiday arrangements; a day that has
-- begun is not changed (the service refuses it), so periods count by the days as they came.
CREATE TABLE calendar_days (
    town_id uuid NOT NULL REFERENCES towns (id),
    day     date NOT NULL,
    kind    text NOT NULL,
    name    text NOT NULL,
    set_by  text NOT NULL,
    set_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (town_id, day),
    CONSTRAINT calendar_days_kind_valid CHECK (kind IN ('holiday', 'workday')),
    -- A holiday falls on a weekday, a working day on a weekend: anything else changes nothing.
    CONSTRAINT calendar_days_kind_fits_day CHECK (
        (kind = 'holiday') = (extract(isodow FROM day) < 6)),
    CONSTRAINT calendar_days_name_length CHECK (char_length(name) BETWEEN 1 AND 50)
);
