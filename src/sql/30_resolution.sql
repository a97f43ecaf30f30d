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
  -- Ids just written (strict) lock the record they name until commit. Ids carried over need no
  -- lock: they are on a participant row that already exists, and every change of a record that
  -- could drop or move them (its deletion, its company) relinks that row by UPDATE, so the row
  -- lock orders the two writers. (Locking the record here, from a relink that holds address
  -- claims, would wait for a record writer that waits for those claims.)
  IF given_member IS NOT NULL THEN
    IF strict THEN
      PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws FOR KEY SHARE;
    ELSE
      PERFORM FROM crm.member x WHERE x.id = given_member AND x.workspace_id = ws;
    END IF;
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
    IF strict THEN
      -- FOR SHARE, not KEY SHARE: it waits for a concurrent change of the person's company and
      -- reads the committed one, which that change's relink could not see here.
      SELECT x.company_id INTO person_company FROM crm.person x
      WHERE x.id = given_person AND x.workspace_id = ws FOR SHARE;
    ELSE
      SELECT x.company_id INTO person_company FROM crm.person x
      WHERE x.id = given_person AND x.workspace_id = ws;
    END IF;
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

-- Re-resolves the participants a record statement can affect (addrs[i] in wss[i], domains[i] in
-- domain_wss[i], and the participants linked to the given records). The rows are only touched
-- when their resolution changes; the participant triggers then re-resolve them and fold the
-- difference. Lock order, the same for every writer (README, "Concurrency"): address claims, all
-- of the statement's at once, then participant rows, all in one UPDATE, then (in its trigger)
-- interaction claims and signal rows.
CREATE FUNCTION crm._relink(wss bigint[], addrs text[], domain_wss bigint[], domains text[],
                            persons bigint[], members bigint[], companies bigint[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  ids bigint[];
  busy bigint[];
  claim_wss bigint[];
  claim_domains text[];
BEGIN
  -- The claims cover the domains of the addresses too: a participant that loses its person or
  -- member falls back to the company owning its domain, and a concurrent change of that company's
  -- domain (which claims only the domain) must wait for this relink, or this relink for it.
  -- Without it, a person leaving two addresses linked 56 participants to a company whose domain
  -- had just changed (test/load/mixed_records.sh).
  SELECT coalesce(pg_catalog.array_agg(c.ws), '{}'), coalesce(pg_catalog.array_agg(c.domain), '{}')
    INTO claim_wss, claim_domains
  FROM (SELECT DISTINCT x.ws, x.domain
        FROM (SELECT d.ws, d.domain FROM ROWS FROM (pg_catalog.unnest(domain_wss), pg_catalog.unnest(domains)) AS d(ws, domain)
              UNION ALL
              SELECT a.ws, crm.address_domain(a.address)
              FROM ROWS FROM (pg_catalog.unnest(wss), pg_catalog.unnest(addrs)) AS a(ws, address)) x
        WHERE x.domain IS NOT NULL) c;
  LOOP
    -- A subtransaction: when a row is busy, what it claimed and locked is let go at once.
    BEGIN
      PERFORM crm._claim_addresses(wss, addrs, claim_wss, claim_domains);
      -- Every arm is an index probe, so the cached plan stays good as tables grow.
      ids := ARRAY(
        SELECT p.id FROM crm.participant p
        WHERE p.id OPERATOR(pg_catalog.=) ANY (ARRAY(
          -- LATERAL: one probe per address or domain on every column of its index, whatever the
          -- statistics (OFFSET 0 keeps the planner from flattening it into a join). A join let a plan
          -- made in a freshly loaded database (which takes the unlinked participants for a handful)
          -- probe the workspace alone and read every one.
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(wss), pg_catalog.unnest(addrs)) AS a(ws, address)
            CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p
                                WHERE p.workspace_id OPERATOR(pg_catalog.=) a.ws
                                  AND p.address OPERATOR(pg_catalog.=) a.address OFFSET 0) p
          UNION
          SELECT p.id FROM ROWS FROM (pg_catalog.unnest(domain_wss), pg_catalog.unnest(domains)) AS d(ws, domain)
            CROSS JOIN LATERAL (SELECT p.id FROM crm.participant p
                                WHERE p.workspace_id OPERATOR(pg_catalog.=) d.ws
                                  AND crm.address_domain(p.address) OPERATOR(pg_catalog.=) d.domain
                                  AND p.person_id IS NULL AND p.member_id IS NULL OFFSET 0) p
          UNION
          SELECT p.id FROM crm.participant p WHERE p.person_id OPERATOR(pg_catalog.=) ANY (persons)
          UNION
          SELECT p.id FROM crm.participant p WHERE p.member_id OPERATOR(pg_catalog.=) ANY (members)
          UNION
          SELECT p.id FROM crm.participant p WHERE p.company_id OPERATOR(pg_catalog.=) ANY (companies)))
          AND crm._link_changes(p));
      IF pg_catalog.cardinality(ids) OPERATOR(pg_catalog.=) 0 THEN RETURN; END IF;
      -- Rows another transaction is writing (an UPDATE of a participant's address locks the row,
      -- then claims the new address) are not waited for while holding this statement's claims.
      busy := ARRAY(WITH locked AS (SELECT p.id FROM crm.participant p WHERE p.id OPERATOR(pg_catalog.=) ANY (ids)
                                    FOR NO KEY UPDATE SKIP LOCKED)
                    SELECT x FROM pg_catalog.unnest(ids) x
                    WHERE NOT EXISTS (SELECT FROM locked l WHERE l.id OPERATOR(pg_catalog.=) x));
      IF pg_catalog.cardinality(busy) OPERATOR(pg_catalog.=) 0 THEN
        UPDATE crm.participant p SET address = p.address
        WHERE p.id OPERATOR(pg_catalog.=) ANY (ids) AND crm._link_changes(p);
        RETURN;
      END IF;
      RAISE EXCEPTION USING ERRCODE = 'CRM01';
    EXCEPTION WHEN SQLSTATE 'CRM01' THEN
      -- Wait for the busy rows' writers to finish, holding nothing of this statement (not even
      -- a lock on those rows: the block rolls it back), then claim and read everything again.
      BEGIN
        PERFORM FROM crm.participant p WHERE p.id OPERATOR(pg_catalog.=) ANY (busy) FOR SHARE;
        RAISE EXCEPTION USING ERRCODE = 'CRM01';
      EXCEPTION WHEN SQLSTATE 'CRM01' THEN
        NULL;
      END;
    END;
  END LOOP;
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
-- They also keep crm.record_address equal to the records' addresses.
CREATE FUNCTION crm._person_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  persons bigint[];
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.person_signal (person_id, workspace_id) SELECT n.id, n.workspace_id FROM new_rows n;
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, NULL, n.id
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    -- People whose addresses changed: rewritten, and the old and the new addresses relinked.
    -- People whose company changed: their addresses are relinked too, because relinking claims
    -- them, so a participant written for one of them concurrently either waits and sees the new
    -- company or is seen and relinked.
    persons := ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
      WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email)
         OR n.company_id IS DISTINCT FROM o.company_id);
    IF pg_catalog.cardinality(persons) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;  -- a title, a phone: nothing to relink
    DELETE FROM crm.record_address a USING new_rows n, old_rows o
    WHERE o.id OPERATOR(pg_catalog.=) n.id AND a.person_id OPERATOR(pg_catalog.=) n.id
      AND (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, NULL, n.id
    FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
         pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email)) a
    WHERE (n.emails OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email);
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(crm.normalize_addresses(n.emails OPERATOR(pg_catalog.||) n.email
                 OPERATOR(pg_catalog.||) CASE WHEN (n.emails OPERATOR(pg_catalog.||) n.email)
                                                   IS DISTINCT FROM (o.emails OPERATOR(pg_catalog.||) o.email)
                                              THEN o.emails OPERATOR(pg_catalog.||) o.email ELSE '{}' END)) a
          WHERE n.id OPERATOR(pg_catalog.=) ANY (persons)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', persons, '{}', '{}');
  ELSE
    DELETE FROM crm.record_address a USING old_rows o WHERE a.person_id OPERATOR(pg_catalog.=) o.id;
    -- Deleting a workspace deletes its activity too: nothing is left to relink, and relinking
    -- would touch participants whose interactions the same cascade has removed.
    persons := ARRAY(SELECT o.id FROM old_rows o
                     WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, a AS address
          FROM old_rows o, pg_catalog.unnest(crm.normalize_addresses(o.emails OPERATOR(pg_catalog.||) o.email)) a
          WHERE o.id OPERATOR(pg_catalog.=) ANY (persons)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', persons, '{}', '{}');
    DELETE FROM crm.connection c USING old_rows o WHERE c.person_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.person_signal s USING old_rows o WHERE s.person_id OPERATOR(pg_catalog.=) o.id;
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION crm._member_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  members bigint[];
BEGIN
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, n.id, NULL
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    members := ARRAY(
      SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
      WHERE (n.aliases OPERATOR(pg_catalog.||) n.email) IS DISTINCT FROM (o.aliases OPERATOR(pg_catalog.||) o.email));
    IF pg_catalog.cardinality(members) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;
    DELETE FROM crm.record_address a WHERE a.member_id OPERATOR(pg_catalog.=) ANY (members);
    INSERT INTO crm.record_address (workspace_id, address, member_id, person_id)
    SELECT n.workspace_id, a, n.id, NULL
    FROM new_rows n, pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email)) a
    WHERE n.id OPERATOR(pg_catalog.=) ANY (members);
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, a AS address
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(crm.normalize_addresses(n.aliases OPERATOR(pg_catalog.||) n.email
                 OPERATOR(pg_catalog.||) o.aliases OPERATOR(pg_catalog.||) o.email)) a
          WHERE n.id OPERATOR(pg_catalog.=) ANY (members)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', members, '{}');
  ELSE
    DELETE FROM crm.record_address a USING old_rows o WHERE a.member_id OPERATOR(pg_catalog.=) o.id;
    members := ARRAY(SELECT o.id FROM old_rows o  -- see _person_relink
                     WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.address), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, a AS address
          FROM old_rows o, pg_catalog.unnest(crm.normalize_addresses(o.aliases OPERATOR(pg_catalog.||) o.email)) a
          WHERE o.id OPERATOR(pg_catalog.=) ANY (members)) r;
    PERFORM crm._relink(wss, addrs, '{}', '{}', '{}', members, '{}');
  END IF;
  RETURN NULL;
END
$$;

CREATE FUNCTION crm._company_relink() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  wss bigint[];
  addrs text[];
  companies bigint[];
BEGIN
  IF TG_LEVEL = 'ROW' THEN
    IF crm._restoring() THEN RETURN OLD; END IF;
    -- BEFORE DELETE: ON DELETE SET NULL relinks the company's people (their triggers claim their
    -- addresses and lock signal rows) before this statement's own relink claims the domain. Both
    -- are claimed here first, at once, so that the deletion never waits for a claim while it
    -- holds signal rows.
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
  END IF;
  IF crm._restoring() THEN RETURN NULL; END IF;  -- addresses and links are restored as dumped
  IF TG_OP = 'INSERT' THEN
    INSERT INTO crm.company_signal (company_id, workspace_id) SELECT n.id, n.workspace_id FROM new_rows n;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, crm.normalize_address(n.domain) AS domain
          FROM new_rows n WHERE nullif(pg_catalog.btrim(n.domain), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', '{}');
  ELSIF TG_OP = 'UPDATE' THEN
    companies := ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id
                       WHERE n.domain IS DISTINCT FROM o.domain);
    IF pg_catalog.cardinality(companies) OPERATOR(pg_catalog.=) 0 THEN RETURN NULL; END IF;
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT n.workspace_id, crm.normalize_address(d) AS domain
          FROM new_rows n JOIN old_rows o ON o.id OPERATOR(pg_catalog.=) n.id,
               pg_catalog.unnest(ARRAY[n.domain, o.domain]) d
          WHERE n.id OPERATOR(pg_catalog.=) ANY (companies) AND nullif(pg_catalog.btrim(d), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', companies);
  ELSE
    companies := ARRAY(SELECT o.id FROM old_rows o  -- see _person_relink
                       WHERE EXISTS (SELECT FROM crm.workspace w WHERE w.id OPERATOR(pg_catalog.=) o.workspace_id));
    SELECT coalesce(pg_catalog.array_agg(r.workspace_id), '{}'), coalesce(pg_catalog.array_agg(r.domain), '{}')
      INTO wss, addrs
    FROM (SELECT DISTINCT o.workspace_id, crm.normalize_address(o.domain) AS domain
          FROM old_rows o
          WHERE o.id OPERATOR(pg_catalog.=) ANY (companies) AND nullif(pg_catalog.btrim(o.domain), '') IS NOT NULL) r;
    PERFORM crm._relink('{}', '{}', wss, addrs, '{}', '{}', companies);
    DELETE FROM crm.connection c USING old_rows o
    WHERE c.person_id IS NULL AND c.company_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.company_connection c USING old_rows o WHERE c.company_id OPERATOR(pg_catalog.=) o.id;
    DELETE FROM crm.company_signal s USING old_rows o WHERE s.company_id OPERATOR(pg_catalog.=) o.id;
  END IF;
  RETURN NULL;
END
$$;

-- After the duplicate triggers (names sort after theirs): every record writer claims duplicate
-- keys, then addresses.
CREATE TRIGGER person_relink_insert AFTER INSERT ON crm.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER person_relink_update AFTER UPDATE ON crm.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER person_relink_delete AFTER DELETE ON crm.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._person_relink();
CREATE TRIGGER member_relink_insert AFTER INSERT ON crm.member
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER member_relink_update AFTER UPDATE ON crm.member
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER member_relink_delete AFTER DELETE ON crm.member
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._member_relink();
CREATE TRIGGER company_relink_claim BEFORE DELETE ON crm.company
  FOR EACH ROW EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_insert AFTER INSERT ON crm.company
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_update AFTER UPDATE ON crm.company
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();
CREATE TRIGGER company_relink_delete AFTER DELETE ON crm.company
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm._company_relink();
