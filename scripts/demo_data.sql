-- Demo workspace for crm_hygiene: a sales team of 20 at "OurCo" and two years of its email and
-- calendar activity with a few hundred companies, up to a fixed clock.
--
--   psql -X -v ON_ERROR_STOP=1 [-v clock='2026-11-20 09:00+00'] -f scripts/demo_data.sql
--
-- Plain SQL, no dependencies: every random choice comes from random() after setseed(), over
-- inputs in a fixed order, so each run produces the same workspace. Everything is staged in
-- temporary tables first; then the activity is written in batches, one transaction per batch
-- (interactions, then their participants, as a sync job would). Participants carry only their
-- address: the extension's triggers link them to members, people and companies. A few people
-- whose addresses already appear in the activity are created at the end (late linking).
\set ON_ERROR_STOP on
\set QUIET on
\if :{?clock}
\else
\set clock '2026-11-20 09:00+00'
\endif
SET crm.clock = :'clock';
SET timezone = 'UTC';
SET client_min_messages = warning;
-- Same plan, same order of random() calls, same data.
SET max_parallel_workers_per_gather = 0;
\pset tuples_only on
\pset format unaligned

CREATE TEMP TABLE s_started AS SELECT clock_timestamp() AS t;
SELECT setseed(0.20261120) \g /dev/null

-------------------------------------------------------------------------------------------------
-- Vocabulary
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_first AS
SELECT i::int AS i, n AS first_name FROM unnest(ARRAY[
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Daniel', 'Karen',
  'Lukas', 'Sophie', 'Jonas', 'Emma', 'Noah', 'Mia', 'Liam', 'Olivia', 'Mateo', 'Lucia',
  'Hugo', 'Chloe', 'Arjun', 'Priya', 'Wei', 'Mei', 'Kenji', 'Yuki', 'Omar', 'Layla',
  'Sven', 'Ingrid', 'Pierre', 'Camille', 'Diego', 'Sofia', 'Ethan', 'Hannah']) WITH ORDINALITY AS t(n, i);

CREATE TEMP TABLE s_last AS
SELECT i::int AS i, n AS last_name FROM unnest(ARRAY[
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Wilson', 'Anderson', 'Taylor', 'Thomas', 'Moore', 'Jackson', 'Martin', 'Lee', 'Thompson', 'White',
  'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Green',
  'Baker', 'Adams', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Dubois', 'Laurent', 'Bernard', 'Rossi',
  'Russo', 'Ferrari', 'Novak', 'Jensen', 'Hansen', 'Nielsen', 'Kowalski', 'Patel', 'Shah', 'Chen',
  'Wang', 'Tanaka', 'Sato', 'Kim', 'Park', 'Nakamura']) WITH ORDINALITY AS t(n, i);

CREATE TEMP TABLE s_location (i int, country text, region text, city text, tld text, phone text, postal text);
INSERT INTO s_location VALUES
  (1, 'United States', 'CA', 'San Francisco', 'com', '+1 415', '941'),
  (2, 'United States', 'NY', 'New York', 'com', '+1 212', '100'),
  (3, 'United States', 'TX', 'Austin', 'com', '+1 512', '787'),
  (4, 'United States', 'MA', 'Boston', 'com', '+1 617', '021'),
  (5, 'United States', 'IL', 'Chicago', 'com', '+1 312', '606'),
  (6, 'United States', 'WA', 'Seattle', 'com', '+1 206', '981'),
  (7, 'United Kingdom', 'England', 'London', 'co.uk', '+44 20', 'EC1A '),
  (8, 'Germany', 'Berlin', 'Berlin', 'de', '+49 30', '101'),
  (9, 'Canada', 'ON', 'Toronto', 'ca', '+1 416', 'M5V '),
  (10, 'France', 'Île-de-France', 'Paris', 'fr', '+33 1', '750'),
  (11, 'Netherlands', 'North Holland', 'Amsterdam', 'nl', '+31 20', '101'),
  (12, 'Germany', 'Bavaria', 'Munich', 'de', '+49 89', '803'),
  (13, 'United States', 'CO', 'Denver', 'com', '+1 303', '802'),
  (14, 'Ireland', 'Leinster', 'Dublin', 'ie', '+353 1', 'D02 '),
  (15, 'Sweden', 'Stockholm', 'Stockholm', 'se', '+46 8', '111'),
  (16, 'Spain', 'Catalonia', 'Barcelona', 'es', '+34 93', '080'),
  (17, 'Australia', 'NSW', 'Sydney', 'com.au', '+61 2', '200'),
  (18, 'Switzerland', 'Zurich', 'Zurich', 'ch', '+41 44', '80'),
  (19, 'Denmark', 'Capital Region', 'Copenhagen', 'dk', '+45 33', '12'),
  (20, 'Singapore', NULL, 'Singapore', 'sg', '+65 6', '01');

CREATE TEMP TABLE s_suffix (i int, suffix text, industry text, tech boolean);
INSERT INTO s_suffix VALUES
  (1, 'Logistics', 'Logistics & Supply Chain', false), (2, 'Health', 'Healthcare', false),
  (3, 'Capital', 'Financial Services', false), (4, 'Foods', 'Food & Beverage', false),
  (5, 'Energy', 'Energy', false), (6, 'Robotics', 'Industrial Automation', true),
  (7, 'Analytics', 'Software', true), (8, 'Labs', 'Biotech', true),
  (9, 'Systems', 'IT Services', true), (10, 'Media', 'Media', false),
  (11, 'Retail', 'Retail', false), (12, 'Insurance', 'Insurance', false),
  (13, 'Motors', 'Automotive', false), (14, 'Pharma', 'Pharmaceuticals', false),
  (15, 'Software', 'Software', true), (16, 'Networks', 'Telecommunications', true),
  (17, 'Consulting', 'Professional Services', false), (18, 'Materials', 'Manufacturing', false),
  (19, 'Travel', 'Travel & Hospitality', false), (20, 'Security', 'Cybersecurity', true),
  (21, 'Learning', 'Education', false), (22, 'Cloud', 'Software', true),
  (23, 'Freight', 'Logistics & Supply Chain', false), (24, 'Bank', 'Financial Services', false);

CREATE TEMP TABLE s_email_topic AS
SELECT i::int AS i, n AS topic FROM unnest(ARRAY[
  'Quick question', 'Following up', 'Proposal and next steps', 'Pricing for 2026', 'Renewal',
  'Intro: OurCo', 'Invoice and PO number', 'Notes from today''s call', 'Contract redlines',
  'Onboarding plan', 'Support ticket escalation', 'Security questionnaire', 'Reference customers',
  'Seats and licences', 'Integration questions', 'Agenda for next week', 'Case study draft',
  'Budget approval', 'Trial extension', 'Feature request']) WITH ORDINALITY AS t(n, i);

CREATE TEMP TABLE s_meeting_topic AS
SELECT i::int AS i, n AS topic FROM unnest(ARRAY[
  'Discovery call', 'Product demo', 'Quarterly business review', 'Kickoff', 'Pricing review',
  'Weekly check-in', 'Technical deep dive', 'Contract negotiation', 'Onboarding session',
  'Roadmap preview', 'Executive sync', 'Renewal discussion']) WITH ORDINALITY AS t(n, i);

-------------------------------------------------------------------------------------------------
-- The team
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_member AS
SELECT i::int AS idx, name,
       lower(split_part(name, ' ', 1) || '.' || split_part(name, ' ', 2)) || '@ourco.com' AS email,
       CASE WHEN i % 3 = 0 THEN ARRAY[lower(split_part(name, ' ', 1)) || '@ourco.com'] ELSE '{}'::text[] END AS aliases
FROM unnest(ARRAY[
  'Alice Moreau', 'Ben Carter', 'Chloe Nguyen', 'Daniel Okafor', 'Eva Lindqvist', 'Felix Braun',
  'Grace Liu', 'Hector Alvarez', 'Isla MacLeod', 'Jamal Wright', 'Kira Petrova', 'Leo Bianchi',
  'Maya Goldberg', 'Nils Eriksen', 'Olivia Brennan', 'Pablo Ortega', 'Quinn Harper', 'Rosa Delgado',
  'Sam Whitfield', 'Tara Singh']) WITH ORDINALITY AS t(name, i);

-------------------------------------------------------------------------------------------------
-- Companies: 420 of 30 x 24 possible names, each with an activity profile
--   hot 6%, active 24%, cooling 34% (silent for 3 to 16 months), light 16%, never contacted 20%
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_company AS
WITH combos AS MATERIALIZED (
  SELECT x.*, random() AS r
  FROM (SELECT p.prefix, p.pi, s.suffix, s.i AS si, s.industry, s.tech
        FROM unnest(ARRAY[
               'Northwind', 'Bluebird', 'Apex', 'Silverline', 'Greenfield', 'Brightwater', 'Ironbridge',
               'Pinecrest', 'Cedarwood', 'Nova', 'Summit', 'Harborview', 'Redwood', 'Lumen', 'Atlas',
               'Meridian', 'Crescent', 'Orbital', 'Granite', 'Falcon', 'Evergreen', 'Sterling', 'Horizon',
               'Quarry', 'Kestrel', 'Tidewater', 'Beacon', 'Aurora', 'Vertex', 'Willow'])
               WITH ORDINALITY AS p(prefix, pi)
        CROSS JOIN s_suffix s
        ORDER BY p.pi, s.i) x
), picked AS MATERIALIZED (
  SELECT row_number() OVER (ORDER BY r)::int AS idx, prefix, suffix, industry, tech
  FROM combos ORDER BY r LIMIT 420
), rolled AS MATERIALIZED (
  SELECT x.*, random() AS r_profile, random() AS r_loc, random() AS r_size, random() AS r_owner,
         random() AS r_second, random() AS r_pattern, random() AS r_tld, random() AS r_age,
         random() AS r_people, random() AS r_n, random() AS r_w1, random() AS r_w2,
         random() AS r_phone, random() AS r_street, random() AS r_future
  FROM (SELECT * FROM picked ORDER BY idx) x
), profiled AS (
  SELECT r.*,
         CASE WHEN r_profile < 0.06 THEN 'hot' WHEN r_profile < 0.30 THEN 'active'
              WHEN r_profile < 0.64 THEN 'cooling' WHEN r_profile < 0.80 THEN 'light' ELSE 'never' END AS profile,
         1 + floor(20 * power(r_loc, 1.6))::int AS loc
  FROM rolled r
)
SELECT p.idx, p.prefix || ' ' || p.suffix AS name,
       lower(p.prefix || p.suffix) || '.' || CASE WHEN p.tech AND p.r_tld < 0.5 THEN 'io' ELSE l.tld END AS domain,
       l.phone || ' ' || lpad(floor(p.r_phone * 9999999)::int::text, 7, '0') AS phone,
       (1 + floor(p.r_street * 480))::int || ' ' ||
         (ARRAY['Market Street', 'Main Street', 'Harbour Road', 'King Street', 'Station Road', 'Park Avenue',
                'Mill Lane', 'Church Street', 'Bridge Road', 'High Street'])[1 + floor(p.r_street * 4801)::int % 10] AS street,
       l.city, l.postal || lpad(floor(p.r_phone * 97)::int::text, 2, '0') AS postal_code, l.region, l.country,
       p.industry, (5 + exp(p.r_size * 8.5))::int AS employee_count,
       1 + floor(p.r_owner * 14)::int AS owner_idx,    -- account executives: members 1..14
       15 + floor(p.r_second * 6)::int AS second_idx,  -- solutions and success: members 15..20
       CASE WHEN p.r_pattern < 0.6 THEN 'first.last' WHEN p.r_pattern < 0.85 THEN 'flast' ELSE 'first' END AS email_pattern,
       p.profile,
       CASE p.profile WHEN 'hot' THEN 15 + floor(p.r_people * 25) WHEN 'active' THEN 8 + floor(p.r_people * 12)
                      WHEN 'cooling' THEN 4 + floor(p.r_people * 8) WHEN 'light' THEN 1 + floor(p.r_people * 4)
                      ELSE 1 + floor(p.r_people * 5) END::int AS npeople,
       CASE p.profile WHEN 'hot' THEN 250 + floor(p.r_n * 350) WHEN 'active' THEN 50 + floor(p.r_n * 110)
                      WHEN 'cooling' THEN 35 + floor(p.r_n * 70) WHEN 'light' THEN 2 + floor(p.r_n * 12)
                      ELSE 0 END::int AS n_ix,
       -- the window of activity, in days before the clock
       CASE p.profile WHEN 'hot' THEN 600 + p.r_w1 * 130 WHEN 'active' THEN 300 + p.r_w1 * 430
                      WHEN 'cooling' THEN least(730, 92 + p.r_w2 * 400 + 90 + p.r_w1 * 360)
                      ELSE 730 END AS start_days,
       CASE p.profile WHEN 'hot' THEN p.r_w2 * 2 WHEN 'active' THEN power(p.r_w2, 2) * 75
                      WHEN 'cooling' THEN 92 + p.r_w2 * 400 ELSE 1 END AS end_days,
       CASE p.profile WHEN 'hot' THEN 0.6 ELSE 1.0 END AS shape,  -- < 1: busier towards the clock
       CASE p.profile WHEN 'hot' THEN 0.22 WHEN 'light' THEN 0.3 ELSE 0.18 END AS meeting_share,
       CASE WHEN p.profile = 'hot' THEN 4 + floor(p.r_future * 9)
            WHEN p.profile = 'active' AND power(p.r_w2, 2) * 75 < 21 THEN floor(p.r_future * 4)
            ELSE 0 END::int AS n_future,
       :'clock'::timestamptz - (760 + p.r_age * 900) * interval '1 day' AS created_at
FROM profiled p JOIN s_location l ON l.i = p.loc
ORDER BY p.idx;

ANALYZE s_company;
DO $$ BEGIN
  IF (SELECT count(DISTINCT domain) FROM s_company) <> (SELECT count(*) FROM s_company) THEN
    RAISE EXCEPTION 'demo data: company domains are not unique';
  END IF;
END $$;

-------------------------------------------------------------------------------------------------
-- People: per company, a pool of contacts. 'late' ones appear in the activity and are created
-- only at the end; 'ghost' ones appear in the activity and are never created.
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_person_raw AS
SELECT c.idx AS company_idx, g.rn,
       1 + floor(random() * 48)::int AS fi, 1 + floor(random() * 56)::int AS li,
       random() AS r_kind, random() AS r_extra, random() AS r_num, random() AS r_title, random() AS r_stage,
       random() AS r_age
FROM (SELECT idx, npeople FROM s_company ORDER BY idx) c
CROSS JOIN LATERAL generate_series(1, c.npeople) AS g(rn)
ORDER BY c.idx, g.rn;
ANALYZE s_person_raw;

CREATE TEMP TABLE s_person AS
WITH named AS (
  SELECT r.*, f.first_name, l.last_name, c.domain, c.profile, c.created_at AS company_created_at,
         CASE c.email_pattern WHEN 'first.last' THEN lower(f.first_name || '.' || l.last_name)
                              WHEN 'flast' THEN lower(left(f.first_name, 1) || l.last_name)
                              ELSE lower(f.first_name) END AS local
  FROM s_person_raw r
  JOIN s_company c ON c.idx = r.company_idx
  JOIN s_first f ON f.i = r.fi
  JOIN s_last l ON l.i = r.li
), numbered AS (
  SELECT n.*, row_number() OVER (PARTITION BY company_idx, local ORDER BY rn) AS dup FROM named n
)
SELECT company_idx, rn, first_name, last_name,
       local || CASE WHEN dup > 1 THEN dup::text ELSE '' END || '@' || domain AS email,
       CASE WHEN r_extra < 0.07
            THEN ARRAY[lower(first_name || '.' || last_name) || (10 + floor(r_num * 89))::int || '@'
                       || (ARRAY['gmail.com', 'outlook.com', 'icloud.com'])[1 + floor(r_num * 300)::int % 3]]
            ELSE '{}'::text[] END AS emails,
       CASE WHEN profile <> 'never' AND r_kind < 0.01 THEN 'late'
            WHEN profile <> 'never' AND r_kind < 0.035 THEN 'ghost' ELSE 'person' END AS kind,
       (ARRAY['CEO', 'CTO', 'COO', 'VP Sales', 'VP Engineering', 'Head of Operations', 'Procurement Manager',
              'Engineering Manager', 'Product Manager', 'Finance Director', 'IT Director', 'Data Analyst',
              'Marketing Lead', 'Office Manager', 'Software Engineer', 'Legal Counsel'])[1 + floor(power(r_title, 0.7) * 16)::int] AS title,
       CASE WHEN profile IN ('hot', 'active') THEN CASE WHEN r_stage < 0.7 THEN 'customer' ELSE 'opportunity' END
            WHEN profile = 'cooling' THEN CASE WHEN r_stage < 0.5 THEN 'customer' ELSE 'lead' END
            ELSE CASE WHEN r_stage < 0.6 THEN 'lead' ELSE 'subscriber' END END AS lifecycle_stage,
       company_created_at + r_age * interval '200 days' AS created_at
FROM numbered
ORDER BY company_idx, rn;
ANALYZE s_person;

-- People without a company: free-mail addresses (some never become people).
CREATE TEMP TABLE s_free AS
WITH raw AS (
  SELECT g AS idx, 1 + floor(random() * 48)::int AS fi, 1 + floor(random() * 56)::int AS li,
         random() AS r_num, random() AS r_domain, random() AS r_kind, random() AS r_n, random() AS r_member
  FROM generate_series(1, 140) AS g
)
SELECT DISTINCT ON (email) r.idx, f.first_name, l.last_name,
       lower(f.first_name || '.' || l.last_name) || (10 + floor(r.r_num * 89))::int || '@'
         || (ARRAY['gmail.com', 'outlook.com', 'yahoo.com', 'proton.me', 'hotmail.com'])[1 + floor(r.r_domain * 5)::int] AS email,
       CASE WHEN r.r_kind < 0.15 THEN 'ghost' ELSE 'person' END AS kind,
       floor(power(r.r_n, 2) * 24)::int AS n_ix,
       1 + floor(r.r_member * 20)::int AS member_idx
FROM raw r JOIN s_first f ON f.i = r.fi JOIN s_last l ON l.i = r.li
ORDER BY email, r.idx;
ANALYZE s_free;

-------------------------------------------------------------------------------------------------
-- Interactions, past (per company and per free-mail contact) and upcoming
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_ix_raw AS
SELECT 'c' AS src, c.idx AS company_idx, NULL::int AS free_idx, g.k, c.npeople,
       c.start_days, c.end_days, c.shape, c.meeting_share, c.owner_idx, c.second_idx, false AS future,
       random() AS r_t, random() AS r_kind, random() AS r_hour, random() AS r_min, random() AS r_len,
       random() AS r_status, random() AS r_dir, random() AS r_member, random() AS r_m2, random() AS r_coll,
       random() AS r_nc, random() AS r_topic, random() AS r_re
FROM (SELECT * FROM s_company WHERE n_ix > 0 ORDER BY idx) c
CROSS JOIN LATERAL generate_series(1, c.n_ix) AS g(k)
UNION ALL
SELECT 'u', c.idx, NULL, g.k, c.npeople,
       -42, 0, 1.0, 1.0, c.owner_idx, c.second_idx, true,
       random(), random(), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random(), random()
FROM (SELECT * FROM s_company WHERE n_future > 0 ORDER BY idx) c
CROSS JOIN LATERAL generate_series(1, c.n_future) AS g(k)
UNION ALL
SELECT 'f', NULL, f.idx, g.k, 1,
       730, 1, 1.0, 0.08, f.member_idx, 1 + (f.member_idx + 6) % 20, false,
       random(), random(), random(), random(), random(), random(), random(), random(), random(),
       random(), random(), random(), random()
FROM (SELECT * FROM s_free WHERE n_ix > 0 ORDER BY idx) f
CROSS JOIN LATERAL generate_series(1, f.n_ix) AS g(k);

CREATE TEMP TABLE s_ix AS
WITH timed AS (
  SELECT r.*,
         CASE WHEN r.r_kind < r.meeting_share THEN 'meeting' ELSE 'email' END AS kind,
         date_trunc('day', :'clock'::timestamptz
                    - (r.start_days - (r.start_days - r.end_days) * power(r.r_t, r.shape)) * interval '1 day') AS day0
  FROM s_ix_raw r
), dated AS (
  SELECT t.*,
         -- weekends move to the Friday before (upcoming meetings: to the Monday after)
         t.day0 + CASE WHEN extract(isodow FROM t.day0) > 5
                       THEN CASE WHEN t.future THEN 8 - extract(isodow FROM t.day0) ELSE 5 - extract(isodow FROM t.day0) END
                       ELSE 0 END * interval '1 day' AS day
  FROM timed t
), placed AS (
  SELECT d.*,
         CASE WHEN d.kind = 'email'
              THEN date_trunc('minute', d.day + interval '7 hours' + d.r_hour * interval '11 hours')
              ELSE d.day + (8 + floor(d.r_hour * 9)) * interval '1 hour' + floor(d.r_min * 2) * interval '30 minutes'
         END AS at0
  FROM dated d
), clocked AS (
  SELECT p.*,
         CASE WHEN NOT p.future AND p.at0 >= :'clock'::timestamptz THEN p.at0 - interval '1 day'
              WHEN p.future AND p.at0 <= :'clock'::timestamptz THEN p.at0 + interval '3 days'
              ELSE p.at0 END AS occurred_at
  FROM placed p
)
SELECT row_number() OVER (ORDER BY occurred_at, src, company_idx, free_idx, k) AS n,
       src, company_idx, free_idx, k, npeople, future, kind::crm.interaction_kind AS kind, occurred_at,
       CASE WHEN kind = 'meeting' THEN occurred_at + (ARRAY[30, 30, 45, 60, 60, 90])[1 + floor(r_len * 6)::int] * interval '1 minute' END AS ends_at,
       CASE WHEN kind = 'meeting' AND r_status < CASE WHEN future THEN 0.05 ELSE 0.03 END THEN 'canceled'
            WHEN kind = 'meeting' AND future AND r_status < 0.15 THEN 'tentative'
            ELSE 'confirmed' END::crm.interaction_status AS status,
       -- emails: the member sent it (outbound) or received it; meetings: the member organised it
       r_dir < CASE WHEN kind = 'email' THEN 0.55 ELSE 0.75 END AS outbound,
       CASE WHEN r_member < 0.7 THEN owner_idx WHEN r_member < 0.9 THEN second_idx ELSE 1 + floor(r_m2 * 20)::int END AS member_idx,
       CASE WHEN r_coll < CASE WHEN kind = 'email' THEN 0.15 ELSE 0.35 END
            THEN CASE WHEN r_member < 0.7 THEN second_idx ELSE owner_idx END END AS colleague_idx,
       CASE WHEN src = 'f' THEN 1
            WHEN kind = 'email' THEN 1 + (r_nc > 0.6)::int + (r_nc > 0.85)::int
            ELSE 1 + floor(power(r_nc, 2) * 4)::int END AS ncontacts,
       r_topic, r_re
FROM clocked;

UPDATE s_ix x SET colleague_idx = NULL WHERE colleague_idx = member_idx;
-- One upcoming meeting per company and start time.
DELETE FROM s_ix a USING s_ix b
WHERE a.src = 'u' AND b.src = 'u' AND a.company_idx = b.company_idx AND a.occurred_at = b.occurred_at AND a.n > b.n;

ALTER TABLE s_ix ADD COLUMN subject text, ADD COLUMN thread_key text, ADD COLUMN external_id text,
  ADD COLUMN source text, ADD COLUMN batch int;
UPDATE s_ix x SET
  subject = CASE WHEN x.kind = 'email'
                 THEN CASE WHEN x.r_re < 0.45 THEN 'Re: ' ELSE '' END || e.topic
                 ELSE m.topic END,
  thread_key = CASE WHEN x.kind = 'email'
                    THEN format('%s%s-%s-%s', x.src, coalesce(x.company_idx, x.free_idx), e.i, to_char(x.occurred_at, 'YYYYMM')) END,
  external_id = CASE WHEN x.kind = 'email'
                     THEN format('<%s.%s.%s@mail.ourco.com>', x.src, coalesce(x.company_idx, x.free_idx), x.k)
                     ELSE format('%s-%s-%s@calendar.ourco.com', x.src, coalesce(x.company_idx, x.free_idx), x.k) END,
  source = CASE WHEN x.kind = 'email' THEN 'gmail' ELSE 'google-calendar' END,
  batch = 1 + (x.n - 1) / 5000
FROM s_email_topic e, s_meeting_topic m
WHERE e.i = 1 + floor(x.r_topic * 20)::int AND m.i = 1 + floor(x.r_topic * 12)::int;
ANALYZE s_ix;

-------------------------------------------------------------------------------------------------
-- Participants: the member, perhaps a colleague, and one or more contacts
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_contact_slot AS
SELECT x.n, s.slot, CASE WHEN x.src = 'f' THEN -x.free_idx ELSE x.company_idx END AS grp,
       1 + floor(x.npeople * power(random(), 1.8))::int AS pick,
       random() AS r_addr, random() AS r_role, random() AS r_resp
FROM (SELECT n, src, company_idx, free_idx, npeople, ncontacts FROM s_ix ORDER BY n) x
CROSS JOIN LATERAL generate_series(1, x.ncontacts) AS s(slot);
ANALYZE s_contact_slot;

-- Everyone who can take part, by group (a company, or minus a free-mail contact) and number.
CREATE TEMP TABLE s_pool AS
SELECT company_idx AS grp, rn, email, emails, first_name, last_name FROM s_person
UNION ALL
SELECT -idx, 1, email, '{}', first_name, last_name FROM s_free;
ANALYZE s_pool;

CREATE TEMP TABLE s_member_pick AS
SELECT n, random() AS r_alias, random() AS r_resp, random() AS r_alias2, random() AS r_resp2
FROM (SELECT n FROM s_ix ORDER BY n) x;
ANALYZE s_member_pick;

CREATE TEMP TABLE s_part AS
-- the member
SELECT x.n, 0 AS ord,
       CASE WHEN m.aliases <> '{}' AND r.r_alias < 0.2 THEN m.aliases[1] ELSE m.email END AS address,
       m.name AS display_name,
       CASE WHEN x.kind = 'email' THEN CASE WHEN x.outbound THEN 'from' ELSE 'to' END
            ELSE CASE WHEN x.outbound THEN 'organizer' ELSE 'attendee' END END::crm.participant_role AS role,
       CASE WHEN x.kind = 'meeting'
            THEN CASE WHEN x.outbound THEN 'accepted'
                      WHEN x.future AND r.r_resp < 0.3 THEN 'needs_action' ELSE 'accepted' END END::crm.participant_response AS response
FROM s_ix x JOIN s_member_pick r USING (n) JOIN s_member m ON m.idx = x.member_idx
UNION ALL
-- a colleague in cc or invited too
SELECT x.n, 1, CASE WHEN m.aliases <> '{}' AND r.r_alias2 < 0.2 THEN m.aliases[1] ELSE m.email END, m.name,
       CASE WHEN x.kind = 'email' THEN 'cc' ELSE 'attendee' END::crm.participant_role,
       CASE WHEN x.kind = 'meeting'
            THEN CASE WHEN r.r_resp2 < 0.08 THEN 'declined' WHEN x.future AND r.r_resp2 < 0.4 THEN 'needs_action'
                      ELSE 'accepted' END END::crm.participant_response
FROM s_ix x JOIN s_member_pick r USING (n) JOIN s_member m ON m.idx = x.colleague_idx
UNION ALL
-- the contacts: the first one sent or organised it when the member did not
SELECT c.n, 1 + c.slot,
       CASE WHEN c.r_addr < 0.15 AND ct.emails <> '{}' THEN ct.emails[1]
            WHEN c.r_addr > 0.96 THEN initcap(ct.email) ELSE ct.email END,
       ct.first_name || ' ' || ct.last_name,
       CASE WHEN x.kind = 'email'
            THEN CASE WHEN c.slot = 1 THEN CASE WHEN x.outbound THEN 'to' ELSE 'from' END
                      WHEN x.outbound AND c.r_role < 0.5 THEN 'to' ELSE 'cc' END
            ELSE CASE WHEN c.slot = 1 AND NOT x.outbound THEN 'organizer' ELSE 'attendee' END END::crm.participant_role,
       CASE WHEN x.kind = 'meeting'
            THEN CASE WHEN c.slot = 1 AND NOT x.outbound THEN 'accepted'
                      WHEN x.future THEN CASE WHEN c.r_resp < 0.45 THEN 'needs_action' WHEN c.r_resp < 0.9 THEN 'accepted'
                                              WHEN c.r_resp < 0.95 THEN 'tentative' ELSE 'declined' END
                      ELSE CASE WHEN c.r_resp < 0.05 THEN 'declined' WHEN c.r_resp < 0.08 THEN 'tentative'
                                ELSE 'accepted' END END END::crm.participant_response
FROM (SELECT DISTINCT ON (n, pick) * FROM s_contact_slot ORDER BY n, pick, slot) c
JOIN s_ix x USING (n)
JOIN s_pool ct ON ct.grp = c.grp AND ct.rn = c.pick;
ANALYZE s_part;

-------------------------------------------------------------------------------------------------
-- Records
-------------------------------------------------------------------------------------------------
SELECT format('staged in %ss: %s companies, %s people (+%s created late), %s interactions, %s participants',
              round(extract(epoch FROM clock_timestamp() - t)::numeric, 1),
              (SELECT count(*) FROM s_company),
              (SELECT count(*) FROM s_person WHERE kind = 'person') + (SELECT count(*) FROM s_free WHERE kind = 'person'),
              (SELECT count(*) FROM s_person WHERE kind = 'late'),
              (SELECT count(*) FROM s_ix), (SELECT count(*) FROM s_part))
FROM s_started;

BEGIN;
INSERT INTO crm.member (email, aliases, name, created_at)
SELECT email, aliases, name, :'clock'::timestamptz - interval '3 years' FROM s_member ORDER BY idx;

INSERT INTO crm.company (name, domain, phone, street, city, postal_code, region, country, industry,
                         employee_count, owner_member_id, created_at, updated_at)
SELECT c.name, c.domain, c.phone, c.street, c.city, c.postal_code, c.region, c.country, c.industry,
       c.employee_count, m.id, c.created_at, c.created_at
FROM s_company c JOIN s_member sm ON sm.idx = c.owner_idx JOIN crm.member m ON m.email = sm.email
ORDER BY c.idx;

INSERT INTO crm.person (company_id, first_name, last_name, email, emails, title, lifecycle_stage,
                        owner_member_id, created_at, updated_at)
SELECT co.id, p.first_name, p.last_name, p.email, p.emails, p.title, p.lifecycle_stage, co.owner_member_id,
       p.created_at, p.created_at
FROM s_person p JOIN s_company c ON c.idx = p.company_idx JOIN crm.company co ON co.domain = c.domain
WHERE p.kind = 'person'
ORDER BY p.company_idx, p.rn;

INSERT INTO crm.person (first_name, last_name, email, lifecycle_stage, created_at, updated_at)
SELECT first_name, last_name, email, 'lead', :'clock'::timestamptz - interval '400 days',
       :'clock'::timestamptz - interval '400 days'
FROM s_free
WHERE kind = 'person' ORDER BY idx;
COMMIT;

SELECT format('records loaded at %ss', round(extract(epoch FROM clock_timestamp() - t)::numeric, 1)) FROM s_started;

-------------------------------------------------------------------------------------------------
-- Activity, one transaction per batch of 5000 interactions
-------------------------------------------------------------------------------------------------
SELECT 'BEGIN',
       format($q$INSERT INTO crm.interaction (kind, occurred_at, ends_at, subject, status, external_id, thread_key, source, created_at)
                 SELECT kind, occurred_at, ends_at, subject, status, external_id, thread_key, source,
                        CASE WHEN future THEN %L::timestamptz ELSE occurred_at END
                 FROM s_ix WHERE batch = %s ORDER BY n$q$, :'clock', b),
       format($q$INSERT INTO crm.participant (interaction_id, address, display_name, role, response)
                 SELECT i.id, p.address, p.display_name, p.role, p.response
                 FROM s_part p JOIN s_ix x USING (n)
                 JOIN crm.interaction i ON i.workspace_id = crm.current_workspace() AND i.external_id = x.external_id
                 WHERE x.batch = %s ORDER BY p.n, p.ord$q$, b),
       'COMMIT',
       format($q$SELECT format('batch %%s/%%s: %%s interactions, %%s participants, at %%ss', %s, %s,
                               (SELECT count(*) FROM s_ix WHERE batch = %s),
                               (SELECT count(*) FROM s_part JOIN s_ix USING (n) WHERE batch = %s),
                               round(extract(epoch FROM clock_timestamp() - t)::numeric, 1)) FROM s_started$q$,
              b, nb, b, b)
FROM (SELECT max(batch) AS nb FROM s_ix) m, generate_series(1, m.nb) AS b
ORDER BY b
\gexec

-------------------------------------------------------------------------------------------------
-- Late linking: people who were already in the activity are created now; their past activity
-- becomes theirs at once.
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_late_before AS
SELECT count(*) AS unlinked FROM crm.participant pa
JOIN s_person sp ON sp.kind = 'late' AND pa.address = ANY (sp.emails || sp.email)
WHERE pa.person_id IS NULL;

BEGIN;
INSERT INTO crm.person (company_id, first_name, last_name, email, emails, title, lifecycle_stage,
                        owner_member_id, created_at, updated_at)
SELECT co.id, p.first_name, p.last_name, p.email, p.emails, p.title, p.lifecycle_stage, co.owner_member_id,
       :'clock'::timestamptz - interval '1 day', :'clock'::timestamptz - interval '1 day'
FROM s_person p JOIN s_company c ON c.idx = p.company_idx JOIN crm.company co ON co.domain = c.domain
WHERE p.kind = 'late'
ORDER BY p.company_idx, p.rn;
COMMIT;

SELECT format('late linking: %s people created after their activity; %s of their %s participations were unlinked before, %s are linked now, at %ss',
              (SELECT count(*) FROM s_person WHERE kind = 'late'),
              b.unlinked,
              (SELECT count(*) FROM crm.participant pa JOIN s_person sp ON sp.kind = 'late'
                 AND pa.address = ANY (sp.emails || sp.email)),
              (SELECT count(*) FROM crm.participant pa JOIN crm.person pe ON pe.id = pa.person_id
                 JOIN s_person sp ON sp.kind = 'late' AND sp.email = pe.email),
              round(extract(epoch FROM clock_timestamp() - s.t)::numeric, 1))
FROM s_late_before b, s_started s;

-------------------------------------------------------------------------------------------------
-- A trade-show list imported on top: some of its people and companies are already in the CRM,
-- written differently (a nickname, a typo, another address, the legal name). The duplicate
-- trigger compares each new record with its block and records the probable duplicates.
-------------------------------------------------------------------------------------------------
CREATE TEMP TABLE s_nickname (given text PRIMARY KEY, nickname text);
INSERT INTO s_nickname VALUES ('Robert', 'Bob'), ('William', 'Bill'), ('Elizabeth', 'Liz'),
  ('James', 'Jim'), ('Michael', 'Mike'), ('Katherine', 'Kate'), ('Jennifer', 'Jen'),
  ('Richard', 'Dick'), ('Thomas', 'Tom'), ('Margaret', 'Peggy'), ('Daniel', 'Dan'),
  ('Christopher', 'Chris'), ('Joseph', 'Joe'), ('Patricia', 'Pat'), ('Susan', 'Sue');

BEGIN;
-- Every 41st person again: a nickname or the same name, the work address in capitals or a
-- personal Gmail address with dots, and for some a surname with two letters swapped.
INSERT INTO crm.person (company_id, first_name, last_name, email, lifecycle_stage, created_at, updated_at)
SELECT p.company_id,
       CASE WHEN p.id % 3 = 0 THEN coalesce(n.nickname, p.first_name) ELSE p.first_name END,
       CASE WHEN p.id % 2 = 0 AND length(p.last_name) > 4
            THEN left(p.last_name, 2) || substr(p.last_name, 4, 1) || substr(p.last_name, 3, 1) || substr(p.last_name, 5)
            ELSE p.last_name END,
       CASE WHEN p.id % 5 < 3 THEN upper(p.email)
            ELSE lower(p.first_name) || '.' || lower(p.last_name) || '@gmail.com' END,
       'lead', :'clock'::timestamptz - interval '2 days', :'clock'::timestamptz - interval '2 days'
FROM crm.person p LEFT JOIN s_nickname n ON n.given = p.first_name
WHERE p.id % 41 = 0 AND p.company_id IS NOT NULL
ORDER BY p.id;

-- Every 50th company again, under its legal name and with its web address as the domain.
INSERT INTO crm.company (name, domain, city, country, created_at, updated_at)
SELECT 'The ' || c.name || ', Inc.', 'https://www.' || c.domain || '/', c.city, c.country,
       :'clock'::timestamptz - interval '2 days', :'clock'::timestamptz - interval '2 days'
FROM crm.company c WHERE c.id % 50 = 0 ORDER BY c.id;
COMMIT;

SELECT format('trade-show import: %s people and %s companies added, %s of them flagged as probable duplicates as they were written; %s open pairs in all, at %ss',
              (SELECT count(*) FROM crm.person WHERE created_at = :'clock'::timestamptz - interval '2 days'),
              (SELECT count(*) FROM crm.company WHERE created_at = :'clock'::timestamptz - interval '2 days'),
              (SELECT count(DISTINCT r.id) FROM (
                 SELECT p.id FROM crm.person p JOIN crm.duplicate_candidate d ON d.kind = 'person'
                   AND d.other_id = p.id AND d.status = 'open'
                 WHERE p.created_at = :'clock'::timestamptz - interval '2 days'
                 UNION ALL
                 SELECT c.id FROM crm.company c JOIN crm.duplicate_candidate d ON d.kind = 'company'
                   AND d.other_id = c.id AND d.status = 'open'
                 WHERE c.created_at = :'clock'::timestamptz - interval '2 days') r),
              (SELECT count(*) FROM crm.duplicate_candidate WHERE status = 'open'),
              round(extract(epoch FROM clock_timestamp() - t)::numeric, 1))
FROM s_started;

ANALYZE crm.member, crm.company, crm.person, crm.interaction, crm.participant,
        crm.person_signal, crm.company_signal;

SELECT format('demo data loaded in %ss', round(extract(epoch FROM clock_timestamp() - t)::numeric, 1)) FROM s_started;
