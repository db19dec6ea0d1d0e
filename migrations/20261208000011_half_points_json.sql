-- A score or an amount of half-points as the API writes it in JSON: 5, 5.5, -0.5 (a whole
-- number when it is one, else one decimal). Lets a statement build an audit record's data
-- from the row it just wrote, exactly as serde writes `HalfPoints`.
CREATE FUNCTION half_points_json(half_points integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN half_points % 2 = 0 THEN to_jsonb(half_points / 2)
            ELSE to_jsonb(round(half_points / 2.0, 1)) END;
