-- Mutating maintenance is for the DBA to grant; reads and the oracle stay public.
REVOKE ALL ON FUNCTION crm.rebuild_signals() FROM PUBLIC;
REVOKE ALL ON FUNCTION crm.tick() FROM PUBLIC;
-- A whole-workspace recompute: only through crm.connection_model's trigger, for roles granted it.
REVOKE ALL ON FUNCTION crm._recompute_connections(bigint) FROM PUBLIC;
-- Whole-workspace duplicate maintenance: rebuilds every profile and candidate, or replaces the
-- model every write is scored with. For the DBA to grant, like crm.rebuild_signals().
REVOKE ALL ON FUNCTION crm.scan_duplicates(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION crm.train_duplicate_model(text) FROM PUBLIC;
