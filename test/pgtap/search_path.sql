-- Hostile search_path: functions and operators planted in public (first on the path, ahead of
-- pg_catalog) and tables planted in pg_temp never run or fill while a superuser drives every
-- write path and read of the extension. The planted objects record each call in public.pwned
-- while the trap is armed.
BEGIN;
SELECT plan(4);
SET LOCAL crm.clock = '2026-03-01 12:00+00';

CREATE TABLE public.pwned (what text);
CREATE FUNCTION public.trap(what text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
  IF current_setting('test.armed', true) = 'on' THEN INSERT INTO public.pwned VALUES (what); END IF;
END $$;
CREATE FUNCTION public.cardinality(a text[]) RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('cardinality'); RETURN pg_catalog.cardinality(a); END $$;
CREATE FUNCTION public.unnest(a text[]) RETURNS SETOF text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('unnest'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.unnest(a bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('unnest bigint'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('now'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION public.lower(a text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('lower'); RETURN pg_catalog.lower(a); END $$;
CREATE FUNCTION public.btrim(a text, b text) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('btrim'); RETURN pg_catalog.btrim(a, b); END $$;
CREATE FUNCTION public.split_part(a text, b text, c integer) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('split_part'); RETURN pg_catalog.split_part(a, b, c); END $$;
CREATE FUNCTION public.format(a text, VARIADIC b text[]) RETURNS text LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('format'); RETURN pg_catalog.format(a, VARIADIC b); END $$;
CREATE FUNCTION public.jsonb_build_object(VARIADIC a text[]) RETURNS jsonb LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('jsonb_build_object'); RETURN pg_catalog.jsonb_build_object(VARIADIC a); END $$;
CREATE FUNCTION public.text_cat(a text[], b text) RETURNS text[] LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('|| text[] text'); RETURN pg_catalog.array_append(a, b); END $$;
CREATE OPERATOR public.|| (LEFTARG = text[], RIGHTARG = text, FUNCTION = public.text_cat);
CREATE FUNCTION public.arr_cat(a text[], b text[]) RETURNS text[] LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('|| text[] text[]'); RETURN pg_catalog.array_cat(a, b); END $$;
CREATE OPERATOR public.|| (LEFTARG = text[], RIGHTARG = text[], FUNCTION = public.arr_cat);
CREATE FUNCTION public.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('= text'); RETURN pg_catalog.texteq(a, b); END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_eq);
CREATE FUNCTION public.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN PERFORM public.trap('= bigint'); RETURN pg_catalog.int8eq(a, b); END $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.int8_eq);
-- Tables in pg_temp come first for unqualified table names.
CREATE TEMP TABLE person (id bigint, email text);
CREATE TEMP TABLE participant (id bigint, address text);
CREATE TEMP TABLE record_address (workspace_id bigint, address text, member_id bigint, person_id bigint);
CREATE TEMP TABLE person_signal (person_id bigint);

-- The workload, as a superuser whose path puts public first. Its own SQL uses no operator.
SET LOCAL search_path = public, pg_catalog;
SET LOCAL test.armed = 'on';
INSERT INTO crm.member (id, email) VALUES (1, 'ann@us.example');
INSERT INTO crm.company (id, name, domain, city) VALUES (1, 'Globex', 'globex.example', 'Springfield');
INSERT INTO crm.person (id, company_id, first_name, last_name, email, emails, city)
  VALUES (1, 1, 'Hank', 'Scorpio', 'hank@globex.example', '{h.scorpio@globex.example}', 'Springfield'),
         (2, 1, 'Hank', 'Scorpio', 'hscorpio@globex.example', '{}', 'Springfield');
INSERT INTO crm.interaction (id, kind, occurred_at, ends_at) VALUES (1, 'email', '2026-02-01', NULL), (2, 'meeting', '2026-04-01', '2026-04-01 01:00');
INSERT INTO crm.participant (interaction_id, address, role)
  VALUES (1, 'ann@us.example', 'from'), (1, 'hank@globex.example', 'to'), (1, 'other@globex.example', 'cc'),
         (2, 'ann@us.example', 'organizer'), (2, 'h.scorpio@globex.example', 'attendee');
UPDATE crm.person SET emails = '{hank.s@globex.example}', company_id = NULL WHERE id = 2;
UPDATE crm.company SET domain = 'globex.test' WHERE id = 1;
UPDATE crm.interaction SET occurred_at = '2026-02-02' WHERE id = 1;
DELETE FROM crm.participant WHERE id = 3;
SELECT outcome FROM crm.ingest_email(E'From: Hank <hank@globex.example>\r\nTo: ann@us.example\r\nSubject: hi\r\nMessage-ID: <path-1@globex.example>\r\nDate: Mon, 02 Feb 2026 10:00:00 +0000\r\n\r\nhello\r\n', 'ann@us.example');
SELECT outcome FROM crm.ingest_calendar(E'BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:path-2@us.example\r\nDTSTAMP:20260201T100000Z\r\nDTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\nSUMMARY:Review\r\nORGANIZER:mailto:ann@us.example\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:hank@globex.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n', 'ann@us.example');
SELECT count(*) FROM crm.find_duplicates('person', '{"first_name": "Hank", "last_name": "Scorpio", "email": "hank@globex.example"}');
SELECT crm.scan_duplicates('person');
SELECT crm.tick();
SELECT crm.rebuild_signals();
SELECT count(*) FROM crm.person_overview;
SELECT count(*) FROM crm.company_overview;
SELECT count(*) FROM crm.connection_strength;
SELECT count(*) FROM crm.duplicate_sets;
SELECT count(*) FROM crm.stale_records('person', '30 days');
SELECT crm.explain_connection(1, 1) IS NULL;
SELECT count(*) FROM crm.verify_signals();
DELETE FROM crm.person WHERE id = 2;
DELETE FROM crm.interaction WHERE id = 2;
SET LOCAL test.armed = 'off';
RESET search_path;

SELECT is((SELECT string_agg(DISTINCT what, ', ') FROM public.pwned), NULL, 'no planted function or operator ran');
SELECT is((SELECT count(*) FROM pg_temp.person) + (SELECT count(*) FROM pg_temp.participant)
          + (SELECT count(*) FROM pg_temp.record_address) + (SELECT count(*) FROM pg_temp.person_signal), 0::bigint,
          'no planted temporary table was written');
SELECT is((SELECT count(*) FROM crm.verify_signals()), 0::bigint, 'derived state exact after the workload');
SELECT cmp_ok((SELECT count(*) FROM crm.interaction), '>=', 3::bigint, 'the workload ran (activity captured)');

SELECT * FROM finish();
ROLLBACK;
