-- Mutating maintenance is for the DBA to grant; reads and the oracle stay public.
REVOKE ALL ON FUNCTION crm.rebuild_signals() FROM PUBLIC;
REVOKE ALL ON FUNCTION crm.tick() FROM PUBLIC;
