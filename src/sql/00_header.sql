-- crm_hygiene 0.1.0. Built from src/sql/*.sql in file-name order; do not edit the built file.
\echo Use "CREATE EXTENSION crm_hygiene" to load this file. \quit
