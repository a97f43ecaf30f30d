-- Participant resolution: an address belongs to a member first, then to a person (primary or
-- additional email, lowest id first); a participant with neither belongs to the company whose
-- domain its address has. The participant BEFORE trigger (C++, src/pg/resolution_trigger.cpp)
-- applies _resolve_participant to every written row; the record triggers below re-touch the
-- participants whose resolution a record change can alter, so late links happen at once.

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

-- A table function of one SELECT, so that callers inline it and cache its plan.
CREATE FUNCTION crm._resolve_address(ws bigint, addr text)
RETURNS TABLE (member_id bigint, person_id bigint, company_id bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT o.member_id, o.person_id,
         CASE WHEN o.member_id IS NOT NULL THEN NULL
              WHEN o.person_id IS NOT NULL THEN (SELECT p.company_id FROM crm.person p WHERE p.id = o.person_id)
              ELSE (SELECT c.id FROM crm.company c
                    WHERE c.workspace_id = ws AND crm.normalize_address(c.domain) = crm.address_domain(addr)
                      AND c.domain IS NOT NULL
                    ORDER BY c.id LIMIT 1) END
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT a.member_id, a.person_id FROM crm.record_address a
                     WHERE a.workspace_id = ws AND a.address = crm.normalize_address(addr)
                     ORDER BY a.member_id NULLS LAST, a.person_id LIMIT 1) o ON true;
END;

-- What a participant row links to. An address that resolves wins; otherwise the ids the row
-- carries are kept (links are sticky: a person who changes address keeps past activity). Ids the
-- application has just written must exist in the participant's workspace (strict); ids carried
-- over from before are dropped quietly once their record is gone.
CREATE FUNCTION crm._resolve_participant(ws bigint, addr text, given_person bigint, given_member bigint,
                                         strict boolean,
                                         OUT member_id bigint, OUT person_id bigint, OUT company_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE
  person_company bigint;
BEGIN
  SELECT r.member_id, r.person_id, r.company_id INTO member_id, person_id, company_id
  FROM crm._resolve_address(ws, addr) r;
  IF member_id IS NOT NULL OR person_id IS NOT NULL THEN
    RETURN;
  END IF;
  IF given_member IS NOT NULL THEN
    PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws FOR KEY SHARE;
    IF FOUND THEN
      member_id := given_member;
      company_id := NULL;
      RETURN;
    ELSIF strict THEN
      RAISE EXCEPTION 'member % does not exist in workspace %', given_member, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
  IF given_person IS NOT NULL THEN
    -- FOR SHARE, not KEY SHARE: it waits for a concurrent change of the person's company and
    -- reads the committed one, which that change's relink could not see here.
    SELECT x.company_id INTO person_company FROM crm.person x
    WHERE x.id = given_person AND x.workspace_id = ws FOR SHARE;
    IF FOUND THEN
      person_id := given_person;
      company_id := person_company;
    ELSIF strict THEN
      RAISE EXCEPTION 'person % does not exist in workspace %', given_person, ws
        USING ERRCODE = 'foreign_key_violation', DETAIL = pg_catalog.format('participant address %L', addr);
    END IF;
  END IF;
END
$$;

-- Re-resolves the participants a record change can affect. The rows are only touched when their
-- resolution changes; the participant triggers then re-resolve them and fold the difference.
CREATE FUNCTION crm._relink(ws bigint, addrs text[], domains text[],
                            linked_person bigint, linked_member bigint, linked_company bigint)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  one text;
BEGIN
  addrs := crm.normalize_addresses(addrs);
  domains := crm.normalize_addresses(domains);
  PERFORM crm._claim_addresses(ws, addrs, domains);
  -- Each statement is a plain index probe on every column of its index, one address or domain at
  -- a time, so its cached plan stays good as tables grow, and is good before they have
  -- statistics: written as "= ANY (array)", a plan made in a freshly loaded database (where the
  -- planner takes the unlinked participants for a handful) probed the workspace alone and
  -- resolved every unlinked participant in it, 2 s per company written.
  FOREACH one IN ARRAY addrs LOOP
    UPDATE crm.participant p SET address = p.address
    WHERE p.workspace_id = ws AND p.address = one AND crm._link_changes(p);
  END LOOP;
  FOREACH one IN ARRAY domains LOOP
    UPDATE crm.participant p SET address = p.address
    WHERE p.workspace_id = ws AND p.person_id IS NULL AND p.member_id IS NULL
      AND crm.address_domain(p.address) = one AND crm._link_changes(p);
  END LOOP;
  IF linked_person IS NOT NULL THEN
    UPDATE crm.participant p SET address = p.address WHERE p.person_id = linked_person AND crm._link_changes(p);
  END IF;
  IF linked_member IS NOT NULL THEN
    UPDATE crm.participant p SET address = p.address WHERE p.member_id = linked_member AND crm._link_changes(p);
  END IF;
  IF linked_company IS NOT NULL THEN
    UPDATE crm.participant p SET address = p.address WHERE p.company_id = linked_company AND crm._link_changes(p);
  END IF;
END
$$;

-- True when resolving the participant again would change what it links to.
-- COST: it resolves the participant again (several index probes), so the planner must test every
-- cheaper condition first, statistics or not.
CREATE FUNCTION crm._link_changes(p crm.participant) RETURNS boolean
LANGUAGE sql COST 10000
BEGIN ATOMIC
  SELECT (r.member_id, r.person_id, r.company_id) IS DISTINCT FROM (p.member_id, p.person_id, p.company_id)
  FROM crm._resolve_participant(p.workspace_id, p.address, p.person_id, p.member_id, false) r;
END;

-- Keeps crm.record_address equal to the records' addresses.
CREATE FUNCTION crm._set_record_addresses(ws bigint, person bigint, member bigint, addrs text[])
RETURNS void
LANGUAGE sql
AS $$
  DELETE FROM crm.record_address a WHERE a.person_id = person OR a.member_id = member;
  INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
  SELECT ws, x, member, person FROM pg_catalog.unnest(crm.normalize_addresses(addrs)) x;
$$;

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

CREATE FUNCTION crm._person_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.person_signal (person_id, workspace_id) VALUES (NEW.id, NEW.workspace_id);
    PERFORM crm._set_record_addresses(NEW.workspace_id, NEW.id, NULL, NEW.emails || NEW.email);
    PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email, '{}', NULL, NULL, NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    IF (NEW.emails || NEW.email) IS DISTINCT FROM (OLD.emails || OLD.email) THEN
      PERFORM crm._set_record_addresses(NEW.workspace_id, NEW.id, NULL, NEW.emails || NEW.email);
      PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email || OLD.emails || OLD.email, '{}', NEW.id, NULL, NULL);
    ELSIF NEW.company_id IS DISTINCT FROM OLD.company_id THEN
      -- The person's addresses too: relinking claims them, so a participant being written for
      -- one of them concurrently either waits and sees the new company or is seen and relinked.
      PERFORM crm._relink(NEW.workspace_id, NEW.emails || NEW.email, '{}', NEW.id, NULL, NULL);
    END IF;
  ELSE
    PERFORM crm._set_record_addresses(OLD.workspace_id, OLD.id, NULL, '{}');
    -- Deleting a workspace deletes its activity too: nothing is left to relink, and relinking
    -- would touch participants whose interactions the same cascade has removed.
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN
      PERFORM crm._relink(OLD.workspace_id, OLD.emails || OLD.email, '{}', OLD.id, NULL, NULL);
    END IF;
    DELETE FROM crm.connection WHERE person_id = OLD.id;
    DELETE FROM crm.person_signal WHERE person_id = OLD.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION crm._member_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    PERFORM crm._set_record_addresses(NEW.workspace_id, NULL, NEW.id, NEW.aliases || NEW.email);
    PERFORM crm._relink(NEW.workspace_id, NEW.aliases || NEW.email, '{}', NULL, NULL, NULL);
  ELSIF TG_OP = 'UPDATE' THEN
    IF (NEW.aliases || NEW.email) IS DISTINCT FROM (OLD.aliases || OLD.email) THEN
      PERFORM crm._set_record_addresses(NEW.workspace_id, NULL, NEW.id, NEW.aliases || NEW.email);
      PERFORM crm._relink(NEW.workspace_id, NEW.aliases || NEW.email || OLD.aliases || OLD.email, '{}', NULL, NEW.id, NULL);
    END IF;
  ELSE
    PERFORM crm._set_record_addresses(OLD.workspace_id, NULL, OLD.id, '{}');
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN  -- see _person_relink
      PERFORM crm._relink(OLD.workspace_id, OLD.aliases || OLD.email, '{}', NULL, OLD.id, NULL);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION crm._company_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.company_signal (company_id, workspace_id) VALUES (NEW.id, NEW.workspace_id);
    IF NEW.domain IS NOT NULL THEN
      PERFORM crm._relink(NEW.workspace_id, '{}', ARRAY[NEW.domain], NULL, NULL, NULL);
    END IF;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.domain IS DISTINCT FROM OLD.domain THEN
      PERFORM crm._relink(NEW.workspace_id, '{}', ARRAY[NEW.domain, OLD.domain], NULL, NULL, NEW.id);
    END IF;
  ELSE
    IF EXISTS (SELECT FROM crm.workspace w WHERE w.id = OLD.workspace_id) THEN  -- see _person_relink
      PERFORM crm._relink(OLD.workspace_id, '{}', ARRAY[OLD.domain], NULL, NULL, OLD.id);
    END IF;
    DELETE FROM crm.connection WHERE person_id IS NULL AND company_id = OLD.id;
    DELETE FROM crm.company_connection WHERE company_id = OLD.id;
    DELETE FROM crm.company_signal WHERE company_id = OLD.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER person_relink AFTER INSERT OR UPDATE OR DELETE ON crm.person
  FOR EACH ROW EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER member_relink AFTER INSERT OR UPDATE OR DELETE ON crm.member
  FOR EACH ROW EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER company_relink AFTER INSERT OR UPDATE OR DELETE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._company_relink();
