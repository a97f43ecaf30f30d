-- Participants resolve by address: member first, then person (email or emails[]), case- and
-- space-insensitively; otherwise the company owning the address's domain. Late links happen at once.
SET crm.clock = '2026-06-01 00:00+00';
INSERT INTO crm.member (id, email, aliases, name) VALUES (1, 'Alice@Us.example', '{alice.w@us.example}', 'Alice');
INSERT INTO crm.company (id, name, domain) VALUES (1, 'Acme', 'acme.example'), (2, 'Globex', 'GLOBEX.example');
INSERT INTO crm.person (id, first_name, email, emails, company_id)
VALUES (1, 'Bob', 'bob@acme.example', '{robert@home.example}', 1);

INSERT INTO crm.interaction (id, kind, occurred_at) VALUES (1, 'email', '2026-05-01 10:00+00');
INSERT INTO crm.participant (interaction_id, address, role) VALUES
  (1, '  ALICE.W@us.example ', 'from'),
  (1, 'Robert@Home.example', 'to'),
  (1, 'carol@acme.example', 'cc'),
  (1, 'dave@globex.example', 'cc'),
  (1, 'eve@elsewhere.example', 'bcc'),
  (1, '+1 (555) 010-0999', 'cc');
SELECT address, member_id, person_id, company_id FROM crm.participant ORDER BY id;

-- Carol is created later: her past email links to her at once, and her company moves from the
-- domain match to her own company_id (Globex).
INSERT INTO crm.person (id, first_name, email, company_id) VALUES (2, 'Carol', 'CAROL@acme.example', 2);
SELECT address, person_id, company_id FROM crm.participant WHERE address = 'carol@acme.example';
SELECT person_id, email_count, last_email_at FROM crm.person_signal ORDER BY person_id;
SELECT company_id, email_count FROM crm.company_signal ORDER BY company_id;

-- A person gaining an address through emails[] links past activity too.
INSERT INTO crm.person (id, first_name, email) VALUES (3, 'Eve', NULL);
UPDATE crm.person SET emails = '{eve@elsewhere.example}' WHERE id = 3;
SELECT address, person_id FROM crm.participant WHERE address = 'eve@elsewhere.example';

-- A member alias wins over a person with the same address.
UPDATE crm.member SET aliases = aliases || 'eve@elsewhere.example'::text WHERE id = 1;
SELECT address, member_id, person_id FROM crm.participant WHERE address = 'eve@elsewhere.example';
UPDATE crm.member SET aliases = '{alice.w@us.example}' WHERE id = 1;
SELECT address, member_id, person_id FROM crm.participant WHERE address = 'eve@elsewhere.example';

-- A person's company change moves their activity with them.
UPDATE crm.person SET company_id = 2 WHERE id = 1;
SELECT address, company_id FROM crm.participant WHERE person_id = 1;
SELECT company_id, email_count FROM crm.company_signal ORDER BY company_id;

-- A company's domain change relinks addresses nobody else claims.
UPDATE crm.company SET domain = 'globex.example.org' WHERE id = 2;
SELECT address, company_id FROM crm.participant WHERE address = 'dave@globex.example';

-- Deleting a person unlinks their participants (and re-resolves them).
DELETE FROM crm.person WHERE id = 2;
SELECT address, person_id, company_id FROM crm.participant WHERE address = 'carol@acme.example';

-- An application may link a participant itself when the address resolves to nobody.
INSERT INTO crm.participant (interaction_id, address, role, person_id) VALUES (1, '+44 20 7946 0000', 'cc', 3);
SELECT address, person_id FROM crm.participant WHERE address = '+442079460000';

SELECT * FROM crm.verify_signals();
