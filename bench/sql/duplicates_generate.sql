-- bench/duplicates_speed.sh: a realistic, deterministic population of people (and their
-- companies) with ~5% injected duplicates, generated in SQL into staging tables.
-- psql variables: people (total rows), probes (find_duplicates probes), inserts (single-row inserts).
-- Needs bench.raw_line (lines of the FEBRL files, fake_1000.csv and the nicknames list, loaded by
-- the script when ../shared/data is present); without them, built-in name lists are used.
-- Pseudo-random numbers: bench.rnd(n, salt), a hash of (n, salt): the same on every run and
-- platform, and independent of the order rows are produced in.
SET client_min_messages = warning;

CREATE FUNCTION bench.rnd(n bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ((pg_catalog.hashint8extended(n, salt) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$;

CREATE FUNCTION bench.nz(text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT nullif(btrim($1), '') $$;

-- ASCII letters of a name, lower case (for e-mail local parts).
CREATE FUNCTION bench.slug(s text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT regexp_replace(lower(translate(s, 'ÄÖÜäöüßÉÈÊéèêÀÂàâÇçÑñÍíÓóÚú', 'AOUaousEEEeeeAAaaCcNnIiOoUu')), '[^a-z]', '', 'g') $$;

-- n random digits (first digit 2-9) from r.
CREATE FUNCTION bench.digits(r float8, n int) RETURNS text LANGUAGE sql IMMUTABLE
AS $$ SELECT (2 + floor(r * 8))::int::text
             || CASE WHEN n > 1 THEN lpad((floor(bench.rnd(floor(r * 1e15)::bigint, 77) * 10 ^ (n - 1)))::bigint::text, n - 1, '0') ELSE '' END $$;

-- One typing error: deletion, transposition, substitution or doubled letter at a random position.
CREATE FUNCTION bench.typo(s text, r float8) RETURNS text LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE WHEN s IS NULL OR length(s) < 3 THEN s ELSE (
    SELECT CASE op
      WHEN 0 THEN overlay(s PLACING '' FROM pos FOR 1)
      WHEN 1 THEN overlay(s PLACING substr(s, pos + 1, 1) || substr(s, pos, 1) FROM pos FOR 2)
      WHEN 2 THEN overlay(s PLACING c FROM pos FOR 1)
      ELSE overlay(s PLACING substr(s, pos, 1) || substr(s, pos, 1) FROM pos FOR 1)
    END
    FROM (SELECT 1 + least(floor(length(s) * r)::int, length(s) - 2) AS pos,
                 floor(r * 1000)::int % 4 AS op,
                 chr(97 + floor(r * 100000)::int % 26) AS c) p) END
$$;

-- Street types abbreviated as people type them.
CREATE FUNCTION bench.abbreviate_street(s text) RETURNS text LANGUAGE sql IMMUTABLE
AS $$
  SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(s,
    '\mStreet\M', 'St'), '\mRoad\M', 'Rd'), '\mAvenue\M', 'Ave'), '\mPlace\M', 'Pl'),
    '\mCrescent\M', 'Cres'), '\mDrive\M', 'Dr'), '\mCourt\M', 'Ct')
$$;

-- ---------------------------------------------------------------------------------------------
-- Pools. Names keep the frequency they have in the source (FEBRL's originals follow Australian
-- name frequencies), so common names are common.
CREATE TABLE bench.pool_first (i int PRIMARY KEY, name text NOT NULL);
CREATE TABLE bench.pool_last (i int PRIMARY KEY, name text NOT NULL);
CREATE TABLE bench.pool_street (i int PRIMARY KEY, name text NOT NULL);
CREATE TABLE bench.nick (name text NOT NULL, k int NOT NULL, alt text NOT NULL, PRIMARY KEY (name, k));

CREATE TEMP VIEW febrl_org AS
  SELECT string_to_array(line, ',') AS f FROM bench.raw_line
  WHERE file LIKE 'dataset%' AND line IS NOT NULL AND split_part(line, ',', 1) LIKE '%-org';
CREATE TEMP VIEW fake AS
  SELECT string_to_array(line, ',') AS f FROM bench.raw_line WHERE file = 'fake_1000' AND line IS NOT NULL;

INSERT INTO bench.pool_first
SELECT row_number() OVER (ORDER BY n), initcap(n) FROM (
  SELECT lower(bench.nz(f[2])) AS n FROM febrl_org
  UNION ALL SELECT lower(bench.nz(f[2])) FROM fake GROUP BY 1 HAVING count(*) >= 3
  UNION ALL SELECT DISTINCT lower(bench.nz(split_part(line, ',', 1))) FROM bench.raw_line WHERE file = 'nicknames'
) x WHERE n IS NOT NULL AND n ~ '^[a-z]';
INSERT INTO bench.pool_last
SELECT row_number() OVER (ORDER BY n), initcap(n) FROM (
  SELECT lower(bench.nz(f[3])) AS n FROM febrl_org
  UNION ALL SELECT lower(bench.nz(f[3])) FROM fake GROUP BY 1 HAVING count(*) >= 3
) x WHERE n IS NOT NULL AND n ~ '^[a-z]';
INSERT INTO bench.pool_street
SELECT row_number() OVER (ORDER BY n), initcap(n) FROM (SELECT bench.nz(f[5]) AS n FROM febrl_org) x
WHERE n IS NOT NULL AND n ~ '^[a-z]';
INSERT INTO bench.nick
SELECT name, row_number() OVER (PARTITION BY name ORDER BY alt), alt FROM (
  SELECT DISTINCT a AS name, b AS alt FROM (
    SELECT lower(split_part(line, ',', 1)) AS a, lower(split_part(line, ',', 3)) AS b FROM bench.raw_line WHERE file = 'nicknames'
    UNION ALL
    SELECT lower(split_part(line, ',', 3)), lower(split_part(line, ',', 1)) FROM bench.raw_line WHERE file = 'nicknames') p
  WHERE a <> '' AND b <> '' AND a <> b) x;

-- Built-in lists when the shared data is absent (weights: the k-th name appears ceil(60 / k) times).
INSERT INTO bench.pool_first
SELECT row_number() OVER (ORDER BY k, r), n FROM unnest(ARRAY['James','Mary','John','Patricia','Robert','Jennifer','Michael','Linda',
  'William','Elizabeth','David','Barbara','Richard','Susan','Joseph','Jessica','Thomas','Sarah','Charles','Karen','Christopher',
  'Nancy','Daniel','Lisa','Matthew','Betty','Anthony','Margaret','Mark','Sandra','Donald','Ashley','Steven','Kimberly','Paul',
  'Emily','Andrew','Donna','Joshua','Michelle','Kenneth','Dorothy','Kevin','Carol','Brian','Amanda','George','Melissa','Edward',
  'Deborah','Ronald','Stephanie','Timothy','Rebecca','Jason','Sharon','Jeffrey','Laura','Ryan','Cynthia','Olivia','Noah','Emma',
  'Liam','Sophia','Lucas','Mia','Ethan','Chloe','Oliver','Zoe','Jack','Grace','Henry','Lily','Samuel','Hannah','Benjamin','Ella']) WITH ORDINALITY AS a (n, k)
CROSS JOIN LATERAL generate_series(1, ceil(60.0 / k)::int) r
WHERE NOT EXISTS (SELECT FROM bench.pool_first);
INSERT INTO bench.pool_last
SELECT row_number() OVER (ORDER BY k, r), n FROM unnest(ARRAY['Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis',
  'Rodriguez','Martinez','Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin','Lee',
  'Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson','Walker','Young','Allen','King','Wright',
  'Scott','Torres','Nguyen','Hill','Flores','Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell','Carter',
  'Roberts','Müller','Schmidt','Schneider','Fischer','Weber','Meyer','Wagner','Becker','Martin','Bernard','Dubois','Durand',
  'Lefebvre','Moreau','Laurent','Simon','Michel','Leroy','Roux','Patel','Khan','Singh','Kelly','Murphy','Walsh','Byrne',
  'O''Brien','Ryan','Novak','Kowalski']) WITH ORDINALITY AS a (n, k)
CROSS JOIN LATERAL generate_series(1, ceil(60.0 / k)::int) r
WHERE NOT EXISTS (SELECT FROM bench.pool_last);
INSERT INTO bench.pool_street
SELECT k, n FROM unnest(ARRAY['Main Street','High Street','Church Road','Station Road','Park Avenue','Oak Street','Maple Avenue',
  'Cedar Lane','Elm Street','Washington Street','Victoria Road','King Street','Queen Street','George Street','Mill Lane',
  'School Lane','Green Lane','Bridge Street','North Road','South Street','West Street','East Road','Lake Drive','Hill Crescent',
  'River Road','Forest Place','Garden Court','Spring Street','Pine Avenue','Sunset Boulevard']) WITH ORDINALITY AS a (n, k)
WHERE NOT EXISTS (SELECT FROM bench.pool_street);
INSERT INTO bench.nick
SELECT name, row_number() OVER (PARTITION BY name ORDER BY alt), alt FROM (
  SELECT a AS name, b AS alt FROM (VALUES ('robert','bob'),('robert','rob'),('william','bill'),('william','will'),('james','jim'),
    ('elizabeth','liz'),('elizabeth','beth'),('margaret','maggie'),('michael','mike'),('richard','rick'),('joseph','joe'),
    ('thomas','tom'),('charles','charlie'),('christopher','chris'),('daniel','dan'),('matthew','matt'),('anthony','tony'),
    ('jennifer','jen'),('patricia','pat'),('susan','sue'),('deborah','debbie'),('rebecca','becky'),('samuel','sam'),
    ('benjamin','ben'),('edward','ed'),('kenneth','ken'),('timothy','tim'),('jeffrey','jeff'),('ronald','ron'),('steven','steve')) v (a, b)
  UNION ALL
  SELECT b, a FROM (VALUES ('robert','bob'),('robert','rob'),('william','bill'),('william','will'),('james','jim'),
    ('elizabeth','liz'),('elizabeth','beth'),('margaret','maggie'),('michael','mike'),('richard','rick'),('joseph','joe'),
    ('thomas','tom'),('charles','charlie'),('christopher','chris'),('daniel','dan'),('matthew','matt'),('anthony','tony'),
    ('jennifer','jen'),('patricia','pat'),('susan','sue'),('deborah','debbie'),('rebecca','becky'),('samuel','sam'),
    ('benjamin','ben'),('edward','ed'),('kenneth','ken'),('timothy','tim'),('jeffrey','jeff'),('ronald','ron'),('steven','steve')) v (a, b)) x
WHERE NOT EXISTS (SELECT FROM bench.nick);
CREATE TABLE bench.nick_count AS SELECT name, count(*)::int AS n FROM bench.nick GROUP BY name;
ALTER TABLE bench.nick_count ADD PRIMARY KEY (name);

-- Countries: share of the population, phone country code, national number length, company TLD,
-- free-mail providers (repeated by popularity).
CREATE TABLE bench.country (
  country text PRIMARY KEY, lo float8, hi float8, cc text, nsn int, tld text, free text[], n_cities int
);
INSERT INTO bench.country (country, lo, hi, cc, nsn, tld, free) VALUES
  ('US', 0.00, 0.50, '1', 10, '.com', ARRAY['gmail.com','gmail.com','gmail.com','gmail.com','gmail.com','yahoo.com','yahoo.com','hotmail.com','outlook.com','icloud.com','aol.com']),
  ('GB', 0.50, 0.68, '44', 10, '.co.uk', ARRAY['gmail.com','gmail.com','gmail.com','gmail.com','hotmail.co.uk','hotmail.co.uk','yahoo.co.uk','btinternet.com','outlook.com','googlemail.com']),
  ('DE', 0.68, 0.80, '49', 10, '.de', ARRAY['gmail.com','gmail.com','gmail.com','gmx.de','gmx.de','web.de','web.de','t-online.de','googlemail.com']),
  ('FR', 0.80, 0.90, '33', 9, '.fr', ARRAY['gmail.com','gmail.com','gmail.com','orange.fr','orange.fr','free.fr','hotmail.fr','laposte.net','yahoo.fr']),
  ('AU', 0.90, 1.00, '61', 9, '.com.au', ARRAY['gmail.com','gmail.com','gmail.com','bigpond.com','bigpond.com','outlook.com','hotmail.com','icloud.com']);

-- Cities (the first of a country are the most frequent), postal-code prefix, phone area code.
CREATE TABLE bench.city (country text, k int, city text, postal text, area text, PRIMARY KEY (country, k));
INSERT INTO bench.city VALUES
  ('US',1,'New York','100','212'),('US',2,'Los Angeles','900','213'),('US',3,'Chicago','606','312'),('US',4,'Houston','770','713'),
  ('US',5,'Phoenix','850','602'),('US',6,'Philadelphia','191','215'),('US',7,'San Antonio','782','210'),('US',8,'San Diego','921','619'),
  ('US',9,'Dallas','752','214'),('US',10,'Austin','787','512'),('US',11,'San Francisco','941','415'),('US',12,'Seattle','981','206'),
  ('US',13,'Denver','802','303'),('US',14,'Boston','021','617'),('US',15,'Atlanta','303','404'),('US',16,'Miami','331','305'),
  ('GB',1,'London','SW1A','20'),('GB',2,'Manchester','M1','161'),('GB',3,'Birmingham','B1','121'),('GB',4,'Leeds','LS1','113'),
  ('GB',5,'Glasgow','G1','141'),('GB',6,'Bristol','BS1','117'),('GB',7,'Liverpool','L1','151'),('GB',8,'Edinburgh','EH1','131'),
  ('DE',1,'Berlin','10','30'),('DE',2,'Hamburg','20','40'),('DE',3,'München','80','89'),('DE',4,'Köln','50','221'),
  ('DE',5,'Frankfurt am Main','60','69'),('DE',6,'Stuttgart','70','711'),('DE',7,'Düsseldorf','40','211'),
  ('FR',1,'Paris','750','1'),('FR',2,'Lyon','690','4'),('FR',3,'Marseille','130','4'),('FR',4,'Toulouse','310','5'),
  ('FR',5,'Nice','060','4'),('FR',6,'Nantes','440','2'),('FR',7,'Bordeaux','330','5'),
  ('AU',1,'Sydney','20','2'),('AU',2,'Melbourne','30','3'),('AU',3,'Brisbane','40','7'),('AU',4,'Perth','60','8'),('AU',5,'Adelaide','50','8');
UPDATE bench.country c SET n_cities = (SELECT count(*) FROM bench.city ci WHERE ci.country = c.country);

-- A phone number as people write it: 0 international spaced, 1 national, 2 compact, 3 digits only.
CREATE FUNCTION bench.fmt_phone(country text, cc text, area text, rest text, style int) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
  SELECT CASE
    WHEN country = 'US' THEN CASE style
      WHEN 0 THEN '+1 ' || area || '-' || left(rest, 3) || '-' || substr(rest, 4)
      WHEN 1 THEN '(' || area || ') ' || left(rest, 3) || '-' || substr(rest, 4)
      WHEN 2 THEN area || '.' || left(rest, 3) || '.' || substr(rest, 4)
      ELSE area || rest END
    ELSE CASE style
      WHEN 0 THEN '+' || cc || ' ' || area || ' ' || left(rest, length(rest) / 2) || ' ' || substr(rest, length(rest) / 2 + 1)
      WHEN 1 THEN '0' || area || ' ' || left(rest, length(rest) / 2) || ' ' || substr(rest, length(rest) / 2 + 1)
      WHEN 2 THEN '+' || cc || area || rest
      ELSE '0' || area || rest END
  END
$$;

CREATE TABLE bench.param AS
SELECT :people::bigint AS people, (:people / 20)::bigint AS n_dup, (:people - :people / 20)::bigint AS n_orig,
       greatest(100, :people / 50)::bigint AS n_company, :probes::int AS probes, :inserts::int AS inserts,
       (SELECT count(*) FROM bench.pool_first)::int AS n_first, (SELECT count(*) FROM bench.pool_last)::int AS n_last,
       (SELECT count(*) FROM bench.pool_street)::int AS n_street;

-- ---------------------------------------------------------------------------------------------
-- Companies: "<Surname> <Word>[ <legal suffix>]", a domain from the name (numbered on collision)
-- under the country's TLD.
CREATE TABLE bench.gen_company AS
WITH base AS (
  SELECT c AS id, co.country,
    l.name || ' ' || (ARRAY['Logistics','Software','Partners','Consulting','Foods','Energy','Labs','Group','Holdings','Systems',
      'Media','Health','Capital','Design','Motors','Analytics','Builders','Legal','Travel','Pharma','Robotics','Textiles',
      'Insurance','Studios'])[1 + floor(bench.rnd(c, 12) * 24)::int] AS stem,
    (ARRAY['', '', '', ' Inc', ' Ltd', ' LLC', ' GmbH', ' SA', ' Pty Ltd', ' Corp', ' & Co'])[1 + floor(bench.rnd(c, 13) * 11)::int] AS suffix
  FROM bench.param p, generate_series(1, p.n_company) c
  JOIN bench.pool_last l ON l.i = 1 + floor(bench.rnd(c, 11) * (SELECT n_last FROM bench.param))::int
  JOIN bench.country co ON bench.rnd(c, 14) >= co.lo AND bench.rnd(c, 14) < co.hi
)
SELECT id, country, stem || suffix AS name,
       bench.slug(stem) || CASE WHEN rn > 1 THEN rn::text ELSE '' END || tld AS domain
FROM (SELECT b.*, c.tld, row_number() OVER (PARTITION BY bench.slug(b.stem), c.tld ORDER BY b.id) AS rn
      FROM base b JOIN bench.country c USING (country)) x;
ALTER TABLE bench.gen_company ADD PRIMARY KEY (id);

-- ---------------------------------------------------------------------------------------------
-- People g in [lo, hi]: the true person (names, company, addresses, numbers) and what the CRM
-- holds about them (phone for ~50%, street ~60%, city ~80%, postal code ~70%, birth date ~20%;
-- e-mail at the company's domain for most employees, free mail for others, none for ~12%).
CREATE FUNCTION bench.gen_originals(lo bigint, hi bigint) RETURNS TABLE (
  g bigint, first_name text, last_name text, email text, emails text[], phone text, street text, city text,
  postal_code text, country text, birth_date date, company_id bigint,
  t_first text, t_last text, t_domain text, t_email_kind int, t_area text, t_rest text, t_cc text, t_free text[],
  t_street text, t_city text, t_postal text, t_dob date)
LANGUAGE sql STABLE
AS $$
SELECT g,
  a.first, a.last,
  CASE WHEN e.kind = 0 THEN NULL
       WHEN bench.rnd(g, 30) < 0.10 THEN initcap(e.local) || '@' || e.host
       ELSE e.local || '@' || e.host END,
  CASE WHEN bench.rnd(g, 31) < 0.05
       THEN ARRAY[lower(bench.slug(a.first) || '.' || bench.slug(a.last) || (10 + floor(bench.rnd(g, 32) * 90))::int
                  || '@' || c.free[1 + floor(bench.rnd(g, 33) * array_length(c.free, 1))::int])]
       ELSE '{}' END,
  CASE WHEN bench.rnd(g, 34) < 0.50 THEN bench.fmt_phone(c.country, c.cc, ph.area, ph.rest, floor(bench.rnd(g, 35) * 4)::int) END,
  CASE WHEN bench.rnd(g, 36) < 0.60 THEN s.street END,
  CASE WHEN bench.rnd(g, 36) < 0.60 OR bench.rnd(g, 37) < 0.50 THEN ci.city END,
  CASE WHEN bench.rnd(g, 36) < 0.60 OR bench.rnd(g, 37) < 0.25 THEN s.postal END,
  c.country,
  CASE WHEN bench.rnd(g, 38) < 0.20 THEN s.dob END,
  a.company_id,
  a.first, a.last, co.domain, e.kind, ph.area, ph.rest, c.cc, c.free, s.street, ci.city, s.postal, s.dob
FROM generate_series(lo, hi) g
CROSS JOIN bench.param p
CROSS JOIN LATERAL (SELECT
  (SELECT name FROM bench.pool_first WHERE i = 1 + floor(bench.rnd(g, 1) * p.n_first)::int) AS first,
  CASE WHEN bench.rnd(g, 2) < 0.75
    THEN (SELECT name FROM bench.pool_last WHERE i = 1 + floor(bench.rnd(g, 3) * p.n_last)::int)
    -- a long tail of rarer surnames: the start of one and the end of another
    ELSE (SELECT initcap(left(x.name, greatest(2, length(x.name) / 2)) || right(lower(y.name), greatest(2, length(y.name) - length(y.name) / 2)))
          FROM bench.pool_last x, bench.pool_last y
          WHERE x.i = 1 + floor(bench.rnd(g, 3) * p.n_last)::int AND y.i = 1 + floor(bench.rnd(g, 4) * p.n_last)::int) END AS last,
  -- 75% work at a company; big companies have many contacts
  CASE WHEN bench.rnd(g, 5) < 0.75 THEN 1 + floor(p.n_company * bench.rnd(g, 6) ^ 2)::bigint END AS company_id) a
LEFT JOIN bench.gen_company co ON co.id = a.company_id
CROSS JOIN LATERAL (
  SELECT * FROM bench.country c
  WHERE c.country = CASE WHEN co.id IS NOT NULL AND bench.rnd(g, 7) < 0.85 THEN co.country
                         ELSE (SELECT x.country FROM bench.country x WHERE bench.rnd(g, 8) >= x.lo AND bench.rnd(g, 8) < x.hi) END) c
CROSS JOIN LATERAL (
  SELECT * FROM bench.city ci WHERE ci.country = c.country AND ci.k = 1 + floor(c.n_cities * bench.rnd(g, 9) ^ 1.5)::int) ci
CROSS JOIN LATERAL (SELECT
  CASE WHEN bench.rnd(g, 20) < 0.7 THEN ci.area
       ELSE CASE c.country WHEN 'US' THEN ci.area WHEN 'GB' THEN '7' || (100 + floor(bench.rnd(g, 21) * 900))::int
                           WHEN 'DE' THEN (ARRAY['151','160','170','176'])[1 + floor(bench.rnd(g, 21) * 4)::int]
                           WHEN 'FR' THEN (ARRAY['6','7'])[1 + floor(bench.rnd(g, 21) * 2)::int] ELSE '4' END END AS area) pa
CROSS JOIN LATERAL (SELECT pa.area, bench.digits(bench.rnd(g, 22), c.nsn - length(pa.area)) AS rest) ph
CROSS JOIN LATERAL (SELECT
  (1 + floor(200 * bench.rnd(g, 23) ^ 2))::int || ' ' || (SELECT name FROM bench.pool_street WHERE i = 1 + floor(bench.rnd(g, 24) * p.n_street)::int) AS street,
  CASE c.country
    WHEN 'GB' THEN ci.postal || ' ' || (1 + floor(bench.rnd(g, 25) * 9))::int || chr(65 + floor(bench.rnd(g, 26) * 26)::int) || chr(65 + floor(bench.rnd(g, 27) * 26)::int)
    WHEN 'DE' THEN ci.postal || lpad(floor(bench.rnd(g, 25) * 1000)::int::text, 3, '0')
    ELSE ci.postal || lpad(floor(bench.rnd(g, 25) * 100)::int::text, 2, '0') END AS postal,
  date '1945-01-01' + floor(bench.rnd(g, 28) * 20000)::int AS dob) s
CROSS JOIN LATERAL (SELECT
  -- 0 none, 1 company address, 2 free mail
  CASE WHEN co.id IS NOT NULL THEN CASE WHEN bench.rnd(g, 40) < 0.88 THEN 1 WHEN bench.rnd(g, 40) < 0.95 THEN 2 ELSE 0 END
       ELSE CASE WHEN bench.rnd(g, 40) < 0.70 THEN 2 ELSE 0 END END AS kind,
  floor(bench.rnd(g, 41) * 6)::int AS pattern) k
CROSS JOIN LATERAL (SELECT k.kind,
  CASE k.pattern
    WHEN 0 THEN bench.slug(a.first) || '.' || bench.slug(a.last)
    WHEN 1 THEN left(bench.slug(a.first), 1) || '.' || bench.slug(a.last)
    WHEN 2 THEN bench.slug(a.first) || bench.slug(a.last)
    WHEN 3 THEN bench.slug(a.first) || '_' || bench.slug(a.last)
    WHEN 4 THEN left(bench.slug(a.first), 1) || bench.slug(a.last)
    ELSE bench.slug(a.last) || '.' || bench.slug(a.first) END
  || CASE WHEN k.kind = 2 AND bench.rnd(g, 42) < 0.5 THEN (10 + floor(bench.rnd(g, 43) * 90))::int::text ELSE '' END AS local,
  CASE WHEN k.kind = 1 THEN co.domain ELSE c.free[1 + floor(bench.rnd(g, 44) * array_length(c.free, 1))::int] END AS host) e
$$;

-- Everyone generated: the originals inserted (g <= n_orig), then the new people of the probes and
-- of the single-row inserts, never inserted by the load.
ANALYZE bench.city; ANALYZE bench.country; ANALYZE bench.gen_company; ANALYZE bench.param;
ANALYZE bench.pool_first; ANALYZE bench.pool_last; ANALYZE bench.pool_street; ANALYZE bench.nick; ANALYZE bench.nick_count;
CREATE TABLE bench.orig AS
SELECT o.* FROM bench.param p, bench.gen_originals(1, p.n_orig + p.probes + p.inserts) o;
ALTER TABLE bench.orig ADD PRIMARY KEY (g);
-- An address belongs to one person: a later person whose address is taken gets a number, as mail
-- administrators do (ecampbell2@...). Gmail ignores dots and is also googlemail.com.
UPDATE bench.orig o SET email = regexp_replace(o.email, '@', x.rn || '@')
FROM (SELECT g, row_number() OVER (PARTITION BY
        CASE WHEN lower(split_part(email, '@', 2)) IN ('gmail.com', 'googlemail.com')
             THEN replace(lower(split_part(email, '@', 1)), '.', '') || '@gmail.com' ELSE lower(email) END
        ORDER BY g) AS rn
      FROM bench.orig WHERE email IS NOT NULL) x
WHERE x.g = o.g AND x.rn > 1;
ANALYZE bench.orig;

-- Duplicates d in [lo, hi] of random originals in [1, n_orig]: the same person entered again,
-- with a nickname or a typo, another or no e-mail, the phone written another way, the street
-- abbreviated, fields missing, sometimes a new job.
CREATE FUNCTION bench.gen_dups(lo bigint, hi bigint) RETURNS TABLE (
  d bigint, g bigint, first_name text, last_name text, email text, emails text[], phone text, street text, city text,
  postal_code text, country text, birth_date date, company_id bigint)
LANGUAGE sql STABLE
AS $$
SELECT d, o.g,
  CASE WHEN nm.swap THEN nm.last ELSE nm.first END,
  CASE WHEN nm.swap THEN nm.first ELSE nm.last END,
  em.email,
  CASE WHEN bench.rnd(d, 600 + 12) < 0.5 THEN o.emails ELSE '{}' END,
  CASE WHEN o.phone IS NOT NULL THEN
         CASE WHEN bench.rnd(d, 600 + 13) < 0.35 THEN bench.fmt_phone(o.country, o.t_cc, o.t_area, o.t_rest, floor(bench.rnd(d, 600 + 14) * 4)::int)
              WHEN bench.rnd(d, 600 + 13) < 0.50 THEN NULL ELSE o.phone END
       WHEN bench.rnd(d, 600 + 13) < 0.15 THEN bench.fmt_phone(o.country, o.t_cc, o.t_area, o.t_rest, floor(bench.rnd(d, 600 + 14) * 4)::int) END,
  CASE WHEN o.street IS NOT NULL THEN
         CASE WHEN bench.rnd(d, 600 + 15) < 0.20 THEN bench.abbreviate_street(o.street) WHEN bench.rnd(d, 600 + 15) < 0.30 THEN bench.typo(o.street, bench.rnd(d, 600 + 16))
              WHEN bench.rnd(d, 600 + 15) < 0.45 THEN NULL ELSE o.street END
       WHEN bench.rnd(d, 600 + 15) < 0.10 THEN o.t_street END,
  CASE WHEN o.city IS NOT NULL THEN
         CASE WHEN bench.rnd(d, 600 + 17) < 0.10 THEN bench.typo(o.city, bench.rnd(d, 600 + 18)) WHEN bench.rnd(d, 600 + 17) < 0.25 THEN NULL ELSE o.city END
       WHEN bench.rnd(d, 600 + 17) < 0.20 THEN o.t_city END,
  CASE WHEN o.postal_code IS NOT NULL THEN
         CASE WHEN bench.rnd(d, 600 + 19) < 0.15 THEN NULL WHEN bench.rnd(d, 600 + 19) < 0.18 THEN bench.typo(o.postal_code, bench.rnd(d, 600 + 20)) ELSE o.postal_code END
       WHEN bench.rnd(d, 600 + 19) < 0.10 THEN o.t_postal END,
  o.country,
  CASE WHEN o.birth_date IS NOT NULL THEN
         CASE WHEN bench.rnd(d, 600 + 21) < 0.05 AND extract(day FROM o.t_dob) <= 12
                THEN make_date(extract(year FROM o.t_dob)::int, extract(day FROM o.t_dob)::int, extract(month FROM o.t_dob)::int)
              WHEN bench.rnd(d, 600 + 21) < 0.10 THEN o.t_dob + (365 * (CASE WHEN bench.rnd(d, 600 + 22) < 0.5 THEN 1 ELSE 10 END))
              WHEN bench.rnd(d, 600 + 21) < 0.25 THEN NULL ELSE o.t_dob END
       WHEN bench.rnd(d, 600 + 21) < 0.10 THEN o.t_dob END,
  em.company_id
FROM generate_series(lo, hi) d
CROSS JOIN bench.param p
JOIN bench.orig o ON o.g = 1 + floor(bench.rnd(d, 500) * p.n_orig)::bigint
CROSS JOIN LATERAL (SELECT (SELECT c.n FROM bench.nick_count c WHERE c.name = lower(o.t_first)) AS n) nc
CROSS JOIN LATERAL (SELECT
  CASE WHEN bench.rnd(d, 600 + 1) < 0.25 AND nc.n IS NOT NULL
         THEN initcap((SELECT n.alt FROM bench.nick n WHERE n.name = lower(o.t_first) AND n.k = 1 + floor(bench.rnd(d, 600 + 2) * nc.n)::int))
       WHEN bench.rnd(d, 600 + 1) < 0.35 THEN bench.typo(o.t_first, bench.rnd(d, 600 + 2))
       WHEN bench.rnd(d, 600 + 1) < 0.40 THEN NULL
       WHEN bench.rnd(d, 600 + 1) < 0.45 THEN left(o.t_first, 1) || '.'
       ELSE o.t_first END AS first,
  CASE WHEN bench.rnd(d, 600 + 3) < 0.18 THEN bench.typo(o.t_last, bench.rnd(d, 600 + 4)) WHEN bench.rnd(d, 600 + 3) < 0.21 THEN NULL ELSE o.t_last END AS last,
  bench.rnd(d, 600 + 3) >= 0.21 AND bench.rnd(d, 600 + 3) < 0.23 AS swap
) nm
CROSS JOIN LATERAL (SELECT
  CASE WHEN bench.rnd(d, 600 + 5) < 0.05 THEN 1 + floor(p.n_company * bench.rnd(d, 600 + 6) ^ 2)::bigint           -- a new job
       WHEN bench.rnd(d, 600 + 5) < 0.15 THEN NULL ELSE o.company_id END AS company_id) job
LEFT JOIN bench.gen_company nco ON nco.id = job.company_id
CROSS JOIN LATERAL (SELECT job.company_id,
  CASE
    WHEN bench.rnd(d, 600 + 5) < 0.05 AND nco.id IS NOT NULL
      THEN bench.slug(o.t_first) || '.' || bench.slug(o.t_last) || '@' || nco.domain
    WHEN o.email IS NULL THEN
      CASE WHEN bench.rnd(d, 600 + 7) < 0.15 THEN bench.slug(o.t_first) || bench.slug(o.t_last) || (10 + floor(bench.rnd(d, 600 + 8) * 90))::int
                                 || '@' || o.t_free[1 + floor(bench.rnd(d, 600 + 9) * array_length(o.t_free, 1))::int] END
    WHEN bench.rnd(d, 600 + 7) < 0.20 THEN                                                            -- another form of the address
      CASE WHEN o.t_email_kind = 1 THEN left(bench.slug(o.t_first), 1) || bench.slug(o.t_last) || '@' || o.t_domain
           ELSE bench.slug(o.t_first) || '.' || bench.slug(o.t_last) || '@' || o.t_free[1 + floor(bench.rnd(d, 600 + 9) * array_length(o.t_free, 1))::int] END
    WHEN bench.rnd(d, 600 + 7) < 0.30 THEN                                                            -- the personal address instead
      bench.slug(o.t_first) || '.' || bench.slug(o.t_last) || (10 + floor(bench.rnd(d, 600 + 8) * 90))::int
        || '@' || o.t_free[1 + floor(bench.rnd(d, 600 + 9) * array_length(o.t_free, 1))::int]
    WHEN bench.rnd(d, 600 + 7) < 0.42 THEN NULL
    WHEN bench.rnd(d, 600 + 7) < 0.50 THEN upper(o.email)
    ELSE o.email END AS email) em
$$;

-- ---------------------------------------------------------------------------------------------
-- The population: n_orig originals and n_dup duplicates, shuffled; id is the crm.person id they
-- get, entity the original they stand for (the truth).
CREATE TABLE bench.gen_person AS
SELECT row_number() OVER (ORDER BY hashint8(x.key), x.key) AS id, x.*
FROM (
  SELECT o.g AS key, o.g AS entity, false AS dup, o.first_name, o.last_name, o.email, o.emails, o.phone, o.street, o.city,
         o.postal_code, o.country, o.birth_date, o.company_id
  FROM bench.param p, bench.orig o WHERE o.g <= p.n_orig
  UNION ALL
  SELECT -u.d, u.g, true, u.first_name, u.last_name, u.email, u.emails, u.phone, u.street, u.city,
         u.postal_code, u.country, u.birth_date, u.company_id
  FROM bench.param p, bench.gen_dups(1, p.n_dup) u
) x;
ALTER TABLE bench.gen_person ADD PRIMARY KEY (id);
CREATE INDEX ON bench.gen_person (entity);
ANALYZE bench.gen_person;

-- find_duplicates probes: half near-duplicates of people in the table (fresh perturbations of
-- random originals), half new people (originals never inserted). rec: the record as an app sends it.
CREATE TABLE bench.probe AS
SELECT row_number() OVER (ORDER BY hashint8(x.key), x.key)::int AS i, x.*
FROM (
  SELECT -u.d AS key, 'near' AS kind, u.g AS entity,
         jsonb_strip_nulls(jsonb_build_object('first_name', u.first_name, 'last_name', u.last_name, 'email', u.email,
           'emails', CASE WHEN cardinality(u.emails) > 0 THEN to_jsonb(u.emails) END, 'phone', u.phone, 'street', u.street,
           'city', u.city, 'postal_code', u.postal_code, 'country', u.country, 'birth_date', u.birth_date,
           'company_id', u.company_id)) AS rec
  FROM bench.param p, bench.gen_dups(p.n_dup + 1, p.n_dup + p.probes / 2) u
  UNION ALL
  SELECT o.g, 'new', o.g,
         jsonb_strip_nulls(jsonb_build_object('first_name', o.first_name, 'last_name', o.last_name, 'email', o.email,
           'emails', CASE WHEN cardinality(o.emails) > 0 THEN to_jsonb(o.emails) END, 'phone', o.phone, 'street', o.street,
           'city', o.city, 'postal_code', o.postal_code, 'country', o.country, 'birth_date', o.birth_date,
           'company_id', o.company_id))
  FROM bench.param p, bench.orig o WHERE o.g BETWEEN p.n_orig + 1 AND p.n_orig + p.probes - p.probes / 2
) x;
ALTER TABLE bench.probe ADD PRIMARY KEY (i);

-- Single-row inserts: the same mix, other people (each row inserted once per mode, in order i).
CREATE TABLE bench.insert_src AS
SELECT row_number() OVER (ORDER BY hashint8(x.key), x.key)::int AS i, x.*
FROM (
  SELECT -u.d AS key, 'near' AS kind, u.g AS entity, u.first_name, u.last_name, u.email, u.emails, u.phone, u.street,
         u.city, u.postal_code, u.country, u.birth_date, u.company_id
  FROM bench.param p, bench.gen_dups(p.n_dup + p.probes / 2 + 1, p.n_dup + p.probes / 2 + p.inserts / 2) u
  UNION ALL
  SELECT o.g, 'new', o.g, o.first_name, o.last_name, o.email, o.emails, o.phone, o.street,
         o.city, o.postal_code, o.country, o.birth_date, o.company_id
  FROM bench.param p, bench.orig o WHERE o.g BETWEEN p.n_orig + p.probes + 1 AND p.n_orig + p.probes + p.inserts - p.inserts / 2
) x;
ALTER TABLE bench.insert_src ADD PRIMARY KEY (i);
CREATE SEQUENCE bench.insert_seq;

-- ---------------------------------------------------------------------------------------------
-- Measures, used by the script after the load.

-- Pairs with one true entity (the injected duplicates) against the candidates and the sets of
-- workspace ws: "truth candidate_pairs candidate_tp set_pairs set_tp sets largest_set".
CREATE FUNCTION bench.synthetic_scores(ws bigint) RETURNS text LANGUAGE plpgsql
AS $$
DECLARE res text;
BEGIN
  CREATE TEMP TABLE s_set ON COMMIT DROP AS
    SELECT d.record_id, d.set_id FROM crm.duplicate_sets d WHERE d.workspace_id = ws AND d.kind = 'person';
  CREATE TEMP TABLE s_rec ON COMMIT DROP AS
    SELECT g.id AS record_id, g.entity, coalesce(s.set_id, -g.id) AS set_id
    FROM bench.gen_person g LEFT JOIN s_set s ON s.record_id = g.id;
  SELECT concat_ws(' ',
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM s_rec GROUP BY entity) x),
    (SELECT count(*) FROM crm.duplicate_candidate c WHERE c.workspace_id = ws AND c.kind = 'person' AND c.status = 'open'),
    (SELECT count(*) FROM crm.duplicate_candidate c JOIN bench.gen_person a ON a.id = c.record_id
       JOIN bench.gen_person b ON b.id = c.other_id
       WHERE c.workspace_id = ws AND c.kind = 'person' AND c.status = 'open' AND a.entity = b.entity),
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM s_rec GROUP BY set_id) x),
    (SELECT coalesce(sum(c * (c - 1) / 2), 0) FROM (SELECT count(*) AS c FROM s_rec GROUP BY set_id, entity) x),
    (SELECT count(DISTINCT set_id) FROM s_set),
    (SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM s_set GROUP BY set_id) x))
  INTO res;
  RETURN res;
END
$$;

-- Open candidates, kept to compare a scan with.
CREATE TABLE bench.cand_snapshot (tag text, record_id bigint, other_id bigint, score float8, status text);
CREATE FUNCTION bench.snapshot(p_tag text, ws bigint) RETURNS void LANGUAGE sql
AS $$
  DELETE FROM bench.cand_snapshot WHERE tag = p_tag;
  INSERT INTO bench.cand_snapshot
  SELECT p_tag, c.record_id, c.other_id, c.score, c.status FROM crm.duplicate_candidate c
  WHERE c.workspace_id = ws AND c.kind = 'person';
$$;
CREATE FUNCTION bench.compare_snapshot(p_tag text, ws bigint) RETURNS text LANGUAGE sql
AS $$
  WITH now_c AS (SELECT c.record_id, c.other_id, c.score, c.status FROM crm.duplicate_candidate c
                 WHERE c.workspace_id = ws AND c.kind = 'person'),
  was AS (SELECT record_id, other_id, score, status FROM bench.cand_snapshot WHERE tag = p_tag)
  SELECT format('%s pairs only before, %s only after, %s with another score (|diff| > 1e-9) or status',
    (SELECT count(*) FROM was w LEFT JOIN now_c c USING (record_id, other_id) WHERE c.record_id IS NULL),
    (SELECT count(*) FROM now_c c LEFT JOIN was w USING (record_id, other_id) WHERE w.record_id IS NULL),
    (SELECT count(*) FROM now_c c JOIN was w USING (record_id, other_id)
      WHERE abs(c.score - w.score) > 1e-9 OR c.status <> w.status));
$$;

-- find_duplicates on every probe, timed server-side (clock_timestamp() around the call, in one
-- plpgsql loop; the first p_warmup probes are called once untimed first). Whether the result
-- holds a record of the probe's entity is checked after the clock stops.
CREATE TABLE bench.probe_time (i int PRIMARY KEY, kind text, ms float8, results int, best float8, found boolean);
CREATE FUNCTION bench.time_probes(p_warmup int) RETURNS void LANGUAGE plpgsql
AS $$
DECLARE pr record; t0 timestamptz; t1 timestamptz; ids bigint[]; best float8;
BEGIN
  TRUNCATE bench.probe_time;
  FOR pr IN SELECT * FROM bench.probe ORDER BY i LIMIT p_warmup LOOP
    PERFORM count(*) FROM crm.find_duplicates('person', pr.rec, 10);
  END LOOP;
  FOR pr IN SELECT * FROM bench.probe ORDER BY i LOOP
    t0 := clock_timestamp();
    SELECT array_agg(f.record_id), max(f.score) INTO ids, best FROM crm.find_duplicates('person', pr.rec, 10) f;
    t1 := clock_timestamp();
    INSERT INTO bench.probe_time VALUES (pr.i, pr.kind, extract(epoch FROM t1 - t0) * 1000, coalesce(cardinality(ids), 0), best,
      EXISTS (SELECT FROM bench.gen_person g WHERE g.entity = pr.entity AND g.id = ANY (ids)));
  END LOOP;
END
$$;

-- Examples of disagreements with the synthetic labels: candidate pairs of two generated people
-- (highest scores first; some are people alike by chance) and injected duplicates not paired.
CREATE FUNCTION bench.person_line(id bigint) RETURNS text LANGUAGE sql STABLE
AS $$
  SELECT format('%s first=%s | last=%s | email=%s | emails=%s | phone=%s | street=%s | city=%s | postcode=%s | country=%s | dob=%s | company=%s',
                lpad(p.id::text, 8), p.first_name, p.last_name, p.email, p.emails, p.phone, p.street, p.city, p.postal_code,
                p.country, p.birth_date, p.company_id)
  FROM crm.person p WHERE p.id = person_line.id
$$;
CREATE FUNCTION bench.synthetic_examples(ws bigint, n int) RETURNS SETOF text LANGUAGE plpgsql
AS $$
DECLARE x record; i int := 0;
BEGIN
  RETURN NEXT format('== open candidates joining two different generated people (first %s, highest score first)', n);
  FOR x IN SELECT c.record_id, c.other_id, c.score, c.evidence FROM crm.duplicate_candidate c
           JOIN bench.gen_person a ON a.id = c.record_id JOIN bench.gen_person b ON b.id = c.other_id
           WHERE c.workspace_id = ws AND c.kind = 'person' AND c.status = 'open' AND a.entity <> b.entity
           ORDER BY c.score DESC, c.record_id, c.other_id LIMIT n LOOP
    i := i + 1;
    RETURN NEXT format('FP %s: score %s', i, round(x.score::numeric, 4));
    RETURN NEXT '  a ' || bench.person_line(x.record_id);
    RETURN NEXT '  b ' || bench.person_line(x.other_id);
    RETURN NEXT '  evidence: ' || x.evidence::text;
  END LOOP;
  i := 0;
  i := 0;
  RETURN NEXT format('== open candidates joining two different generated people (%s at random: the bulk of them)', n);
  FOR x IN SELECT c.record_id, c.other_id, c.score, c.evidence FROM crm.duplicate_candidate c
           JOIN bench.gen_person a ON a.id = c.record_id JOIN bench.gen_person b ON b.id = c.other_id
           WHERE c.workspace_id = ws AND c.kind = 'person' AND c.status = 'open' AND a.entity <> b.entity
           ORDER BY md5(c.record_id::text || '-' || c.other_id::text) LIMIT n LOOP
    i := i + 1;
    RETURN NEXT format('FP %s: score %s', i, round(x.score::numeric, 4));
    RETURN NEXT '  a ' || bench.person_line(x.record_id);
    RETURN NEXT '  b ' || bench.person_line(x.other_id);
    RETURN NEXT '  evidence: ' || x.evidence::text;
  END LOOP;
  i := 0;
  RETURN NEXT format('== injected duplicates not in an open candidate pair with their original (first %s)', n);
  FOR x IN SELECT o.id AS a, d.id AS b FROM bench.gen_person d JOIN bench.gen_person o ON o.entity = d.entity AND NOT o.dup
           WHERE d.dup AND NOT EXISTS (SELECT FROM crm.duplicate_candidate c WHERE c.kind = 'person' AND c.status = 'open'
                                         AND c.record_id = least(o.id, d.id) AND c.other_id = greatest(o.id, d.id))
           ORDER BY md5(d.id::text) LIMIT n LOOP
    i := i + 1;
    RETURN NEXT format('FN %s:', i);
    RETURN NEXT '  original  ' || bench.person_line(x.a);
    RETURN NEXT '  duplicate ' || bench.person_line(x.b);
  END LOOP;
END
$$;
