-- Tenancy and the clock.
SELECT crm.current_workspace();
SET crm.workspace = 2;
SELECT crm.current_workspace();
INSERT INTO crm.member (email) VALUES ('w2@us.example') RETURNING workspace_id;
RESET crm.workspace;
SELECT workspace_id, email FROM crm.member ORDER BY id;
DELETE FROM crm.member;

-- A workspace setting must be a positive id.
SET crm.workspace = 'two';
\echo :LAST_ERROR_SQLSTATE
SET crm.workspace = -1;
SELECT crm.current_workspace();

-- crm.now() follows crm.clock when set, now() otherwise.
SELECT crm.now() = now() AS follows_now;
SET crm.clock = '2026-01-02 03:04:05+00';
SELECT crm.now();
RESET crm.clock;
SELECT crm.now() = now() AS follows_now_again;

-- The crm prefix is reserved: a typo is an error, not a silent new setting.
SET crm.clcok = '2026-01-01';
\echo :LAST_ERROR_SQLSTATE

-- Records cannot move between workspaces.
INSERT INTO crm.company (name) VALUES ('Moving Co') RETURNING id, workspace_id;
UPDATE crm.company SET workspace_id = 2 WHERE name = 'Moving Co';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM crm.company;
