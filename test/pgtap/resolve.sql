-- Record resolution: which record a free-text mention means (crm.resolve), and why a record did
-- or did not come back (crm.resolve_why). Identifiers are exact, names typo- and nickname-tolerant,
-- CRM context breaks ties, close calls are flagged, tombstones and other workspaces never appear.
BEGIN;
SELECT plan(42);
SET LOCAL crm.clock = '2026-06-15 12:00:00+00';
INSERT INTO crm.workspace (id, name) VALUES (75, 'resolution'), (76, 'elsewhere');
INSERT INTO crm.company (workspace_id, name, domain) VALUES (76, 'Acme Corporation', 'acme-corp75.com');
SET LOCAL crm.workspace = 75;
INSERT INTO crm.member (id, email, aliases) VALUES (7521, 'me@us75.com', '{me.too@us75.com}'), (7522, 'you@us75.com', '{}');
INSERT INTO crm.company (id, name, domain, phone, owner_member_id) VALUES
  (7501, 'Acme Corporation', 'acme-corp75.com', '+44 20 7946 0958', NULL),
  (7502, 'Acme Widgets Ltd', 'acmewidgets75.co.uk', NULL, NULL),
  (7503, 'Globex', 'globex75.io', NULL, NULL),
  (7504, 'Globex', 'globex-eu75.io', NULL, NULL);
INSERT INTO crm.person (id, first_name, last_name, email, phone, company_id) VALUES
  (7511, 'Robert', 'Smith', 'robert.smith@acme-corp75.com', NULL, 7501),
  (7512, 'Jane', 'Doe', 'jane@globex75.io', '+1 415 555 2671', 7503),
  (7513, 'Rob', 'Smyth', 'rob@acmewidgets75.co.uk', NULL, 7502),
  (7514, 'Bob', 'Smith', 'bobby@smith-home75.com', NULL, NULL),
  (7515, 'Hans', 'Gruber', 'hans@globex-eu75.io', NULL, 7504);
INSERT INTO crm.deal (id, company_id, name, stage) VALUES (7531, 7501, 'Acme renewal 2027', 'proposal');

-- Identifiers: an address, a phone number, a domain.
SELECT results_eq($$SELECT kind, record_id, match_level, match_key FROM crm.resolve('<Robert.Smith@ACME-corp75.com>') LIMIT 1$$,
                  $$VALUES ('person', 7511::bigint, 'exact', '+EMAIL+DOMAIN')$$, 'an address resolves to its person, exactly');
SELECT results_eq($$SELECT kind, record_id, match_level FROM crm.resolve('robert.smith@acme-corp75.com') OFFSET 1 LIMIT 1$$,
                  $$VALUES ('company', 7501::bigint, 'strong')$$, '... and its company comes second, by the domain');
SELECT results_eq($$SELECT kind, record_id, match_level, match_key FROM crm.resolve('+44 20 7946 0958') LIMIT 1$$,
                  $$VALUES ('company', 7501::bigint, 'exact', '+PHONE')$$, 'a phone number resolves to its company');
SELECT results_eq($$SELECT kind, record_id, match_level FROM crm.resolve('(415) 555-2671')$$,
                  $$VALUES ('person', 7512::bigint, 'exact')$$, 'a national number is read in the workspace''s region');
SELECT results_eq($$SELECT kind, record_id, match_level FROM crm.resolve('https://www.acmewidgets75.co.uk/about') LIMIT 1$$,
                  $$VALUES ('company', 7502::bigint, 'exact')$$, 'a URL resolves to the company of its domain');

-- Names: legal forms, typos, nicknames, a person at a company.
SELECT results_eq($$SELECT record_id, match_key, ambiguous FROM crm.resolve('Rob Smyth at Acme Widgets') LIMIT 1$$,
                  $$VALUES (7513::bigint, '+NAME+COMPANY', false)$$, 'a person at a company: name and company agree');
SELECT is((SELECT match_level FROM crm.resolve('Rob Smyth at Acme Widgets') LIMIT 1), 'strong', '... a strong match');
SELECT results_eq($$SELECT kind, record_id FROM crm.resolve('Acme Widgetts plc', kinds => '{company}') LIMIT 1$$,
                  $$VALUES ('company', 7502::bigint)$$, 'a misspelt company name with another legal form');
SELECT results_eq($$SELECT record_id, match_key FROM crm.resolve('bob at acme corp') LIMIT 1$$,
                  $$VALUES (7511::bigint, '+NICKNAME+COMPANY')$$, 'Bob at Acme Corp is Robert Smith of Acme Corporation');
SELECT results_eq($$SELECT kind, record_id FROM crm.resolve('Gruber')$$, $$VALUES ('person', 7515::bigint)$$,
                  'a surname alone');
SELECT results_eq($$SELECT record_id, match_key FROM crm.resolve('Robert Smtih', kinds => '{person}') LIMIT 1$$,
                  $$VALUES (7511::bigint, '+NAME')$$, 'a misspelt surname (letters swapped) still agrees as a name');
SELECT results_eq($$SELECT record_id FROM crm.resolve('Smith, Robert', kinds => '{person}') LIMIT 1$$,
                  $$VALUES (7511::bigint)$$, 'a name written surname first');
SELECT results_eq($$SELECT kind, record_id FROM crm.resolve('acme renewal', kinds => '{deal}')$$,
                  $$VALUES ('deal', 7531::bigint)$$, 'deals by name, and kinds limit the answer');

-- Close calls are flagged; context breaks ties.
SELECT results_eq($$SELECT kind, record_id, ambiguous FROM crm.resolve('bob at acme')$$,
                  $$VALUES ('person', 7511::bigint, false), ('company', 7501::bigint, false), ('deal', 7531::bigint, false)$$,
                  'Bob at Acme: the Robert of the company named Acme exactly, then Acme and its deal (names only alike are not searched then)');
SELECT results_eq($$SELECT record_id FROM crm.resolve('bob at acme widgts', kinds => '{person}')$$,
                  $$VALUES (7513::bigint)$$, 'a company misspelt: its people are found among companies alike');
SELECT results_eq($$SELECT record_id, ambiguous FROM crm.resolve('Globex', kinds => '{company}')$$,
                  $$VALUES (7503::bigint, true), (7504::bigint, true)$$,
                  'two companies named Globex, nothing to tell them apart: both ambiguous');
UPDATE crm.company SET owner_member_id = 7521 WHERE id = 7504;
INSERT INTO crm.deal (id, company_id, name, stage) VALUES (7532, 7504, 'Globex expansion', 'negotiation');
INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (7541, 'email', '2026-06-10');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (7541, 'me@us75.com', 'from'), (7541, 'hans@globex-eu75.io', 'to');
SELECT results_eq($$SELECT record_id, ambiguous FROM crm.resolve('Globex', kinds => '{company}')$$,
                  $$VALUES (7504::bigint, false), (7503::bigint, false)$$,
                  'once one has recent activity and an open deal, it comes first, clearly');
SELECT ok((SELECT (evidence #>> '{context,days_since_interaction}')::float8 BETWEEN 5 AND 6
                  AND (evidence #>> '{context,open_deals}')::int = 1
           FROM crm.resolve('Globex', kinds => '{company}') WHERE record_id = 7504), '... its evidence shows that context');
SELECT ok((SELECT bool_and(ambiguous) FROM crm.resolve('Globex', '{"member": 7522}', '{company}')) IS NOT TRUE,
          'another member changes nothing the data does not say');
SELECT is((SELECT (evidence #>> '{context,owner}')::boolean FROM crm.resolve('Globex', '{"member": "me.too@us75.com"}', '{company}')
           WHERE record_id = 7504), true, 'the asking member, by an alias: the owner');
SELECT ok((SELECT (evidence #>> '{context,connection_strength}')::float8 > 0
           FROM crm.resolve('Globex', '{"member": 7521}', '{company}') WHERE record_id = 7504),
          '... and connected by the email');

-- Hints.
SELECT results_eq($$SELECT kind, record_id, match_level FROM crm.resolve('Jane', '{"domain": "globex75.io"}') LIMIT 1$$,
                  $$VALUES ('person', 7512::bigint, 'strong')$$, 'a domain hint: the person of that company comes first');
SELECT results_eq($$SELECT record_id FROM crm.resolve('Rob', '{"company": "Acme Widgets"}', '{person}') LIMIT 1$$,
                  $$VALUES (7513::bigint)$$, 'a company hint');

-- What resolution never returns: tombstones, other workspaces; and it sees this transaction's rows.
SELECT is((SELECT count(*) FROM crm.resolve('Acme Corporation', max_results => 100)
           WHERE kind = 'company' AND record_id NOT IN (7501, 7502)), 0::bigint, 'never a record of another workspace');
SELECT crm.merge('person', 7511, '{7514}');
SELECT is((SELECT count(*) FROM crm.resolve('Bob Smith', max_results => 100) WHERE record_id = 7514), 0::bigint,
          'a merged person is never returned');
SELECT results_eq($$SELECT record_id, match_level FROM crm.resolve('bobby@smith-home75.com')$$,
                  $$VALUES (7511::bigint, 'exact')$$, '... its address resolves to the survivor');
INSERT INTO crm.company (id, name, domain) VALUES (7505, 'Initech', 'initech75.com');
SELECT results_eq($$SELECT record_id FROM crm.resolve('Initech')$$, $$VALUES (7505::bigint)$$,
                  'a company written earlier in the transaction is found');

CREATE ROLE crm_test_resolve_reader NOLOGIN;
SELECT crm.grant_access('crm_test_resolve_reader', 'reader');
SET LOCAL ROLE crm_test_resolve_reader;
SELECT results_eq($$SELECT record_id FROM crm.resolve('initech75.com')$$, $$VALUES (7505::bigint)$$,
                  'a reader resolves');
RESET ROLE;

-- resolve_why.
SELECT is(crm.resolve_why('Rob Smyth at Acme Widgets', '{}', 'person', 7513) - 'evidence' - 'score',
          '{"kind": "person", "record_id": 7513, "returned": true, "found": true, "rank": 1, "ambiguous": false,
            "match_level": "strong", "match_key": "+NAME+COMPANY", "reason": "returned at rank 1"}'::jsonb,
          'why: returned first, on name and company');
SELECT is((crm.resolve_why('Rob Smyth at Acme Widgets', '{}', 'person', 7513) #>> '{evidence,text,company_similarity}')::float8, 1::float8,
          '... with the evidence');
SELECT ok((crm.resolve_why('Globex', '{}', 'person', 7512) ->> 'reason') LIKE 'no exact lookup % reached it, and names alike were not searched%',
          'why not: exact lookups found others, names alike were not searched');
SELECT ok((crm.resolve_why('Zyxwv Qwrtz', '{}', 'person', 7512) ->> 'reason') LIKE 'no lookup reached it%',
          'why not: nothing in the mention leads to the record');
SELECT is(crm.resolve_why('Bob Smith', '{}', 'person', 7514) - 'reason',
          '{"kind": "person", "record_id": 7514, "returned": false, "merged_into": 7511}'::jsonb, 'why not: merged');
SELECT is(crm.resolve_why('Acme', '{}', 'company', 999999) ->> 'returned', 'false', 'why not: no such record');

-- Bad input: clear errors, nothing else.
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', '[1]')$$, '22023', 'hints must be a JSON object', 'hints not an object');
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', '{"domian": "acme.com"}')$$, '22023', 'unknown hint "domian"', 'a misspelt hint');
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', '{"email": "nobody"}')$$, '22023', 'hint "email" is not an email address', 'an email hint that is none');
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', '{"member": 1}')$$, '22023', NULL, 'a member of another workspace');
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', kinds => '{account}')$$, '22023', 'unknown record kind "account"', 'an unknown kind');
SELECT throws_ok($$SELECT * FROM crm.resolve('Acme', max_results => 0)$$, '22023', NULL, 'max_results below 1');
SELECT throws_ok($$SELECT * FROM crm.resolve(repeat('a', 1001))$$, '54000', 'mention is too long', 'a mention too long');
SELECT is((SELECT count(*) FROM crm.resolve('!!! ... (((')), 0::bigint, 'punctuation names nothing');

SELECT * FROM finish();
ROLLBACK;
