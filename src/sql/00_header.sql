-- crm_hygiene @EXTVERSION@. Built from src/sql/*.sql in file-name order; do not edit the built file.
\echo Use "CREATE EXTENSION crm_hygiene" to load this file. \quit
