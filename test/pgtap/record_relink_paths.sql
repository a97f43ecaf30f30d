-- The record triggers (crm._record_relink, C++): a statement that changes no address, domain or
-- company relinks nothing (it does not even read a participant); one that does relinks exactly
-- the participants it can affect, also when changed and unchanged rows share a statement.
BEGIN;
SELECT plan(13);
SET LOCAL crm.workspace = 91;
INSERT INTO crm.workspace (id, name) VALUES (91, 'relink paths');
INSERT INTO crm.company (id, name, domain) VALUES (9101, 'Umbrella', 'umbrella91.example'),
                                                  (9102, 'Initrode', 'initrode91.example');
INSERT INTO crm.person (id, first_name, last_name, email, company_id)
VALUES (9111, 'Alys', 'Grey', 'alys@umbrella91.example', 9101),
       (9112, 'Bryn', 'Hale', 'bryn@umbrella91.example', 9101);
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (9121, 'email', '2026-03-01');
INSERT INTO crm.participant (interaction_id, address, role)
VALUES (9121, 'alys@umbrella91.example', 'from'), (9121, 'bryn@umbrella91.example', 'to'),
       (9121, 'ceri@umbrella91.example', 'cc'), (9121, 'dai@initrode91.example', 'cc');

-- Participant rows read (by index or scan) and updated so far in this transaction.
CREATE FUNCTION pg_temp.participants_read() RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_stat_get_xact_tuples_fetched('crm.participant'::regclass)
         + pg_stat_get_xact_tuples_returned('crm.participant'::regclass) $$;
CREATE FUNCTION pg_temp.participants_updated() RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_stat_get_xact_tuples_updated('crm.participant'::regclass) $$;
CREATE FUNCTION pg_temp.link(addr text) RETURNS text LANGUAGE sql AS $$
  SELECT concat_ws('/', 'person ' || person_id, 'member ' || member_id, 'company ' || company_id)
  FROM crm.participant WHERE address = addr $$;
CREATE TEMP TABLE seen AS SELECT pg_temp.participants_read() AS read, pg_temp.participants_updated() AS updated;

UPDATE crm.person SET title = 'Dr.', phone = '+441234567890' WHERE id IN (9111, 9112);
SELECT is(pg_temp.participants_read() - (SELECT read FROM seen), 0::bigint,
          'an update of a title and a phone reads no participant');
UPDATE crm.company SET name = 'Umbrella Corp' WHERE id = 9101;
SELECT is(pg_temp.participants_read() - (SELECT read FROM seen), 0::bigint,
          'nor does a company''s new name');
UPDATE crm.person SET emails = emails WHERE id = 9111;
SELECT is(pg_temp.participants_read() - (SELECT read FROM seen), 0::bigint,
          'nor an address list written back unchanged');

-- One statement: Alys moves company, Bryn only gets a title.
UPDATE crm.person SET company_id = CASE WHEN id = 9111 THEN 9102 ELSE company_id END, title = 'Ms.'
WHERE id IN (9111, 9112);
SELECT is(pg_temp.participants_updated() - (SELECT updated FROM seen), 1::bigint,
          'a company change relinks that person''s participant, and only it');
SELECT is(pg_temp.link('alys@umbrella91.example'), 'person 9111/company 9102',
          'her participant follows her to the new company');
SELECT is(pg_temp.link('bryn@umbrella91.example'), 'person 9112/company 9101', 'his stays');

-- A second address for Bryn: the unowned participant at it becomes his; the address book has it.
UPDATE crm.person SET emails = ARRAY[' Ceri@Umbrella91.example '] WHERE id = 9112;
SELECT is(pg_temp.link('ceri@umbrella91.example'), 'person 9112/company 9101',
          'an added address links its participants, as normalised');
SELECT is((SELECT array_agg(address ORDER BY address) FROM crm.record_address WHERE person_id = 9112),
          ARRAY['bryn@umbrella91.example', 'ceri@umbrella91.example'], 'the address book has both');

-- Taken away again: the participant falls back to the company owning its domain... unless the
-- person keeps it (links are sticky), which they do for an address they held.
UPDATE crm.person SET emails = '{}' WHERE id = 9112;
SELECT is(pg_temp.link('ceri@umbrella91.example'), 'person 9112/company 9101',
          'a removed address keeps its past links (sticky)');

-- A member taking an address wins over the person.
INSERT INTO crm.member (id, email) VALUES (9131, 'bryn@umbrella91.example');
SELECT is(pg_temp.link('bryn@umbrella91.example'), 'member 9131', 'a member''s address links to the member');

-- A domain change: the unowned participant at the new domain is the company's.
UPDATE crm.company SET domain = 'INITRODE91.example ' WHERE id = 9101;
SELECT is(pg_temp.link('dai@initrode91.example'), 'company 9101',
          'the lowest id owning a domain gets its unowned participants');

DELETE FROM crm.person WHERE id = 9111;
SELECT is(pg_temp.link('alys@umbrella91.example'), '',
          'a deleted person''s participants are unlinked when no company owns the domain');

SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'verify_signals empty');
SELECT * FROM finish();
ROLLBACK;
