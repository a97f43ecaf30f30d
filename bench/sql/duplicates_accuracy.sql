-- bench/duplicates_accuracy.sh: staging of the labelled linkage sets, loading them row by row
-- through crm.person / crm.company, and precision / recall of what the extension proposes.
-- The raw lines of each file are put in bench.raw_line by the script (COPY FROM STDIN); everything
-- else happens here, in SQL.
SET client_min_messages = warning;
CREATE EXTENSION crm_hygiene CASCADE;
CREATE SCHEMA bench;

-- One row per line of a source file, in file order (n), header skipped by COPY.
CREATE TABLE bench.raw_line (
  file text NOT NULL DEFAULT current_setting('bench.file'),
  n bigserial,
  line text
);

-- The data sets: one workspace each.
CREATE TABLE bench.dataset (
  ds text PRIMARY KEY,
  pos int NOT NULL,
  kind text NOT NULL,
  target float8,
  workspace_id bigint,
  note text
);

-- A labelled record: what is inserted into crm.person / crm.company (the columns a CRM import
-- would fill), its source id and its true entity; record_id once inserted.
CREATE TABLE bench.rec (
  ds text NOT NULL,
  ord bigint NOT NULL,
  src_id text NOT NULL,
  entity text NOT NULL,
  first_name text, last_name text, email text, street text, city text, postal_code text,
  region text, country text, birth_date date, name text,
  attributes jsonb NOT NULL DEFAULT '{}',
  record_id bigint,
  PRIMARY KEY (ds, ord)
);

CREATE FUNCTION bench.nz(text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT nullif(btrim($1), '') $$;

-- A date from 'yyyymmdd' or 'yyyy-mm-dd', NULL when it is not a valid date (FEBRL has some).
CREATE FUNCTION bench.try_date(s text) RETURNS date LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE d text := regexp_replace(coalesce(s, ''), '[^0-9]', '', 'g');
BEGIN
  IF length(d) <> 8 THEN RETURN NULL; END IF;
  RETURN make_date(substr(d, 1, 4)::int, substr(d, 5, 2)::int, substr(d, 7, 2)::int);
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$$;

-- Restaurants: values quoted with ' or " and leading spaces (dedupe's pre_process strips them).
CREATE FUNCTION bench.unquote(s text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT bench.nz(btrim(btrim(btrim($1), '"'), '''')) $$;

-- Parses the raw lines into bench.rec and creates one workspace per data set present.
CREATE FUNCTION bench.prepare() RETURNS void LANGUAGE plpgsql
AS $$
DECLARE d record; ws bigint;
BEGIN
  -- FEBRL: rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode,
  -- state, date_of_birth, soc_sec_id (comma + space separated). FEBRL 4 is dataset4a then 4b.
  INSERT INTO bench.rec (ds, ord, src_id, entity, first_name, last_name, street, city, postal_code,
                         region, country, birth_date, attributes)
  SELECT x.ds, row_number() OVER (PARTITION BY x.ds ORDER BY x.file, x.n), btrim(f[1]),
         substring(f[1] FROM 'rec-([0-9]+)'),
         bench.nz(f[2]), bench.nz(f[3]),
         bench.nz(concat_ws(' ', bench.nz(f[4]), bench.nz(f[5]))),
         bench.nz(f[7]), bench.nz(f[8]), bench.nz(f[9]), 'AU', bench.try_date(bench.nz(f[10])),
         jsonb_strip_nulls(jsonb_build_object('source_id', btrim(f[1]), 'address_2', bench.nz(f[6]),
                                              'date_of_birth', bench.nz(f[10]), 'soc_sec_id', bench.nz(f[11])))
  FROM (SELECT CASE r.file WHEN 'dataset1' THEN 'febrl1' WHEN 'dataset2' THEN 'febrl2'
                           WHEN 'dataset3' THEN 'febrl3' ELSE 'febrl4' END AS ds,
               r.file, r.n, string_to_array(r.line, ',') AS f
        FROM bench.raw_line r
        WHERE r.file LIKE 'dataset%' AND r.line IS NOT NULL) x;

  -- splink fake_1000: unique_id, first_name, surname, dob, city, email, cluster.
  INSERT INTO bench.rec (ds, ord, src_id, entity, first_name, last_name, birth_date, city, email, attributes)
  SELECT 'fake_1000', row_number() OVER (ORDER BY r.n), bench.nz(f[1]), bench.nz(f[7]),
         bench.nz(f[2]), bench.nz(f[3]), bench.try_date(bench.nz(f[4])), bench.nz(f[5]), bench.nz(f[6]),
         jsonb_build_object('source_id', bench.nz(f[1]))
  FROM (SELECT n, string_to_array(line, ',') AS f FROM bench.raw_line
        WHERE file = 'fake_1000' AND line IS NOT NULL) r;

  -- dedupe restaurants (training file): name, address, city, cuisine, unique_id.
  INSERT INTO bench.rec (ds, ord, src_id, entity, name, street, city, attributes)
  SELECT 'restaurants', row_number() OVER (ORDER BY r.n), 'line-' || (r.n + 1),
         bench.unquote(f[5]), bench.unquote(f[1]), bench.unquote(f[2]), bench.unquote(f[3]),
         jsonb_strip_nulls(jsonb_build_object('source_id', 'line-' || (r.n + 1), 'cuisine', bench.unquote(f[4])))
  FROM (SELECT n - min(n) OVER () + 1 AS n, string_to_array(line, ', ') AS f FROM bench.raw_line
        WHERE file = 'restaurants' AND line IS NOT NULL) r;

  INSERT INTO bench.dataset (ds, pos, kind, target)
  SELECT v.ds, v.pos, v.kind, v.target
  FROM (VALUES ('febrl1', 1, 'person', NULL::float8), ('febrl2', 2, 'person', NULL),
               ('febrl3', 3, 'person', 0.95), ('febrl4', 4, 'person', 0.95),
               ('fake_1000', 5, 'person', 0.90), ('restaurants', 6, 'company', 0.90)) v (ds, pos, kind, target)
  WHERE EXISTS (SELECT FROM bench.rec r WHERE r.ds = v.ds);

  FOR d IN SELECT * FROM bench.dataset ORDER BY pos LOOP
    INSERT INTO crm.workspace (name) VALUES ('accuracy ' || d.ds) RETURNING id INTO ws;
    UPDATE bench.dataset SET workspace_id = ws WHERE ds = d.ds;
  END LOOP;
  ANALYZE bench.rec;
END
$$;

-- Elapsed ms after every 1,000 records of a load (does the cost per record grow?).
CREATE TABLE bench.load_progress (ds text, n bigint, ms float8);

-- Inserts a data set's records one statement per record, in file order (as records arrive), so
-- the statement trigger compares each with those written before. One transaction.
CREATE FUNCTION bench.load(p_ds text) RETURNS bigint LANGUAGE plpgsql
AS $$
DECLARE r bench.rec; ws bigint; k text; rid bigint; n bigint := 0; t0 timestamptz := clock_timestamp();
BEGIN
  SELECT workspace_id, kind INTO ws, k FROM bench.dataset WHERE ds = p_ds;
  PERFORM set_config('crm.workspace', ws::text, true);
  DELETE FROM bench.load_progress WHERE ds = p_ds;
  FOR r IN SELECT * FROM bench.rec WHERE ds = p_ds ORDER BY ord LOOP
    IF k = 'person' THEN
      INSERT INTO crm.person (workspace_id, first_name, last_name, email, street, city, postal_code,
                              region, country, birth_date, attributes)
      VALUES (ws, r.first_name, r.last_name, r.email, r.street, r.city, r.postal_code,
              r.region, r.country, r.birth_date, r.attributes)
      RETURNING id INTO rid;
    ELSE
      INSERT INTO crm.company (workspace_id, name, street, city, attributes)
      VALUES (ws, r.name, r.street, r.city, r.attributes)
      RETURNING id INTO rid;
    END IF;
    UPDATE bench.rec SET record_id = rid WHERE ds = p_ds AND ord = r.ord;
    n := n + 1;
    IF n % 1000 = 0 THEN
      INSERT INTO bench.load_progress VALUES (p_ds, n, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END IF;
  END LOOP;
  IF n % 1000 <> 0 THEN
    INSERT INTO bench.load_progress VALUES (p_ds, n, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END IF;
  RETURN n;
END
$$;

CREATE TABLE bench.result (
  ds text NOT NULL,
  stage text NOT NULL,           -- write | scan | trained
  records bigint,
  true_pairs bigint,
  cand_pairs bigint,             -- open candidates of the workspace
  cand_tp bigint,
  set_pairs bigint,              -- pairs of records in the same crm.duplicate_sets set
  set_tp bigint,
  sets bigint,
  largest_set bigint,
  stray bigint,                  -- candidates or set members that are not records of the data set
  components_differ bigint,      -- records whose set differs from the connected components of the open candidates
  ms float8,
  note text,
  PRIMARY KEY (ds, stage)
);

-- Connected components of a workspace's open candidates (min-label propagation), independent of
-- crm.duplicate_sets: record_id -> smallest record id of its component.
CREATE FUNCTION bench.components(ws bigint, k text) RETURNS TABLE (record_id bigint, set_id bigint)
LANGUAGE plpgsql
AS $$
DECLARE changed bigint;
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS comp_edge (a bigint, b bigint);
  CREATE TEMP TABLE IF NOT EXISTS comp_label (id bigint PRIMARY KEY, label bigint);
  TRUNCATE comp_edge; TRUNCATE comp_label;
  INSERT INTO comp_edge
  SELECT c.record_id, c.other_id FROM crm.duplicate_candidate c
  WHERE c.workspace_id = ws AND c.kind = k AND c.status = 'open'
  UNION ALL
  SELECT c.other_id, c.record_id FROM crm.duplicate_candidate c
  WHERE c.workspace_id = ws AND c.kind = k AND c.status = 'open';
  INSERT INTO comp_label SELECT DISTINCT a, a FROM comp_edge;
  ANALYZE comp_edge; ANALYZE comp_label;
  LOOP
    UPDATE comp_label l SET label = m.label
    FROM (SELECT e.a, min(n.label) AS label FROM comp_edge e JOIN comp_label n ON n.id = e.b GROUP BY e.a) m
    WHERE m.a = l.id AND m.label < l.label;
    GET DIAGNOSTICS changed = ROW_COUNT;
    EXIT WHEN changed = 0;
  END LOOP;
  RETURN QUERY SELECT l.id, l.label FROM comp_label l;
END
$$;

CREATE FUNCTION bench.measure(p_ds text, p_stage text, p_ms float8, p_note text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE ws bigint; k text;
BEGIN
  SELECT workspace_id, kind INTO ws, k FROM bench.dataset WHERE ds = p_ds;
  CREATE TEMP TABLE m_set ON COMMIT DROP AS
    SELECT d.record_id, d.set_id FROM crm.duplicate_sets d WHERE d.workspace_id = ws AND d.kind = k;
  CREATE TEMP TABLE m_rec ON COMMIT DROP AS
    SELECT r.record_id, r.entity, coalesce(s.set_id, -r.record_id) AS set_id
    FROM bench.rec r LEFT JOIN m_set s USING (record_id) WHERE r.ds = p_ds;
  CREATE TEMP TABLE m_cand ON COMMIT DROP AS
    SELECT c.record_id, c.other_id FROM crm.duplicate_candidate c
    WHERE c.workspace_id = ws AND c.kind = k AND c.status = 'open';
  INSERT INTO bench.result (ds, stage, records, true_pairs, cand_pairs, cand_tp, set_pairs, set_tp,
                            sets, largest_set, stray, components_differ, ms, note)
  SELECT p_ds, p_stage,
    (SELECT count(*) FROM m_rec),
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM m_rec GROUP BY entity) x),
    (SELECT count(*) FROM m_cand),
    (SELECT count(*) FROM m_cand c JOIN m_rec a ON a.record_id = c.record_id
                                  JOIN m_rec b ON b.record_id = c.other_id WHERE a.entity = b.entity),
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM m_rec GROUP BY set_id) x),
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM m_rec GROUP BY set_id, entity) x),
    (SELECT count(DISTINCT set_id) FROM m_set),
    (SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM m_set GROUP BY set_id) x),
    (SELECT count(*) FROM m_set s WHERE NOT EXISTS (SELECT FROM m_rec r WHERE r.record_id = s.record_id))
      + (SELECT count(*) FROM m_cand c WHERE NOT EXISTS (SELECT FROM m_rec r WHERE r.record_id = c.record_id)
                                          OR NOT EXISTS (SELECT FROM m_rec r WHERE r.record_id = c.other_id)),
    (SELECT count(*) FROM bench.components(ws, k) g FULL JOIN m_set s USING (record_id)
      WHERE g.set_id IS DISTINCT FROM s.set_id),
    p_ms, p_note;
END
$$;

-- The open candidates of a data set's workspace, kept to compare a later scan with.
CREATE TABLE bench.cand_snapshot (ds text, record_id bigint, other_id bigint, score float8, status text, evidence jsonb);

CREATE FUNCTION bench.snapshot(p_ds text) RETURNS void LANGUAGE sql
AS $$
  DELETE FROM bench.cand_snapshot WHERE ds = p_ds;
  INSERT INTO bench.cand_snapshot
  SELECT p_ds, c.record_id, c.other_id, c.score, c.status, c.evidence
  FROM crm.duplicate_candidate c JOIN bench.dataset d ON d.workspace_id = c.workspace_id AND d.kind = c.kind
  WHERE d.ds = p_ds;
$$;

-- Pairs only in the snapshot, only now, and in both with a different score or status.
CREATE FUNCTION bench.compare_snapshot(p_ds text) RETURNS text LANGUAGE sql
AS $$
  WITH now_c AS (
    SELECT c.record_id, c.other_id, c.score, c.status
    FROM crm.duplicate_candidate c JOIN bench.dataset d ON d.workspace_id = c.workspace_id AND d.kind = c.kind
    WHERE d.ds = p_ds),
  was AS (SELECT record_id, other_id, score, status FROM bench.cand_snapshot WHERE ds = p_ds)
  SELECT format('%s pairs only before, %s only after, %s with another score (|diff| > 1e-9) or status',
    (SELECT count(*) FROM was w WHERE NOT EXISTS (SELECT FROM now_c c WHERE c.record_id = w.record_id AND c.other_id = w.other_id)),
    (SELECT count(*) FROM now_c c WHERE NOT EXISTS (SELECT FROM was w WHERE c.record_id = w.record_id AND c.other_id = w.other_id)),
    (SELECT count(*) FROM now_c c JOIN was w USING (record_id, other_id)
      WHERE abs(c.score - w.score) > 1e-9 OR c.status <> w.status));
$$;

-- One record, for the error listings.
CREATE FUNCTION bench.describe(k text, id bigint) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT CASE k
    WHEN 'person' THEN (
      SELECT format('%s  first=%s | last=%s | email=%s | street=%s | city=%s | postcode=%s | region=%s | dob=%s | attributes=%s',
                    lpad(p.id::text, 7), p.first_name, p.last_name, p.email, p.street, p.city, p.postal_code,
                    p.region, p.birth_date, p.attributes)
      FROM crm.person p WHERE p.id = describe.id)
    ELSE (
      SELECT format('%s  name=%s | street=%s | city=%s | domain=%s | attributes=%s',
                    lpad(c.id::text, 7), c.name, c.street, c.city, c.domain, c.attributes)
      FROM crm.company c WHERE c.id = describe.id)
  END
  || E'\n           profile: '
  || coalesce((SELECT replace(mp.fields, chr(31), ' ¦ ') FROM crm.match_profile mp
               WHERE mp.kind = describe.k AND mp.record_id = describe.id), '(no match_profile row)');
$$;

-- What crm.find_duplicates says about a pair: the score of the other record when the first is
-- probed (as a new record: its row without id, workspace and timestamps), or why not.
CREATE FUNCTION bench.probe_pair(k text, a bigint, b bigint) RETURNS text LANGUAGE plpgsql
AS $$
DECLARE rec jsonb; s float8; ev jsonb; n int;
BEGIN
  IF k = 'person' THEN
    SELECT to_jsonb(p) - 'id' - 'workspace_id' - 'created_at' - 'updated_at' INTO rec FROM crm.person p WHERE p.id = a;
  ELSE
    SELECT to_jsonb(c) - 'id' - 'workspace_id' - 'created_at' - 'updated_at' INTO rec FROM crm.company c WHERE c.id = a;
  END IF;
  SELECT count(*) INTO n FROM crm.find_duplicates(k, rec, 50);
  SELECT f.score, f.evidence INTO s, ev FROM crm.find_duplicates(k, rec, 50) f WHERE f.record_id = b;
  IF s IS NULL THEN
    RETURN format('find_duplicates(first record, 50): other record not returned (%s returned)', n);
  END IF;
  RETURN format('find_duplicates(first record, 50): score %s, evidence %s', round(s::numeric, 4), ev);
EXCEPTION WHEN others THEN
  RETURN format('find_duplicates failed: %s (SQLSTATE %s)', SQLERRM, SQLSTATE);
END
$$;

-- False negatives (true pairs not in one set) and false positives (open candidates joining two
-- entities; also the count of wrong pairs the sets add by transitivity), first p_limit of each.
CREATE FUNCTION bench.errors(p_ds text, p_limit int) RETURNS SETOF text LANGUAGE plpgsql
AS $$
DECLARE ws bigint; k text; x record; i int := 0; fn bigint; fn_blocked bigint; fp bigint;
BEGIN
  SELECT workspace_id, kind INTO ws, k FROM bench.dataset WHERE ds = p_ds;
  PERFORM set_config('crm.workspace', ws::text, true);
  CREATE TEMP TABLE e_rec ON COMMIT DROP AS
    SELECT r.record_id, r.entity, r.src_id, s.set_id
    FROM bench.rec r LEFT JOIN (SELECT d.record_id, d.set_id FROM crm.duplicate_sets d
                                WHERE d.workspace_id = ws AND d.kind = k) s USING (record_id)
    WHERE r.ds = p_ds;
  CREATE TEMP TABLE e_fn ON COMMIT DROP AS
    SELECT a.record_id AS a, b.record_id AS b, a.src_id AS a_src, b.src_id AS b_src,
           coalesce(pa.keys && pb.keys, false) AS share_key
    FROM e_rec a JOIN e_rec b ON a.entity = b.entity AND a.record_id < b.record_id
    LEFT JOIN crm.match_profile pa ON pa.kind = k AND pa.record_id = a.record_id
    LEFT JOIN crm.match_profile pb ON pb.kind = k AND pb.record_id = b.record_id
    WHERE a.set_id IS NULL OR b.set_id IS NULL OR a.set_id <> b.set_id;
  SELECT count(*), count(*) FILTER (WHERE share_key) INTO fn, fn_blocked FROM e_fn;
  SELECT count(*) INTO fp FROM crm.duplicate_candidate c
    JOIN e_rec a ON a.record_id = c.record_id JOIN e_rec b ON b.record_id = c.other_id
    WHERE c.workspace_id = ws AND c.kind = k AND c.status = 'open' AND a.entity <> b.entity;

  RETURN NEXT format('%s (%s, workspace %s): errors of the records as written (defaults, trigger at write)', p_ds, k, ws);
  RETURN NEXT format('false negatives (true pairs not in one duplicate set): %s, of which %s share a blocking key (match_profile.keys overlap) and %s share none',
                     fn, fn_blocked, fn - fn_blocked);
  RETURN NEXT format('false positive candidates (open candidates joining two true entities): %s; wrong pairs in the sets (transitivity included): %s',
                     fp, (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM e_rec WHERE set_id IS NOT NULL GROUP BY set_id) x)
                         - (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM e_rec WHERE set_id IS NOT NULL GROUP BY set_id, entity) x));
  RETURN NEXT '';
  RETURN NEXT format('== false negatives (first %s, in a fixed pseudo-random order)', p_limit);
  FOR x IN SELECT * FROM e_fn ORDER BY md5(a::text || '-' || b::text) LIMIT p_limit LOOP
    i := i + 1;
    RETURN NEXT format('FN %s: %s %s ~ %s (%s ~ %s), share a blocking key: %s', i, k, x.a, x.b, x.a_src, x.b_src,
                       CASE WHEN x.share_key THEN 'yes' ELSE 'no' END);
    RETURN NEXT '  a ' || bench.describe(k, x.a);
    RETURN NEXT '  b ' || bench.describe(k, x.b);
    RETURN NEXT '  ' || bench.probe_pair(k, x.a, x.b);
    RETURN NEXT '';
  END LOOP;
  i := 0;
  RETURN NEXT format('== false positive candidates (first %s, highest score first)', p_limit);
  FOR x IN SELECT c.record_id AS a, c.other_id AS b, c.score, c.evidence, ea.src_id AS a_src, eb.src_id AS b_src
           FROM crm.duplicate_candidate c
           JOIN e_rec ea ON ea.record_id = c.record_id JOIN e_rec eb ON eb.record_id = c.other_id
           WHERE c.workspace_id = ws AND c.kind = k AND c.status = 'open' AND ea.entity <> eb.entity
           ORDER BY c.score DESC, c.record_id, c.other_id LIMIT p_limit LOOP
    i := i + 1;
    RETURN NEXT format('FP %s: %s %s ~ %s (%s ~ %s), score %s', i, k, x.a, x.b, x.a_src, x.b_src, round(x.score::numeric, 4));
    RETURN NEXT '  a ' || bench.describe(k, x.a);
    RETURN NEXT '  b ' || bench.describe(k, x.b);
    RETURN NEXT '  evidence: ' || x.evidence::text;
    RETURN NEXT '';
  END LOOP;
END
$$;

-- The report: one Markdown row per data set and stage.
CREATE FUNCTION bench.f3(x float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN x IS NULL THEN 'n/a' ELSE to_char(x, 'FM0.000') END $$;

CREATE VIEW bench.scores AS
SELECT r.*, d.pos, d.target,
  r.set_tp::float8 / nullif(r.set_pairs, 0) AS set_p,
  r.set_tp::float8 / nullif(r.true_pairs, 0) AS set_r,
  r.cand_tp::float8 / nullif(r.cand_pairs, 0) AS cand_p,
  r.cand_tp::float8 / nullif(r.true_pairs, 0) AS cand_r
FROM bench.result r JOIN bench.dataset d USING (ds);

CREATE FUNCTION bench.f1(p float8, r float8) RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN coalesce(p, 0) + coalesce(r, 0) = 0 THEN 0 ELSE 2 * p * r / (p + r) END $$;

CREATE FUNCTION bench.report() RETURNS SETOF text LANGUAGE sql STABLE
AS $$
  SELECT '| data set | records | true pairs | stage | candidate pairs | set pairs | precision | recall | **F1** (sets) | target | candidates P / R / F1 | sets (largest) | time ms |'
  UNION ALL SELECT '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
  UNION ALL
  (SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | **%s** | %s | %s / %s / %s | %s (%s) | %s |',
     s.ds, s.records, s.true_pairs, s.stage, s.cand_pairs, s.set_pairs,
     bench.f3(s.set_p), bench.f3(s.set_r), bench.f3(bench.f1(s.set_p, s.set_r)),
     CASE WHEN s.target IS NULL THEN '' WHEN bench.f1(s.set_p, s.set_r) >= s.target THEN '≥ ' || s.target || ' met'
          ELSE '≥ ' || s.target || ' **missed**' END,
     bench.f3(s.cand_p), bench.f3(s.cand_r), bench.f3(bench.f1(s.cand_p, s.cand_r)),
     s.sets, s.largest_set, round(s.ms::numeric))
   FROM bench.scores s
   ORDER BY s.pos, CASE s.stage WHEN 'write' THEN 1 WHEN 'scan' THEN 2 ELSE 3 END);
$$;

-- Examples of the differences between the snapshot and now (for the log).
CREATE FUNCTION bench.snapshot_examples(p_ds text, p_limit int) RETURNS SETOF text LANGUAGE sql
AS $$
  WITH now_c AS (
    SELECT c.record_id, c.other_id, c.score, c.status, c.evidence
    FROM crm.duplicate_candidate c JOIN bench.dataset d ON d.workspace_id = c.workspace_id AND d.kind = c.kind
    WHERE d.ds = p_ds),
  was AS (SELECT * FROM bench.cand_snapshot WHERE ds = p_ds),
  diff AS (
    SELECT coalesce(w.record_id, c.record_id) AS a, coalesce(w.other_id, c.other_id) AS b,
           w.score AS score_before, c.score AS score_after, w.evidence AS ev_before, c.evidence AS ev_after,
           CASE WHEN c.record_id IS NULL THEN 'only before' WHEN w.record_id IS NULL THEN 'only after' ELSE 'rescored' END AS what
    FROM was w FULL JOIN now_c c USING (record_id, other_id)
    WHERE w.record_id IS NULL OR c.record_id IS NULL OR abs(c.score - w.score) > 1e-9 OR c.status <> w.status)
  SELECT * FROM (
    (SELECT format(E'%s %s ~ %s: score before %s, after %s\n  evidence before: %s\n  evidence after:  %s',
                   what, a, b, round(score_before::numeric, 6), round(score_after::numeric, 6), ev_before, ev_after)
     FROM diff WHERE what <> 'rescored' ORDER BY a, b LIMIT p_limit)
    UNION ALL
    (SELECT format(E'%s %s ~ %s: score before %s, after %s\n  evidence before: %s\n  evidence after:  %s',
                   what, a, b, round(score_before::numeric, 6), round(score_after::numeric, 6), ev_before, ev_after)
     FROM diff WHERE what = 'rescored' ORDER BY abs(score_after - score_before) DESC LIMIT p_limit)) x;
$$;

-- Pairs scored by the default model with its threshold lowered to 0.5 (the calibration stage).
CREATE TABLE bench.calibration (ds text NOT NULL, score float8 NOT NULL, same_entity boolean NOT NULL);

-- The reliability table: per score bucket, pairs and the share of them that are true duplicates;
-- people and companies apart, then all.
CREATE FUNCTION bench.reliability() RETURNS SETOF text LANGUAGE sql STABLE
AS $$
  WITH b AS (
    SELECT c.*, d.kind,
           CASE WHEN score >= 0.999 THEN '0.999-1' WHEN score >= 0.99 THEN '0.99-0.999'
                WHEN score >= 0.95 THEN '0.95-0.99' WHEN score >= 0.9 THEN '0.9-0.95'
                WHEN score >= 0.7 THEN '0.7-0.9' ELSE '0.5-0.7' END AS bucket,
           CASE WHEN score >= 0.999 THEN 6 WHEN score >= 0.99 THEN 5 WHEN score >= 0.95 THEN 4
                WHEN score >= 0.9 THEN 3 WHEN score >= 0.7 THEN 2 ELSE 1 END AS pos
    FROM bench.calibration c JOIN bench.dataset d USING (ds)),
  t AS (
    SELECT kind AS who, bucket, pos, count(*) AS pairs, avg(same_entity::int) AS precision FROM b GROUP BY 1, 2, 3
    UNION ALL
    SELECT 'all', bucket, pos, count(*), avg(same_entity::int) FROM b GROUP BY 2, 3
    UNION ALL
    SELECT 'all', '0.9-1', 7, count(*), avg(same_entity::int) FROM b WHERE score >= 0.9)
  SELECT '| records | score | pairs | precision |'
  UNION ALL SELECT '|---|---|---|---|'
  UNION ALL (SELECT format('| %s | %s | %s | %s |', who, bucket, pairs, bench.f3(precision)) FROM t
             ORDER BY CASE who WHEN 'person' THEN 1 WHEN 'company' THEN 2 ELSE 3 END, pos);
$$;
