-- Writes the benchmark's activity as two CSV files (server side, as the server user), from
-- bench.rnd() only: the same bytes on every run. psql variables: clock, participants, members,
-- companies, per_company, dir.
--
-- Shape: emails (80 %) and meetings (20 %) over the two years before the clock, plus meetings up
-- to 60 days after it (15 % of the meetings of still-active companies). Each interaction has a
-- member as 'from' / 'organizer' and 1-5 others (mean ~2): 85 % people of one company, 10 %
-- unknown addresses at that company's domain (contact0..2@, no person: they resolve to the
-- company), 5 % other members. Every 20th person is sometimes written by the alternative address,
-- 5 % of the addresses in mixed case. 90 % of the companies have activity, 55 % of those up to
-- the clock, the others until some point in the two years; people within a company and companies
-- are picked with skew.
-- Interactions are numbered 1..N; the last one is cut so that there are exactly :participants rows.
SET client_min_messages = warning;
\set ifile :dir '/interaction.csv'
\set pfile :dir '/participant.csv'
\set rfile :dir '/participant_resolved.csv'

CREATE TABLE bench.gen_interaction AS
WITH sized AS (
  SELECT i, 1 + CASE WHEN r < .42 THEN 1 WHEN r < .72 THEN 2 WHEN r < .86 THEN 3 WHEN r < .95 THEN 4 ELSE 5 END AS total
  FROM generate_series(1, (:participants / 2)::int) i CROSS JOIN LATERAL (SELECT bench.rnd(i, 1) AS r) x
), placed AS (
  SELECT i, total, sum(total) OVER (ORDER BY i) - total AS start FROM sized
), base AS (
  SELECT i AS id, least(total, :participants - start)::int AS n,
         1 + floor(floor(:companies * 0.9) * bench.rnd(i, 2) ^ 1.6)::int AS company,
         1 + floor(:members * bench.rnd(i, 10) ^ 1.3)::int AS member,
         CASE WHEN bench.rnd(i, 6) < .2 THEN 'meeting' ELSE 'email' END AS kind
  FROM placed WHERE start < :participants
), timed AS (
  SELECT b.*, w.active,
         CASE WHEN b.kind = 'meeting' AND w.active AND bench.rnd(b.id, 7) < .15
              THEN date_trunc('second', :'clock'::timestamptz + interval '60 days' * bench.rnd(b.id, 8))
              ELSE date_trunc('second', w.first + (w.last - w.first) * bench.rnd(b.id, 5)) END AS occurred_at
  FROM base b
  CROSS JOIN LATERAL (SELECT bench.rnd(b.company, 3) < .55 AS active) a
  CROSS JOIN LATERAL (SELECT a.active, :'clock'::timestamptz - interval '730 days' AS first,
                             CASE WHEN a.active THEN :'clock'::timestamptz
                                  ELSE :'clock'::timestamptz - interval '730 days' * bench.rnd(b.company, 4) END AS last) w
)
SELECT id, n, company, member, kind, occurred_at,
       CASE WHEN kind = 'meeting' THEN occurred_at + interval '30 minutes' * (1 + (id % 2)) END AS ends_at,
       CASE WHEN kind = 'email' THEN 'confirmed'
            WHEN bench.rnd(id, 9) < .05 THEN 'canceled' WHEN bench.rnd(id, 9) < .10 THEN 'tentative'
            ELSE 'confirmed' END AS status
FROM timed;

CREATE TABLE bench.gen_participant AS
SELECT g.id AS interaction_id, j, g.kind,
       CASE WHEN j = 0 THEN 'member' WHEN r < .05 THEN 'member' WHEN r < .15 THEN 'unknown' ELSE 'person' END AS what,
       CASE WHEN j = 0 THEN g.member
            ELSE (g.member + floor((:members - 1) * bench.rnd(h, 12))::int) % :members + 1 END AS member,
       g.company,
       (g.company - 1) * :per_company
         + (floor(:per_company * bench.rnd(g.id, 14) ^ 1.8)::int + (j - 1) * 3) % :per_company + 1 AS person,
       h
FROM bench.gen_interaction g
CROSS JOIN LATERAL generate_series(0, g.n - 1) j
CROSS JOIN LATERAL (SELECT g.id * 8 + j AS h, bench.rnd(g.id * 8 + j, 11) AS r) x;

CREATE TABLE bench.gen_participant_row AS
SELECT interaction_id, j,
       CASE WHEN bench.rnd(h, 16) < .05 THEN initcap(a.address) ELSE a.address END AS address,
       CASE what WHEN 'member' THEN 'Member ' || member WHEN 'person' THEN 'Person ' || person END AS display_name,
       CASE WHEN kind = 'meeting' THEN CASE WHEN j = 0 THEN 'organizer' ELSE 'attendee' END
            WHEN j = 0 THEN 'from' WHEN j = 1 THEN 'to'
            WHEN bench.rnd(h, 17) < .03 THEN 'bcc' WHEN bench.rnd(h, 17) < .5 THEN 'to' ELSE 'cc' END AS role,
       CASE WHEN kind <> 'meeting' THEN NULL WHEN j = 0 THEN 'accepted'
            WHEN bench.rnd(h, 18) < .6 THEN 'accepted' WHEN bench.rnd(h, 18) < .7 THEN 'tentative'
            WHEN bench.rnd(h, 18) < .8 THEN 'declined' ELSE 'needs_action' END AS response,
       what, member, person, company
FROM bench.gen_participant
CROSS JOIN LATERAL (SELECT CASE
  WHEN what = 'member' AND member % 4 = 0 AND bench.rnd(h, 19) < .3 THEN 'm' || member || '@ourteam-mail.example'
  WHEN what = 'member' THEN 'member' || member || '@ourteam.example'
  WHEN what = 'unknown' THEN 'contact' || floor(3 * bench.rnd(h, 13))::int || '@company' || company || '.example'
  WHEN person % 20 = 0 AND bench.rnd(h, 15) < .3 THEN 'alt' || person || '@company' || company || '.example'
  ELSE 'p' || person || '@company' || company || '.example' END AS address) a;

COPY (SELECT id, 1, kind, occurred_at, ends_at,
             CASE kind WHEN 'email' THEN 'Re: proposal ' ELSE 'Meeting ' END || (id % 997),
             status,
             CASE kind WHEN 'email' THEN '<m' || id || '@mail.bench.example>' ELSE 'uid-' || id || '@cal.bench.example' END,
             CASE kind WHEN 'email' THEN 'thread-' || (id / 3) END,
             'bench'
      FROM bench.gen_interaction ORDER BY id) TO :'ifile' WITH (FORMAT csv);
COPY (SELECT interaction_id, 1, address, display_name, role, response
      FROM bench.gen_participant_row ORDER BY interaction_id, j) TO :'pfile' WITH (FORMAT csv);
-- The same rows as the participant trigger leaves them: canonical (lower-case) address, and the
-- member, person and company the address resolves to. For a baseline without the extension that
-- stores exactly what the extension stores (bench/signals_copy.sh, "OFF, pre-resolved").
COPY (SELECT interaction_id, 1, lower(address), display_name, role, response,
             CASE WHEN what = 'person' THEN person END, CASE WHEN what = 'member' THEN member END,
             CASE WHEN what <> 'member' THEN company END
      FROM bench.gen_participant_row ORDER BY interaction_id, j) TO :'rfile' WITH (FORMAT csv);

-- What was generated (printed by the caller's psql).
\pset format aligned
\pset footer off
\pset tuples_only off
SELECT count(*) AS interactions, count(*) FILTER (WHERE kind = 'email') AS emails,
       count(*) FILTER (WHERE kind = 'meeting') AS meetings,
       count(*) FILTER (WHERE occurred_at > :'clock'::timestamptz) AS future,
       min(occurred_at) AS first, max(occurred_at) AS last, min(n) AS min_participants, max(n) AS max_participants,
       count(DISTINCT company) AS companies_with_activity
FROM bench.gen_interaction;
SELECT count(*) AS participants, count(*) FILTER (WHERE what = 'member') AS members,
       count(*) FILTER (WHERE what = 'person') AS people, count(*) FILTER (WHERE what = 'unknown') AS unknown,
       count(DISTINCT lower(address)) AS distinct_addresses
FROM bench.gen_participant_row;
DROP TABLE bench.gen_participant, bench.gen_participant_row, bench.gen_interaction;
