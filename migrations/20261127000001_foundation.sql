-- Foundation: towns (the tenants), branches, the audit trail and idempotency records.
--
-- Conventions every later migration follows:
-- * Every table that belongs to a town carries `town_id NOT NULL`, leads its primary key
--   with it, and references other town-owned rows by `(town_id, id)`. The database itself
--   then makes a cross-town reference impossible, and the schema can later be distributed
--   by town with no rewrite.
-- * Ids are UUID v7 (time-ordered), made by the service, so keyset paging by id is paging
--   by creation time.
-- * Mutable rows carry `version`, bumped on every change; it is the ETag.
-- * Constraints are named: the service maps names to client errors (src/error.rs).

-- Towns: the tenant. `county_code` lets a county integration read its towns.
CREATE TABLE towns (
    id          uuid PRIMARY KEY,
    code        text NOT NULL CONSTRAINT towns_code_key UNIQUE,
    name        text NOT NULL,
    county_code text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    version     bigint NOT NULL DEFAULT 1,
    CONSTRAINT towns_code_format CHECK (code ~ '^[0-9A-Za-z-]{1,32}$'),
    CONSTRAINT towns_name_length CHECK (char_length(name) BETWEEN 1 AND 100),
    CONSTRAINT towns_county_code_format CHECK (county_code ~ '^[0-9A-Za-z-]{1,32}$')
);
CREATE INDEX towns_county ON towns (county_code, id);

-- Branches (支部): village, enterprise, organ, the center branch itself, or other.
CREATE TABLE branches (
    town_id    uuid NOT NULL REFERENCES towns (id),
    id         uuid NOT NULL,
    name       text NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version    bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (town_id, id),
    CONSTRAINT branches_id_key UNIQUE (id),
    CONSTRAINT branches_name_key UNIQUE (town_id, name),
    CONSTRAINT branches_kind_valid CHECK (kind IN ('village', 'enterprise', 'organ', 'center', 'other')),
    CONSTRAINT branches_name_length CHECK (char_length(name) BETWEEN 1 AND 100)
);

-- Each town has exactly one center branch (服务转化中心支部): at most one by this index...
CREATE UNIQUE INDEX branches_one_center ON branches (town_id) WHERE kind = 'center';

-- ...and at least one from the moment the town exists: checked when the creating
-- transaction commits, so the town and its center branch are written together.
CREATE FUNCTION towns_require_center_branch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM branches WHERE town_id = NEW.id AND kind = 'center') THEN
        RAISE EXCEPTION 'town % has no center branch', NEW.id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'towns_have_center_branch';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER towns_have_center_branch
    AFTER INSERT ON towns DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION towns_require_center_branch();

-- The center branch can neither be deleted nor turned into another kind.
CREATE FUNCTION branches_keep_center() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.kind = 'center' AND (TG_OP = 'DELETE' OR NEW.kind <> 'center') THEN
        RAISE EXCEPTION 'the center branch of town % cannot be removed or changed in kind', OLD.town_id
            USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'branches_center_is_permanent';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER branches_keep_center
    BEFORE UPDATE OR DELETE ON branches
    FOR EACH ROW EXECUTE FUNCTION branches_keep_center();

-- The audit trail: every write, in the same transaction as the write. It doubles as the
-- source of the change feed for integrating systems: `tx_id` is the writing
-- transaction's id, so a reader can page by (tx_id, id) and only read rows whose
-- transaction is older than every transaction still running (pg_snapshot_xmin): rows
-- are then seen in a stable order with no gaps, even while writers commit out of order.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id       uuid NOT NULL REFERENCES towns (id),
    tx_id         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    actor_sub     text NOT NULL,
    actor_role    text NOT NULL,
    request_id    text,
    action        text NOT NULL,
    resource_type text NOT NULL,
    resource_id   uuid NOT NULL,
    -- A compact description of the change. Never personal data in clear.
    data          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_feed ON audit_log (town_id, tx_id, id);
CREATE INDEX audit_log_resource ON audit_log (town_id, resource_type, resource_id, id);

-- The trail is append-only, whoever connects: updates, deletes and truncation fail.
CREATE FUNCTION forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();

-- Idempotency records: the first answer to a creating request, kept so that a retry
-- with the same `Idempotency-Key` gets the same answer and changes nothing. Keys are
-- scoped to the caller (role, subject, town) so two clients cannot collide. The row is
-- claimed at the start of the writing transaction, so a concurrent retry waits for the
-- first to commit and then replays its answer.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    key             text NOT NULL,
    request_hash    bytea NOT NULL,
    response_status smallint,
    response_body   jsonb,
    response_etag   text,
    response_location text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
