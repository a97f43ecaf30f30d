-- Other sessions for the concurrency tests: dblink connections to this database (included with
-- \ir by the test files that need them).
--
-- pg_temp.here(): the connection string of this session's database, server and user.
CREATE FUNCTION pg_temp.here() RETURNS text LANGUAGE sql AS $$
  SELECT format('dbname=%s host=%s port=%s user=%s', current_database(),
                split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'), current_user) $$;
-- pg_temp.drain(conn, fail_on_error): collects every result of an asynchronous query, so the
-- connection is free again; a remote error is raised here unless fail_on_error is false.
CREATE FUNCTION pg_temp.drain(conn text, fail_on_error boolean DEFAULT true) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n int;
BEGIN
  LOOP
    SELECT count(*) INTO n FROM dblink_get_result(conn, fail_on_error) AS r(x text);
    EXIT WHEN n = 0;
  END LOOP;
END $$;
