-- One statement that writes people of several workspaces finds the duplicates of each, under
-- each workspace's own model and rule, whatever join the planner picks for their settings.
BEGIN;
SELECT plan(3);
-- The plan of the settings query is made at its first use in a session: force the hash join
-- that returned workspaces out of order (Hash Right Join over the rules, unmatched last).
SET LOCAL enable_nestloop = off;
SET LOCAL enable_mergejoin = off;

INSERT INTO crm.workspace (id, name) VALUES (41, 'a'), (42, 'b'), (43, 'c');
INSERT INTO crm.duplicate_rule (workspace_id, kind, action, threshold) VALUES (43, 'person', 'alert', 0.99), (42, 'person', 'allow', 0.5);
INSERT INTO crm.person (workspace_id, first_name, last_name, email, city)
VALUES (41, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
       (42, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
       (43, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield');
-- The duplicates, in one statement across the three workspaces.
INSERT INTO crm.person (workspace_id, first_name, last_name, email, city)
VALUES (43, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
       (41, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield'),
       (42, 'Hank', 'Scorpio', 'hank@globex.example', 'Springfield');

SELECT is((SELECT array_agg(DISTINCT workspace_id ORDER BY workspace_id) FROM crm.duplicate_candidate
           WHERE workspace_id IN (41, 42, 43)), '{41,42,43}'::bigint[],
          'a pair in each of the three workspaces the statement wrote');
SELECT is((SELECT count(*) FROM crm.duplicate_candidate WHERE workspace_id IN (41, 42, 43)), 3::bigint,
          'exactly one pair per workspace: nothing paired across workspaces');
SELECT results_eq($$SELECT workspace_id FROM crm.duplicate_candidate WHERE workspace_id IN (41, 42, 43) ORDER BY 1$$,
                  $$SELECT p.workspace_id FROM crm.person p WHERE p.workspace_id IN (41, 42, 43) GROUP BY 1 HAVING count(*) = 2 ORDER BY 1$$,
                  'every workspace with two alike people has its pair');

SELECT * FROM finish();
ROLLBACK;
