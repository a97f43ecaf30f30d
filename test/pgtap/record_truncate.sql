-- TRUNCATE of people, companies or members keeps derived state exact: the participants that
-- linked to the removed records are resolved again, their signal, address book and connection rows
-- go, and the same ids can be written again (a TRUNCATE of people used to leave person_signal
-- behind, and re-inserting person 9301 failed with 23505).
BEGIN;
SELECT plan(10);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
SET LOCAL crm.workspace = 93;
INSERT INTO crm.workspace (id, name) VALUES (93, 'truncate');
INSERT INTO crm.member (id, email) VALUES (9311, 'me@us93.example');
INSERT INTO crm.company (id, name, domain) VALUES (9321, 'Wonka', 'wonka93.example');
INSERT INTO crm.person (id, first_name, last_name, email, company_id)
VALUES (9301, 'Charlie', 'Bucket', 'charlie@wonka93.example', 9321),
       (9302, 'Violet', 'Beauregarde', 'violet@gum93.example', NULL);
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9331, 'email', '2026-06-01'), (9332, 'meeting', '2026-06-20');
INSERT INTO crm.participant (interaction_id, address, role)
VALUES (9331, 'me@us93.example', 'from'), (9331, 'charlie@wonka93.example', 'to'),
       (9331, 'violet@gum93.example', 'cc'), (9331, 'oompa@wonka93.example', 'cc'),
       (9332, 'me@us93.example', 'organizer'), (9332, 'charlie@wonka93.example', 'attendee');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty before');

TRUNCATE crm.person;
SELECT is((SELECT count(*) FROM crm.participant WHERE person_id IS NOT NULL), 0::bigint,
          'no participant links to a truncated person');
SELECT is((SELECT company_id FROM crm.participant WHERE address = 'charlie@wonka93.example' LIMIT 1), 9321::bigint,
          'a former person''s participant falls back to the company owning its domain');
SELECT is((SELECT count(*) FROM crm.person_signal) + (SELECT count(*) FROM crm.record_address WHERE person_id IS NOT NULL)
          + (SELECT count(*) FROM crm.connection WHERE person_id IS NOT NULL), 0::bigint,
          'no signal, address book or connection row of a person is left');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after TRUNCATE crm.person');

INSERT INTO crm.person (id, first_name, last_name, email) VALUES (9301, 'Charlie', 'Bucket', 'charlie@wonka93.example');
SELECT is((SELECT count(*) FROM crm.participant WHERE person_id = 9301), 2::bigint,
          'the same id can be written again, and its participants link to it');

TRUNCATE crm.company CASCADE;  -- people reference companies: they go too
SELECT is((SELECT count(*) FROM crm.participant WHERE company_id IS NOT NULL OR person_id IS NOT NULL), 0::bigint,
          'no participant links to a truncated company');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after TRUNCATE crm.company');

TRUNCATE crm.member CASCADE;
SELECT is((SELECT count(*) FROM crm.participant WHERE member_id IS NOT NULL), 0::bigint,
          'no participant links to a truncated member');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty after TRUNCATE crm.member');

SELECT * FROM finish();
ROLLBACK;
