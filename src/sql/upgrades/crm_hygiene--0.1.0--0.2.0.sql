-- crm_hygiene 0.1.0 -> 0.2.0. Frozen once 0.2.0 is released. test/release/upgrade_catalog.sh
-- checks that 0.1.0 upgraded with this script has exactly the catalog of a fresh 0.2.0 install.
\echo Use "ALTER EXTENSION crm_hygiene UPDATE TO '0.2.0'" to load this file. \quit
