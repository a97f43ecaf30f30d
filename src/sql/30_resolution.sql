-- Participant resolution: an address belongs to a member first, then to a person (primary or
-- additional email, lowest id first); a participant with neither belongs to the company whose
-- domain its address has. The participant BEFORE trigger (C++, src/pg/records/resolution_trigger.cpp)
-- resolves every written row (an address that resolves wins; otherwise the ids the row carries are
-- kept while their records exist); the record triggers below re-touch the participants whose
-- resolution a record change can alter, so late links happen at once.

-- Every address of every member and person, canonical, kept by the record triggers below: one
-- btree probe resolves an address, whatever the size of the tables or the age of a cached plan.
CREATE TABLE crm.record_address (
  workspace_id bigint NOT NULL,
  address text NOT NULL,
  member_id bigint,
  person_id bigint,
  CONSTRAINT record_address_one_owner CHECK (num_nonnulls(member_id, person_id) = 1)
);
CREATE INDEX record_address_lookup_idx ON crm.record_address (workspace_id, address);
CREATE INDEX record_address_member_idx ON crm.record_address (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX record_address_person_idx ON crm.record_address (person_id) WHERE person_id IS NOT NULL;

-- crm._resolve_address(ws, address): src/sql/70_merge.sql (it follows merged companies, so it
-- comes after their merged_into column).

-- The participant trigger's resolution of one row (src/pg/records/resolution_trigger.cpp), uncached: for
-- benchmarks and diagnosis. An address that resolves wins; otherwise the ids given are kept while
-- their records exist in the workspace (strict: they must, and are locked until commit).
CREATE FUNCTION crm._resolve_participant(ws bigint, addr text, given_person bigint, given_member bigint,
                                         strict boolean,
                                         OUT member_id bigint, OUT person_id bigint, OUT company_id bigint)
  AS 'MODULE_PATHNAME', 'crm_resolve_participant' LANGUAGE C;

-- True when resolving the participant again would change what it links to (the resolution of
-- the participant trigger, src/pg/records/resolution_trigger.cpp, with the ids the row carries kept when
-- their records still exist). The record triggers' relink (src/pg/records/participant_relink.cpp) asks it
-- again in its UPDATE, under the rows' locks.
-- COST: it resolves the participant again (several index probes), so the planner must test every
-- cheaper condition first, statistics or not.
CREATE FUNCTION crm._link_changes(p crm.participant) RETURNS boolean
  AS 'MODULE_PATHNAME', 'crm_link_changes' LANGUAGE C STRICT COST 10000;

CREATE FUNCTION crm._no_workspace_move() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF NEW.workspace_id <> OLD.workspace_id THEN
    RAISE EXCEPTION '% % cannot move from workspace % to workspace %', TG_TABLE_NAME, OLD.id, OLD.workspace_id, NEW.workspace_id
      USING ERRCODE = 'feature_not_supported', HINT = 'create the record in the other workspace instead';
  END IF;
  RETURN NEW;
END
$$;

CREATE TRIGGER member_no_workspace_move BEFORE UPDATE OF workspace_id ON crm.member
  FOR EACH ROW EXECUTE FUNCTION crm._no_workspace_move();
CREATE TRIGGER company_no_workspace_move BEFORE UPDATE OF workspace_id ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._no_workspace_move();
CREATE TRIGGER person_no_workspace_move BEFORE UPDATE OF workspace_id ON crm.person
  FOR EACH ROW EXECUTE FUNCTION crm._no_workspace_move();
CREATE TRIGGER interaction_no_workspace_move BEFORE UPDATE OF workspace_id ON crm.interaction
  FOR EACH ROW EXECUTE FUNCTION crm._no_workspace_move();

-- The record triggers work per statement, on its transition tables: a statement writing many
-- records claims all of their addresses at once and relinks their participants in one UPDATE, so
-- it never waits for a claim or a participant row while it holds signal rows. (Triggers per row
-- claimed and locked row by row, in an order that concurrent writers of activity could cross.)
-- They also keep crm.record_address equal to the records' addresses, and create and remove the
-- records' signal rows. C++ (src/pg/records/record_relink.cpp): a statement that changes no address,
-- domain or company runs no SQL.
CREATE FUNCTION crm._record_relink() RETURNS trigger
  AS 'MODULE_PATHNAME', 'crm_record_relink' LANGUAGE C;

-- BEFORE DELETE of a company: ON DELETE SET NULL relinks the company's people (their triggers
-- claim their addresses and lock signal rows) before the statement's own relink claims the
-- domain. Both are claimed here first, at once, so that the deletion never waits for a claim
-- while it holds signal rows.
CREATE FUNCTION crm._company_delete_claim() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
BEGIN
  IF crm._restoring() THEN RETURN OLD; END IF;
  IF EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) OLD.workspace_id) THEN
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT p.workspace_id, a AS address
          FROM crm.person p, pg_catalog.unnest(crm.normalize_addresses(p.emails OPERATOR(pg_catalog.||) p.email)) a
          WHERE p.company_id OPERATOR(pg_catalog.=) OLD.id) r;
    PERFORM crm._claim_addresses(wss, addrs,
      CASE WHEN OLD.domain IS NULL THEN '{}' ELSE ARRAY[OLD.workspace_id] END,
      CASE WHEN OLD.domain IS NULL THEN '{}' ELSE ARRAY[crm.normalize_address(OLD.domain)] END);
  END IF;
  RETURN OLD;
END
$$;

-- After the duplicate triggers (names sort after theirs): every record writer claims duplicate
-- keys, then addresses.
CREATE TRIGGER person_relink_insert AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER person_relink_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER person_relink_delete AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('person');
CREATE TRIGGER member_relink_insert AFTER INSERT ON crm.member
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER member_relink_update AFTER UPDATE ON crm.member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER member_relink_delete AFTER DELETE ON crm.member
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('member');
CREATE TRIGGER company_relink_claim BEFORE DELETE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._company_delete_claim();
CREATE TRIGGER company_relink_insert AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');
CREATE TRIGGER company_relink_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');
CREATE TRIGGER company_relink_delete AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._record_relink('company');

-- TRUNCATE of people, members or companies (all workspaces at once): the address book rows of the
-- removed records go, the participants that linked to them are resolved again (as a DELETE relinks
-- them, so the signal triggers take their contributions out and give them to whatever the address
-- resolves to now), and then their signal and connection rows go. Without it a TRUNCATE left them
-- behind, and re-inserting a record with the same id failed on its signal row.
CREATE FUNCTION crm._records_truncated() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- derived rows are restored as dumped
  IF TG_ARGV[0] OPERATOR(pg_catalog.=) 'person' THEN
    DELETE FROM crm.record_address WHERE person_id IS NOT NULL;
    UPDATE crm.participant p SET address = p.address WHERE p.person_id IS NOT NULL;
    DELETE FROM crm.connection WHERE person_id IS NOT NULL;
    DELETE FROM crm.person_signal;
  ELSIF TG_ARGV[0] OPERATOR(pg_catalog.=) 'member' THEN
    DELETE FROM crm.record_address WHERE member_id IS NOT NULL;
    UPDATE crm.participant p SET address = p.address WHERE p.member_id IS NOT NULL;
  ELSE
    UPDATE crm.participant p SET address = p.address WHERE p.company_id IS NOT NULL;
    DELETE FROM crm.company_connection;
    DELETE FROM crm.company_signal;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER person_records_truncated AFTER TRUNCATE ON crm.person
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('person');
CREATE TRIGGER member_records_truncated AFTER TRUNCATE ON crm.member
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('member');
CREATE TRIGGER company_records_truncated AFTER TRUNCATE ON crm.company
  FOR EACH STATEMENT EXECUTE FUNCTION crm._records_truncated('company');
