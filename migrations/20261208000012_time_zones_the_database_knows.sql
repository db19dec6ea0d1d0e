-- A town's "today" is computed by the database, inside the statement that needs it:
-- (now() AT TIME ZONE time_zone)::date. That needs every stored zone to be one this
-- server's time zone data knows. The API accepts IANA names that chrono-tz knows; the
-- two sets need not be equal (their tzdata versions differ), so the database refuses a
-- zone it does not know when it is stored, and never fails on one when it is used.
-- Existing towns are checked when the constraint is added.
CREATE FUNCTION time_zone_known(name text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM timezone(name, timestamptz '2000-01-01 00:00:00+00');
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;

ALTER TABLE towns ADD CONSTRAINT towns_time_zone_known CHECK (time_zone_known(time_zone));
