-- cdc-bot's Redshift user: read-only, and only the staging tables its config names
-- (pipelines[].freshness[].table in deploy/overlays/example/cdc-bot.yml). The freshness check,
-- the weekly performance report and the DR comparison only SELECT from them.
-- Run as a superuser in the pipeline's database (cdcdemo). Replace the password first; with
-- redshift.iam: true use PASSWORD DISABLE instead (the bot then calls GetClusterCredentials).

CREATE USER cdc_bot_ro PASSWORD 'REPLACE-with-a-Strong-Passw0rd' CONNECTION LIMIT 10;

GRANT USAGE ON SCHEMA staging TO cdc_bot_ro;

GRANT SELECT ON staging.customers_stream TO cdc_bot_ro;
GRANT SELECT ON staging.products_stream TO cdc_bot_ro;
GRANT SELECT ON staging.orders_stream TO cdc_bot_ro;
