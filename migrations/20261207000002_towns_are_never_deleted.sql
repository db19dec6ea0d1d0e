-- A town is never deleted: its records (members, the ledger, the audit trail) are kept
-- for good, and the service may remember that a town exists without asking again.
CREATE TRIGGER towns_never_deleted
    BEFORE DELETE ON towns
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER towns_no_truncate
    BEFORE TRUNCATE ON towns
    FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
