-- Activity capture of email: raw messages become interactions with participants; automated,
-- bulk, internal, blocked and oversized mail is kept out and logged; one message seen in two
-- mailboxes is one interaction; the capture policy decides which people and companies appear.
BEGIN;
SELECT plan(75);
SET LOCAL timezone = 'UTC';
INSERT INTO crm.workspace (id, name) VALUES (501, 'capture email');
SET LOCAL crm.workspace = '501';
SET LOCAL crm.clock = '2026-11-10 12:00+00';

INSERT INTO crm.member (id, email, name, aliases) VALUES
  (5011, 'ann@ourco.com', 'Ann Member', '{ann.m@ourco.com}'),
  (5012, 'max@ourco.com', 'Max Member', '{}');

-- A message as a mailbox API returns it: headers, a blank line, a body.
CREATE FUNCTION pg_temp.mail(headers text, body text DEFAULT 'Hello') RETURNS text LANGUAGE sql AS $$
  SELECT headers || E'\r\n\r\n' || body || E'\r\n' $$;
CREATE FUNCTION pg_temp.outcome(message text, mailbox text DEFAULT NULL) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(r.outcome || coalesce(' (' || r.reason || ')', ''), '; ') FROM crm.ingest_email(message, mailbox) r $$;
CREATE FUNCTION pg_temp.participants(external text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(p.role || ' ' || p.address || coalesce(' "' || p.display_name || '"', ''), ', ' ORDER BY p.role, p.address)
  FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
  WHERE i.workspace_id = 501 AND i.external_id = external $$;
CREATE FUNCTION pg_temp.error_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  message text;
BEGIN
  EXECUTE query;
  RETURN NULL;
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  RETURN state || ': ' || message;
END $$;
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s interactions, %s participants, %s people, %s companies, %s logged',
    (SELECT count(*) FROM crm.interaction WHERE workspace_id = 501),
    (SELECT count(*) FROM crm.participant WHERE workspace_id = 501),
    (SELECT count(*) FROM crm.person WHERE workspace_id = 501),
    (SELECT count(*) FROM crm.company WHERE workspace_id = 501),
    (SELECT count(*) FROM crm.capture_log WHERE workspace_id = 501)) $$;

-- A member writes to two outside people: filed, with decoded subject and display names.
SELECT is(pg_temp.outcome(pg_temp.mail(
  E'From: Ann Member <ann@ourco.com>\r\n'
  'To: "Buyer, Bob" <Bob@Acme-Widgets.com>, carol@gmail.com\r\n'
  'Cc: =?UTF-8?Q?Ren=C3=A9e_Fran=C3=A7ois?= <renee@acme-widgets.com>\r\n'
  'Subject: =?UTF-8?Q?Caf=C3=A9?= and plans\r\n'
  'Date: Mon, 2 Nov 2026 10:00:00 +0100\r\n'
  'Message-ID: <first@ourco.com>'), 'ann@ourco.com'), 'created', 'a member''s message to outside people is created');
SELECT results_eq($$SELECT kind::text, occurred_at, subject, thread_key, source FROM crm.interaction WHERE external_id = '<first@ourco.com>'$$,
  $$VALUES ('email', '2026-11-02 09:00+00'::timestamptz, 'Café and plans', '<first@ourco.com>', 'capture')$$,
  'kind, Date (with its offset), RFC 2047 subject, thread key and source');
SELECT is(pg_temp.participants('<first@ourco.com>'),
  'from ann@ourco.com "Ann Member", to bob@acme-widgets.com "Buyer, Bob", to carol@gmail.com, cc renee@acme-widgets.com "Renée François"',
  'participants with their roles, canonical addresses and decoded display names');
SELECT results_eq($$SELECT first_name, last_name, email FROM crm.person WHERE workspace_id = 501 ORDER BY email$$,
  $$VALUES ('Bob', 'Buyer', 'bob@acme-widgets.com'), (NULL, NULL, 'carol@gmail.com'), ('Renée', 'François', 'renee@acme-widgets.com')$$,
  'the member wrote to them: a person for each outside address, named from the display name');
SELECT results_eq($$SELECT name, domain FROM crm.company WHERE workspace_id = 501$$,
  $$VALUES ('Acme-Widgets', 'acme-widgets.com')$$,
  'one company for the business domain, none for free mail or the members'' own domain');
SELECT is((SELECT count(*)::int FROM crm.participant p JOIN crm.person x ON x.id = p.person_id
           WHERE p.workspace_id = 501 AND x.company_id = (SELECT id FROM crm.company WHERE workspace_id = 501 AND domain = 'acme-widgets.com')), 2,
  'the new people at that domain belong to the new company, and their participants link to them');
SELECT is((SELECT member_id FROM crm.participant WHERE workspace_id = 501 AND role = 'from'), 5011::bigint, 'the sender links to the member');

-- The same message from a recipient's mailbox, then the sender's copy carrying a Bcc.
SELECT is(pg_temp.outcome(pg_temp.mail(
  E'From: Ann Member <ann@ourco.com>\r\nTo: "Buyer, Bob" <Bob@Acme-Widgets.com>, carol@gmail.com\r\n'
  'Cc: max@ourco.com\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= and plans\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n'
  'Message-ID: <second@ourco.com>'), 'max@ourco.com'), 'created', 'a message in Max''s mailbox');
SELECT is(pg_temp.outcome(pg_temp.mail(
  E'From: Ann Member <ann@ourco.com>\r\nTo: "Buyer, Bob" <Bob@Acme-Widgets.com>, carol@gmail.com\r\n'
  'Cc: max@ourco.com\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= and plans\r\nDate: Mon, 2 Nov 2026 10:00:00 +0100\r\n'
  'Message-ID: <second@ourco.com>'), 'ann@ourco.com'), 'duplicate (already captured)', 'the same message from Ann''s mailbox is a duplicate');
SELECT is(pg_temp.outcome(pg_temp.mail(
  E'From: Ann Member <ann@ourco.com>\r\nTo: "Buyer, Bob" <Bob@Acme-Widgets.com>, carol@gmail.com\r\n'
  'Cc: max@ourco.com\r\nBcc: dan@acme-widgets.com\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= and plans\r\n'
  'Date: Mon, 2 Nov 2026 10:00:00 +0100\r\nMessage-ID: <second@ourco.com>'), 'ann@ourco.com'),
  'updated (participants added)', 'the sender''s copy adds its Bcc to the same interaction');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE external_id = '<second@ourco.com>'), 1, 'one interaction for the message seen three times');
SELECT is((SELECT count(*)::int FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
           WHERE i.external_id = '<second@ourco.com>'), 5, 'each participant once');
SELECT is((SELECT email_count FROM crm.person_overview WHERE email = 'carol@gmail.com'), 2::bigint,
  'Carol''s email count counts each message once');

-- Without a Message-ID, the identity is a hash of From, Date and Subject: stable across mailboxes.
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com, max@ourco.com\r\nSubject: no id\r\nDate: Tue, 3 Nov 2026 08:00:00 +0000'), 'ann@ourco.com'),
  'created', 'a message without Message-ID');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com, max@ourco.com\r\nSubject: no id\r\nDate: Tue, 3 Nov 2026 08:00:00 +0000'), 'max@ourco.com'),
  'duplicate (already captured)', 'is recognised from the other mailbox');
SELECT matches((SELECT external_id FROM crm.interaction WHERE subject = 'no id'), '^<[0-9a-f]{64}@hash\.crm-hygiene>$', 'its identity is the hash');

-- Replies thread to the root of References, else In-Reply-To.
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: Re: plans\r\n'
  'Date: Wed, 4 Nov 2026 08:00:00 +0000\r\nMessage-ID: <reply@acme-widgets.com>\r\nIn-Reply-To: <second@ourco.com>\r\n'
  'References: <first@ourco.com> <second@ourco.com>')), 'created', 'a reply');
SELECT is((SELECT thread_key FROM crm.interaction WHERE external_id = '<reply@acme-widgets.com>'), '<first@ourco.com>', 'threads to the first of References');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: Re: plans\r\n'
  'Date: Wed, 4 Nov 2026 09:00:00 +0000\r\nMessage-ID: <reply2@acme-widgets.com>\r\nIn-Reply-To: <second@ourco.com>')), 'created', 'a reply with In-Reply-To only');
SELECT is((SELECT thread_key FROM crm.interaction WHERE external_id = '<reply2@acme-widgets.com>'), '<second@ourco.com>', 'threads to In-Reply-To');

-- Dates: leniently, then the newest Received, then the clock. Never an error.
SELECT is(pg_temp.outcome(pg_temp.mail(E'Received: from a by b; Thu, 5 Nov 2026 07:00:00 +0000\r\n'
  'Received: from c by d; Thu, 5 Nov 2026 07:05:00 +0000\r\nFrom: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\n'
  'Subject: bad date\r\nDate: the day after tomorrow\r\nMessage-ID: <baddate@acme-widgets.com>')), 'created', 'an unreadable Date is no error');
SELECT is((SELECT occurred_at FROM crm.interaction WHERE external_id = '<baddate@acme-widgets.com>'), '2026-11-05 07:05+00'::timestamptz,
  'its time is the newest Received date');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: no date\r\nMessage-ID: <nodate@acme-widgets.com>')),
  'created', 'a message without Date or Received');
SELECT is((SELECT occurred_at FROM crm.interaction WHERE external_id = '<nodate@acme-widgets.com>'), crm.now(), 'is filed at the ingest time');

-- Raw 8-bit headers (Latin-1 and UTF-8) are decoded.
SELECT is((SELECT r.outcome FROM crm.ingest_email(convert_to(E'From: J\u00f6rg <joerg@acme-widgets.com>\r\nTo: ann@ourco.com\r\nSubject: Gr\u00fc\u00dfe\r\nMessage-ID: <latin1@x.com>\r\n\r\nHallo\r\n', 'LATIN1')) r),
  'created', 'a Latin-1 message');
SELECT is((SELECT subject FROM crm.interaction WHERE external_id = '<latin1@x.com>'), 'Grüße', 'its raw 8-bit subject decoded');
SELECT is((SELECT display_name FROM crm.participant p JOIN crm.interaction i ON i.id = p.interaction_id
           WHERE i.external_id = '<latin1@x.com>' AND p.role = 'from'), 'Jörg', 'and its display name');

-- Automated mail is skipped and logged, never written.
SELECT is(pg_temp.counts(), '8 interactions, 22 participants, 4 people, 1 companies, 0 logged', 'before the automated mail');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo@x.com>')),
  'skipped (automated: Auto-Submitted: auto-replied)', 'Auto-Submitted other than no');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: fine\r\nAuto-Submitted: no\r\nMessage-ID: <autono@x.com>')),
  'created', 'Auto-Submitted: no is a person writing');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'From: MAILER-DAEMON@mx.acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce@x.com>\r\n'
  'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"', E'--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--')),
  '^skipped \(automated: ', 'a bounce');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'Return-Path: <>\r\nFrom: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: report\r\nMessage-ID: <nullrp@x.com>')),
  '^skipped \(automated: ', 'a null Return-Path');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: away\r\nX-Autoreply: yes\r\nMessage-ID: <xauto@x.com>')),
  '^skipped \(automated: ', 'X-Autoreply');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'From: noreply@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: Your invoice\r\nMessage-ID: <noreply@x.com>')),
  '^skipped \(automated: ', 'a noreply sender');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: news@shop.com\r\nTo: ann@ourco.com\r\nSubject: Sale\r\nList-Unsubscribe: <mailto:u@shop.com>\r\nMessage-ID: <list@x.com>')),
  'skipped (bulk: List-Unsubscribe header)', 'List-Unsubscribe is bulk');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'From: news@shop.com\r\nTo: ann@ourco.com\r\nSubject: Sale\r\nPrecedence: bulk\r\nMessage-ID: <prec@x.com>')),
  '^skipped \(bulk: ', 'Precedence: bulk');
SELECT matches(pg_temp.outcome(pg_temp.mail(E'From: dev@lists.com\r\nTo: ann@ourco.com\r\nSubject: [dev] patch\r\nList-Id: <dev.lists.com>\r\nMessage-ID: <listid@x.com>')),
  '^skipped \(bulk: ', 'List-Id');
SELECT is(pg_temp.counts(), '9 interactions, 24 participants, 4 people, 1 companies, 8 logged', 'the skipped mail wrote nothing but the log');
SELECT results_eq($$SELECT source, category, external_id, fingerprint ~ '^[0-9a-f]{64}$' FROM crm.capture_log WHERE workspace_id = 501 AND external_id = '<list@x.com>'$$,
  $$VALUES ('email', 'bulk', '<list@x.com>', true)$$, 'the log keeps the category, the identity and a SHA-256 fingerprint');
SELECT is((SELECT fingerprint FROM crm.capture_log WHERE external_id = '<list@x.com>'),
  encode(sha256(convert_to(pg_temp.mail(E'From: news@shop.com\r\nTo: ann@ourco.com\r\nSubject: Sale\r\nList-Unsubscribe: <mailto:u@shop.com>\r\nMessage-ID: <list@x.com>'), 'UTF8')), 'hex'),
  'the fingerprint is the SHA-256 of the raw message');

-- Internal mail, and mail whose mailbox owner is not on it.
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: Max <MAX@ourco.com>\r\nSubject: lunch\r\nMessage-ID: <internal@ourco.com>')),
  'skipped (internal: every participant is a member)', 'only members: internal');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann.m@ourco.com\r\nTo: max@ourco.com\r\nSubject: alias\r\nMessage-ID: <alias@ourco.com>')),
  'skipped (internal: every participant is a member)', 'a member''s alias is a member');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: bob@acme-widgets.com\r\nTo: ann@ourco.com\r\nSubject: fwd\r\nMessage-ID: <notmine@x.com>'), 'max@ourco.com'),
  'skipped (policy: the mailbox owner max@ourco.com is not a participant)', 'the mailbox owner must be a participant');
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_email('From: a@b.com', 'stranger@elsewhere.com')$$),
  '22023: mailbox stranger@elsewhere.com is not the address of a member of workspace 501', 'a mailbox that is no member''s is an error');

-- The policy: blocked addresses and domains, the most participants, who becomes a person.
UPDATE crm.capture_policy SET blocked_addresses = '{CEO@Acme-Widgets.com}', blocked_domains = '{lawyers.com}' WHERE workspace_id = 501;
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: ceo@acme-widgets.com\r\nSubject: x\r\nMessage-ID: <blocked1@ourco.com>')),
  'skipped (blocked: address ceo@acme-widgets.com)', 'a blocked address');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: bob@acme-widgets.com\r\nCc: x@mail.lawyers.com\r\nSubject: x\r\nMessage-ID: <blocked2@ourco.com>')),
  'skipped (blocked: domain lawyers.com)', 'an address at a subdomain of a blocked domain');
UPDATE crm.capture_policy SET max_participants = 2 WHERE workspace_id = 501;
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: bob@acme-widgets.com, carol@gmail.com\r\nSubject: x\r\nMessage-ID: <many@ourco.com>')),
  'skipped (policy: 3 participants, more than the 2 allowed)', 'more participants than the policy allows');
UPDATE crm.capture_policy SET max_participants = 50 WHERE workspace_id = 501;
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: stranger@cold.com\r\nTo: ann@ourco.com\r\nSubject: pitch\r\nMessage-ID: <cold@cold.com>')),
  'created', 'an outsider writes to a member');
SELECT is((SELECT count(*)::int FROM crm.person WHERE email = 'stranger@cold.com'), 0, 'by default nobody wrote to them: no person');
SELECT is((SELECT person_id FROM crm.participant WHERE address = 'stranger@cold.com'), NULL, 'the participant stays unlinked');
UPDATE crm.capture_policy SET create_people = 'always' WHERE workspace_id = 501;
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: "Sam Stranger" <sam@cold.com>\r\nTo: ann@ourco.com\r\nSubject: pitch\r\nMessage-ID: <cold2@cold.com>')),
  'created', 'with create_people = always');
SELECT isnt((SELECT person_id FROM crm.participant WHERE address = 'sam@cold.com'), NULL, 'an outsider becomes a person and is linked');
SELECT results_eq($$SELECT first_name, last_name, company_id IS NOT NULL FROM crm.person WHERE email = 'sam@cold.com'$$,
  $$VALUES ('Sam', 'Stranger', true)$$, 'named from the display name, at the company made for the domain');
UPDATE crm.capture_policy SET create_people = 'never', create_companies = false WHERE workspace_id = 501;
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: zoe@neverco.com\r\nSubject: x\r\nMessage-ID: <never@ourco.com>')),
  'created', 'with create_people = never');
SELECT is((SELECT count(*)::int FROM crm.person WHERE email = 'zoe@neverco.com') + (SELECT count(*)::int FROM crm.company WHERE domain = 'neverco.com'), 0,
  'nobody and no company is created');
UPDATE crm.capture_policy SET create_people = 'when_member_wrote', create_companies = true, blocked_addresses = '{}', blocked_domains = '{}' WHERE workspace_id = 501;

-- A batch: the triggers run once for all of it; a Message-ID twice in it is one interaction.
SELECT results_eq($$SELECT message_index, outcome, reason FROM crm.ingest_emails(ARRAY[
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: b1@batch.com\r\nSubject: b\r\nMessage-ID: <b1@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: b2@batch.com\r\nSubject: b\r\nMessage-ID: <b2@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: b1@batch.com\r\nSubject: b\r\nMessage-ID: <b1@ourco.com>'), 'UTF8'),
    NULL,
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: max@ourco.com\r\nSubject: b\r\nMessage-ID: <b3@ourco.com>'), 'UTF8')],
    'ann@ourco.com')$$,
  $$VALUES (1, 'created', NULL), (2, 'created', NULL), (3, 'duplicate', 'the same message came earlier in this call'),
           (4, 'skipped', 'malformed: the message is NULL'), (5, 'skipped', 'internal: every participant is a member')$$,
  'crm.ingest_emails: one row per message, in order');
SELECT is((SELECT count(*)::int FROM crm.interaction WHERE external_id = '<b1@ourco.com>'), 1, 'the repeated message is one interaction');
SELECT is((SELECT company_id IS NOT NULL FROM crm.person WHERE email = 'b1@batch.com'), true, 'the batch created its people and their company');

-- Bad input: clear errors for oversized input, nothing half-written; garbage is skipped.
SELECT is(pg_temp.counts(), '14 interactions, 34 participants, 7 people, 3 companies, 16 logged', 'before the bad input');
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_email(convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: big@big.com\r\nSubject: big', repeat('x', 25 * 1024 * 1024)), 'UTF8'))$$),
  '54000: message is larger than 25 MB', 'a message over 25 MB is refused with 54000');
SELECT is(pg_temp.error_of($$SELECT * FROM crm.ingest_emails(ARRAY[convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: ok@big.com\r\nSubject: ok\r\nMessage-ID: <ok@big.com>'), 'UTF8'),
                                                                    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: big@big.com\r\nSubject: big', repeat('x', 25 * 1024 * 1024)), 'UTF8')])$$),
  '54000: message is larger than 25 MB (item 2)', 'in a batch, the error names the item');
SELECT is(pg_temp.counts(), '14 interactions, 34 participants, 7 people, 3 companies, 16 logged', 'and nothing of the call was written');
SELECT matches(pg_temp.outcome(E'\\x00\\x01 not a message at all \\xff'), '^skipped \((malformed|policy): ', 'garbage is skipped, not an error');
SELECT matches(pg_temp.outcome(''), '^skipped \((malformed|policy): ', 'an empty message is skipped');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: not an address, @, x@\r\nSubject: x\r\nMessage-ID: <noaddr@ourco.com>')),
  'skipped (internal: every participant is a member)', 'addresses that are no addresses are dropped');

-- Hostile input in a batch (issue 10): an address GMime's rules refuse but mail servers deliver to
-- is kept; one the participant trigger refuses (underscore in the domain, 339 bytes) is left out
-- and logged while its message is filed; a 3 KB Message-ID (too large for the unique index) is
-- hashed. Before, each of them failed the whole call, and a sync job retried it forever.
CREATE TEMP TABLE hostile AS
SELECT * FROM crm.ingest_emails(ARRAY[
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: j..broderick@enron.com, "St. Clair, Carol" <carol.st.@enron.com>\r\n'
                            'Cc: .lead@enron.com\r\nSubject: h1\r\nMessage-ID: <h1@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: jo@foo_bar.com, leslie@enron.com\r\nSubject: h2\r\nMessage-ID: <h2@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: kay@enron.com\r\nCc: ' || repeat('k', 329) || E'@enron.com\r\nSubject: h3\r\nMessage-ID: <h3@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: tana@enron.com\r\nSubject: h4\r\nMessage-ID: <' || repeat('i', 3000) || '@ourco.com>'), 'UTF8'),
    convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: sara@enron.com\r\nSubject: h5\r\nMessage-ID: <h5@ourco.com>'), 'UTF8')],
  'ann@ourco.com');
SELECT results_eq('SELECT message_index, outcome, reason FROM hostile ORDER BY message_index',
  $$VALUES (1, 'created', NULL::text), (2, 'created', NULL), (3, 'created', NULL), (4, 'created', NULL), (5, 'created', NULL)$$,
  'a batch with bad addresses and a 3 KB Message-ID: every message is filed');
SELECT is(pg_temp.participants('<h1@ourco.com>'),
  'from ann@ourco.com, to carol.st.@enron.com "St. Clair, Carol", to j..broderick@enron.com, cc .lead@enron.com',
  'local parts with two dots, a trailing or a leading dot are kept');
SELECT is(pg_temp.participants('<h2@ourco.com>'), 'from ann@ourco.com, to leslie@enron.com', 'the address the trigger refuses is left out, the rest filed');
SELECT is(pg_temp.participants('<h3@ourco.com>'), 'from ann@ourco.com, to kay@enron.com', 'so is a 339-byte address');
SELECT results_eq($$SELECT external_id, category, reason FROM crm.capture_log
                    WHERE workspace_id = 501 AND external_id IN ('<h2@ourco.com>', '<h3@ourco.com>') ORDER BY external_id$$,
  $$VALUES ('<h2@ourco.com>', 'malformed', 'malformed: dropped to address: "jo@foo_bar.com" is neither an email address nor a phone number'),
           ('<h3@ourco.com>', 'malformed', 'malformed: dropped cc address: participant address is too long (it has 339 bytes; at most 320 are accepted)')$$,
  'each dropped address is in the capture log, as malformed, with its reason');
SELECT is((SELECT fingerprint FROM crm.capture_log WHERE workspace_id = 501 AND external_id = '<h2@ourco.com>'),
  encode(sha256(convert_to(pg_temp.mail(E'From: ann@ourco.com\r\nTo: jo@foo_bar.com, leslie@enron.com\r\nSubject: h2\r\nMessage-ID: <h2@ourco.com>'), 'UTF8')), 'hex'),
  'with the SHA-256 of its message');
SELECT is((SELECT external_id FROM crm.interaction WHERE workspace_id = 501 AND subject = 'h4'),
  '<' || encode(sha256(convert_to(repeat('i', 3000) || '@ourco.com', 'UTF8')), 'hex') || '@hash.crm-hygiene>',
  'a Message-ID over 512 bytes is stored as its SHA-256');
SELECT is(pg_temp.outcome(pg_temp.mail(E'From: ann@ourco.com\r\nTo: tana@enron.com\r\nSubject: h4\r\nMessage-ID: <' || repeat('i', 3000) || '@ourco.com>'), 'ann@ourco.com'),
  'duplicate (already captured)', 'the same long Message-ID again is the same message');
SELECT is((SELECT count(*)::int FROM crm.person WHERE workspace_id = 501 AND email IN ('j..broderick@enron.com', 'carol.st.@enron.com', '.lead@enron.com')), 3,
  'the member wrote to them: they become people');

SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
SELECT * FROM finish();
ROLLBACK;
