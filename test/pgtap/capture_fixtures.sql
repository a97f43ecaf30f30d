-- Activity capture over the real public fixtures in ../shared/data (scripts/test exports
-- CRM_DATA_DIR): every message and calendar file goes through without an error escaping;
-- sisimai's bounces and vacation replies are skipped as automated and its normal controls filed.
\set data_dir ''
\getenv data_dir CRM_DATA_DIR
BEGIN;
SELECT plan(10);
SET LOCAL timezone = 'UTC';
INSERT INTO crm.workspace (id, name) VALUES (503, 'capture fixtures');
SET LOCAL crm.workspace = '503';
SET LOCAL crm.clock = '2026-11-10 12:00+00';
INSERT INTO crm.member (id, email, name) VALUES (5031, 'member@ourco.com', 'Our Member');
SELECT set_config('crm_test.data_dir', :'data_dir', true);

CREATE FUNCTION pg_temp.files(dir text) RETURNS SETOF text LANGUAGE sql AS $$
  WITH RECURSIVE t(path, isdir) AS (
    SELECT dir, true WHERE dir <> '' AND (pg_stat_file(dir, true)).isdir
    UNION ALL
    SELECT t.path || '/' || f, (pg_stat_file(t.path || '/' || f)).isdir
    FROM t, pg_ls_dir(t.path) f WHERE t.isdir)
  SELECT path FROM t WHERE NOT isdir ORDER BY path $$;

-- Each file through crm.ingest_email (or crm.ingest_calendar for .ics), each in a subtransaction:
-- the file and the error of each that raised one.
CREATE FUNCTION pg_temp.sweep(dir text) RETURNS TABLE (file text, error text) LANGUAGE plpgsql AS $$
DECLARE
  f text;
  ics text;
BEGIN
  FOR f IN SELECT * FROM pg_temp.files(dir) LOOP
    CONTINUE WHEN f ~ '/(LICENSE[^/]*|SOURCE\.txt)$';
    BEGIN
      IF f ~ '\.ics$' THEN
        BEGIN
          ics := convert_from(pg_read_binary_file(f), 'UTF8');
        EXCEPTION WHEN character_not_in_repertoire OR untranslatable_character THEN
          CONTINUE;  -- not text: the text API cannot be handed it
        END;
        PERFORM crm.ingest_calendar(ics);
      ELSE
        PERFORM crm.ingest_email(pg_read_binary_file(f));
      END IF;
    EXCEPTION WHEN OTHERS THEN
      file := f;
      error := SQLSTATE || ': ' || SQLERRM;
      RETURN NEXT;
    END;
  END LOOP;
END $$;

SELECT current_setting('crm_test.data_dir') <> ''
       AND coalesce((pg_stat_file(current_setting('crm_test.data_dir'), true)).isdir, false) AS has_data \gset
\if :has_data
CREATE TEMP TABLE sisimai AS
  SELECT regexp_replace(f, '^.*/maildir/', '') AS file, r.outcome, r.reason
  FROM pg_temp.files(current_setting('crm_test.data_dir') || '/email/automated-emails-sisimai/maildir') f,
       crm.ingest_email(pg_read_binary_file(f)) r
  WHERE f ~ '\.eml$';
SELECT is(count(*), 629::bigint, 'sisimai: every bounce, report and vacation reply is read')
FROM sisimai WHERE file LIKE 'bsd/%';
SELECT is_empty($$SELECT * FROM sisimai WHERE file LIKE 'bsd/%' AND (outcome <> 'skipped' OR reason NOT LIKE 'automated: %')
                  AND file NOT IN ('bsd/lhost-fml-02.eml', 'bsd/lhost-fml-03.eml', 'bsd/lhost-sendmail-14.eml')$$,
  'sisimai: every bounce, report and vacation reply is skipped as automated');
-- Three files of the set are not bounces: two fml list-manager notices (ordinary list traffic by
-- their headers) and a person forwarding a bounce with Apple Mail ("Fwd: Returned mail").
SELECT results_eq($$SELECT file, outcome, reason FROM sisimai
                    WHERE file IN ('bsd/lhost-fml-02.eml', 'bsd/lhost-fml-03.eml', 'bsd/lhost-sendmail-14.eml') ORDER BY file$$,
  $$VALUES ('bsd/lhost-fml-02.eml', 'skipped', 'bulk: List-Subscribe header'), ('bsd/lhost-fml-03.eml', 'skipped', 'bulk: X-MLServer header'),
           ('bsd/lhost-sendmail-14.eml', 'created', NULL)$$,
  'sisimai: the list notices are bulk, the forwarded bounce is correspondence');
-- rb-issue-368-bug.eml sits among sisimai's controls (a regression of its parser), but it is a
-- postmaster's bounce notification: Return-Path <>, Auto-Submitted: auto-replied.
SELECT results_eq($$SELECT file, outcome FROM sisimai WHERE file LIKE 'not/%' ORDER BY file$$,
  $$VALUES ('not/is-not-bounce-01.eml', 'created'), ('not/is-not-bounce-02.eml', 'created'), ('not/rb-issue-368-bug.eml', 'skipped')$$,
  'sisimai: the normal controls are filed');
SELECT is((SELECT count(*) FROM crm.capture_log WHERE workspace_id = 503 AND category IN ('automated', 'bulk')), 629::bigint,
  'each skipped message is in the capture log');
SELECT is_empty($$SELECT * FROM pg_temp.sweep(current_setting('crm_test.data_dir') || '/email')$$,
  'every file under email/ goes through crm.ingest_email without an error');
SELECT is_empty($$SELECT * FROM pg_temp.sweep(current_setting('crm_test.data_dir') || '/calendar')$$,
  'every file under calendar/ goes through crm.ingest_calendar or crm.ingest_email without an error');
CREATE TEMP TABLE filed AS
  SELECT i.id, i.occurred_at, i.ends_at, i.subject, i.status, count(p.id) AS participants
  FROM crm.interaction i LEFT JOIN crm.participant p ON p.interaction_id = i.id
  WHERE i.workspace_id = 503 GROUP BY i.id;
SELECT is_empty($$SELECT * FROM pg_temp.sweep(current_setting('crm_test.data_dir') || '/calendar')$$,
  'a second pass over the calendars raises nothing either');
SELECT set_eq($$SELECT i.id, i.occurred_at, i.ends_at, i.subject, i.status, count(p.id) AS participants
                FROM crm.interaction i LEFT JOIN crm.participant p ON p.interaction_id = i.id
                WHERE i.workspace_id = 503 GROUP BY i.id$$,
  'SELECT * FROM filed', 'and changes nothing: the same interactions, times, statuses and participants');
SELECT is_empty('SELECT * FROM crm.verify_signals()', 'signals are intact');
\else
SELECT skip('../shared/data is absent (scripts/test sets CRM_DATA_DIR to it): the fixture tests need it', 10);
\endif
SELECT * FROM finish();
ROLLBACK;
