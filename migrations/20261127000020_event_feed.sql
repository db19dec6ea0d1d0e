-- The change feed for integrating systems reads the audit trail (see the foundation
-- migration: rows are paged by (tx_id, id) and only from transactions older than every
-- running one). This wakes long-polling readers: every committed write notifies its town.
-- NOTIFY is delivered at commit and folds duplicates within a transaction, so a roll of
-- a hundred entries wakes each reader once.
CREATE FUNCTION audit_log_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('party_center_events', NEW.town_id::text);
    RETURN NULL;
END $$;
CREATE TRIGGER audit_log_notify
    AFTER INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_notify();
