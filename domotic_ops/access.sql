-- Who sees which apartment in gold. Run by the admin role (set-up and migrations only), idempotent.
-- :app_role is the application role of DB_URL (owns silver and gold, runs the pipeline, never a superuser).
--
-- Read-only BI roles are members of domotic_bi (USAGE and SELECT on gold only: never silver, the staging
-- views or the ML tables). Which apartments a role sees is one row of governance.apartment_access per
-- (role, apartment): a login sees the apartments of its own rows and of the roles it is a member of; a row
-- without an apartment means every apartment (the group domotic_bi_all has one). Row-level security on the
-- apartment-scoped gold tables and the row filter of the apartment-scoped gold views read that table.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'domotic_bi') THEN
        CREATE ROLE domotic_bi NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'domotic_bi_all') THEN
        CREATE ROLE domotic_bi_all NOLOGIN IN ROLE domotic_bi;
    END IF;
END $$;
ALTER ROLE :app_role NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS;
CREATE SCHEMA IF NOT EXISTS silver AUTHORIZATION :app_role;
CREATE SCHEMA IF NOT EXISTS gold AUTHORIZATION :app_role;

CREATE SCHEMA IF NOT EXISTS governance;
REVOKE ALL ON SCHEMA governance FROM PUBLIC;
GRANT USAGE ON SCHEMA governance TO :app_role, domotic_bi;

CREATE TABLE IF NOT EXISTS governance.apartment_access (
    grantee       name   NOT NULL,
    apartment_key bigint,
    UNIQUE NULLS NOT DISTINCT (grantee, apartment_key)
);
COMMENT ON TABLE governance.apartment_access IS
    'Which role or login sees which apartment in gold; apartment_key NULL: every apartment.';
ALTER TABLE governance.apartment_access ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS own_rows ON governance.apartment_access;
CREATE POLICY own_rows ON governance.apartment_access FOR SELECT
    USING (grantee IN (SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER')));
-- The pipeline reads and deletes an apartment's rows of the mapping when it erases the apartment (GDPR).
DROP POLICY IF EXISTS pipeline_erasure ON governance.apartment_access;
DROP POLICY IF EXISTS pipeline_reads ON governance.apartment_access;
DROP POLICY IF EXISTS pipeline_erases ON governance.apartment_access;
CREATE POLICY pipeline_reads ON governance.apartment_access FOR SELECT TO :app_role USING (true);
CREATE POLICY pipeline_erases ON governance.apartment_access FOR DELETE TO :app_role USING (true);
REVOKE ALL ON governance.apartment_access FROM PUBLIC;
GRANT SELECT ON governance.apartment_access TO :app_role, domotic_bi;
GRANT DELETE ON governance.apartment_access TO :app_role;
INSERT INTO governance.apartment_access VALUES ('domotic_bi_all', NULL), (:app_role_name, NULL)
    ON CONFLICT DO NOTHING;

-- Every governance function runs as its caller (none is SECURITY DEFINER: the mapping shows the caller its own
-- rows) with a fixed search_path, so no schema or temporary object of the caller's stands in for a name in it.
CREATE OR REPLACE FUNCTION governance.sees_every_apartment() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT coalesce(bool_or(apartment_key IS NULL), false) FROM governance.apartment_access $$;
CREATE OR REPLACE FUNCTION governance.visible_apartments() RETURNS SETOF bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT apartment_key FROM governance.apartment_access WHERE apartment_key IS NOT NULL $$;

-- The surrogate key of an apartment id: the same expression as dbt's surrogate_key macro (a test compares them).
CREATE OR REPLACE FUNCTION governance.apartment_key(apartment text) RETURNS bigint
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ('x' || substr(md5(concat_ws('|', apartment)), 1, 15))::bit(60)::bigint $$;

-- Row-level security on one apartment-scoped table (its owner calls it after creating the table: dbt's
-- post-hook, the ML prediction store). The two sub-selects run once per query, not once per row. A table that
-- has it already (an incremental fact on each day's build, the prediction store on each write) is left as it is:
-- ALTER TABLE and CREATE POLICY would lock its readers out until the writer's transaction ends. So a version that
-- changes the policy's expression must also drop the `apartment_access` policies of the existing tables (they are
-- then created again on the next build or write).
CREATE OR REPLACE FUNCTION governance.protect_apartment_rows(target regclass) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_class WHERE oid = target AND relrowsecurity)
       AND EXISTS (SELECT FROM pg_policy WHERE polrelid = target AND polname = 'apartment_access') THEN
        RETURN;
    END IF;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', target);
    EXECUTE format('DROP POLICY IF EXISTS apartment_access ON %s', target);
    EXECUTE format('CREATE POLICY apartment_access ON %s FOR SELECT USING ('
                   '(SELECT governance.sees_every_apartment()) '
                   'OR apartment_key IN (SELECT governance.visible_apartments()))', target);
END $$;

-- GDPR erasures: one audit row each, without personal data (a digest of the apartment id, counts, the run).
CREATE TABLE IF NOT EXISTS governance.erasure_audit (
    erasure_id       uuid        PRIMARY KEY,
    apartment_digest text        NOT NULL,
    erased_at        timestamptz NOT NULL DEFAULT now(),
    rows_deleted     jsonb       NOT NULL,
    bronze_files     integer     NOT NULL,
    bronze_bytes     bigint      NOT NULL,
    run_id           text        NOT NULL
);
REVOKE ALL ON governance.erasure_audit FROM PUBLIC;
GRANT SELECT, INSERT ON governance.erasure_audit TO :app_role;

-- Alerts, each raised once (its alert_key) and sent to ALERT_WEBHOOK_URL when set: failed runs (kind run_failed,
-- keyed by the run), freshness breaches (freshness, keyed by the asset and the breach's start) and device-health
-- alerts when they open (device, keyed by their governance.device_alerts row; they name their apartment).
CREATE TABLE IF NOT EXISTS governance.alerts (
    alert_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    raised_at      timestamptz NOT NULL DEFAULT now(),
    kind           text        NOT NULL DEFAULT 'run_failed',
    alert_key      text        NOT NULL,         -- raised once per key (unique index below)
    run_id         text        UNIQUE,
    job_name       text,
    partition_key  text,
    apartment_key  bigint,                       -- the apartment a device alert names (GDPR export and erasure)
    message        text        NOT NULL,
    webhook_status text                          -- HTTP status or the error; NULL: no webhook configured
);
-- (an installation from before the kinds: its alerts are run failures keyed by their run)
ALTER TABLE governance.alerts ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'run_failed';
ALTER TABLE governance.alerts ADD COLUMN IF NOT EXISTS alert_key text;
ALTER TABLE governance.alerts ADD COLUMN IF NOT EXISTS apartment_key bigint;
UPDATE governance.alerts SET alert_key = run_id WHERE alert_key IS NULL;
ALTER TABLE governance.alerts ALTER COLUMN alert_key SET NOT NULL, ALTER COLUMN run_id DROP NOT NULL,
    ALTER COLUMN job_name DROP NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS alerts_alert_key ON governance.alerts (alert_key);
REVOKE ALL ON governance.alerts FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON governance.alerts TO :app_role;

-- Device-health alerts of the asset device_health_alerts: at most one open alert per (rule, device), kept
-- open while later days find the condition, closed by the first evaluation that does not (closed_at).
CREATE TABLE IF NOT EXISTS governance.device_alerts (
    alert_id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule           text        NOT NULL,
    device_key     bigint      NOT NULL,
    apartment_key  bigint      NOT NULL,
    apartment_id   text        NOT NULL,
    room_name      text        NOT NULL,
    device_id      text        NOT NULL,
    evidence       jsonb       NOT NULL,         -- values and times of the latest day found
    first_day      date        NOT NULL,         -- the local day whose evaluation opened it
    last_day       date        NOT NULL,         -- the latest local day found with the condition
    opened_at      timestamptz NOT NULL DEFAULT now(),
    closed_at      timestamptz,
    closed_day     date                          -- the local day whose evaluation found it cleared
);
ALTER TABLE governance.device_alerts DROP COLUMN IF EXISTS webhook_status;  -- now in governance.alerts
CREATE UNIQUE INDEX IF NOT EXISTS device_alerts_open ON governance.device_alerts (rule, device_key)
    WHERE closed_at IS NULL;
REVOKE ALL ON governance.device_alerts FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON governance.device_alerts TO :app_role;

-- The open device-health alerts, for the dashboards (docs/dashboards.md): a view of gold owned by the admin role
-- (so this set-up replaces it on every run), filtered for the querying role and a security barrier like gold's
-- views built by dbt.
CREATE OR REPLACE VIEW gold.dash_open_alerts WITH (security_barrier) AS
    SELECT alert_id, rule, apartment_key, apartment_id, room_name, device_id, first_day, last_day, opened_at,
           evidence::text AS evidence
    FROM governance.device_alerts
    WHERE closed_at IS NULL
      AND ((SELECT governance.sees_every_apartment()) OR apartment_key IN (SELECT governance.visible_apartments()));
COMMENT ON VIEW gold.dash_open_alerts IS 'The device-health alerts still open (governance.device_alerts).';
GRANT SELECT ON gold.dash_open_alerts TO :app_role;

-- Gold is readable by the BI roles; silver, the staging views and the ML tables are not.
GRANT USAGE ON SCHEMA gold TO domotic_bi;
GRANT SELECT ON ALL TABLES IN SCHEMA gold TO domotic_bi;
ALTER DEFAULT PRIVILEGES FOR ROLE :app_role IN SCHEMA gold GRANT SELECT ON TABLES TO domotic_bi;
