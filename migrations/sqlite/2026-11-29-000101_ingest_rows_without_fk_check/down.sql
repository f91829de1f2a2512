-- PostgreSQL only (see migrations/postgres/2026-11-29-000101_ingest_rows_without_fk_check):
-- on SQLite the foreign keys stay, since dropping one there means rebuilding the table and
-- SQLite's ingest was not where their cost was measured. This file keeps both backends'
-- migration histories in step.
SELECT 1;
