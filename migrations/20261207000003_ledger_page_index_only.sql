-- The ledger page reads only this index (an index-only scan): every column it selects is
-- in it. The index it replaces left out reason, recorded_by and recorded_role, so each
-- page also read the table's heap.
CREATE INDEX ledger_entries_page_all ON ledger_entries (town_id, case_id, seq DESC)
    INCLUDE (id, half_points, kind, source_type, source_id, reverses_entry_id, reason,
             recorded_by, recorded_role, recorded_at, policy_version, score_after);
DROP INDEX ledger_entries_page;
