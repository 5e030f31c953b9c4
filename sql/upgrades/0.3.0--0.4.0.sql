-- pg_migrate 0.3.0 -> 0.4.0. Built by scripts/build_sql.sh into sql/pg_migrate--0.3.0--0.4.0.sql.
-- Table changes are written here; every function (with its triggers and grants) is then
-- re-created from its one source file, the same files a fresh install runs (sql/install.sql).

-- Who stored each migration, recorded by the database (never a column the caller fills
-- in), and the search_path its SQL was written against. Rows from before 0.4.0 have no
-- recorded author: they do not run until an admin adopts them (pgmigrate.adopt_migration).
ALTER TABLE pgmigrate.knowledge_migrations
    ADD COLUMN stored_by regrole,
    ADD COLUMN stored_search_path text,
    ADD CONSTRAINT depends_on_has_no_nulls CHECK (array_position(depends_on, NULL) IS NULL);

-- 0.3.0's grant helpers handed out write access to the registry and EXECUTE on its
-- internals. Take back everything but SELECT from every role but the owner.
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.oid::regclass AS rel, a.privilege_type,
               CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.relnamespace = 'pgmigrate'::regnamespace
           AND c.relname IN ('knowledge_migrations', 'migration_execution_state', 'schema_versions', 'audit_log',
                             'active_schema_version')
           AND a.grantee <> c.relowner AND a.privilege_type <> 'SELECT'
    LOOP
        EXECUTE format('REVOKE %s ON %s FROM %s', r.privilege_type, r.rel, r.who);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure AS fn,
               CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
          FROM pg_proc p, aclexplode(p.proacl) a
         WHERE p.pronamespace = 'pgmigrate'::regnamespace AND a.grantee <> p.proowner
           AND p.proname IN ('audit', 'publish_next_version', 'lock_active_version', 'set_step_timeout')
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM %s', r.fn, r.who);
    END LOOP;
END $$;


-- Internals replaced by owner-only versions (engine/*.sql, schema_evolution/publish_next_version.sql).
DROP FUNCTION pgmigrate.run_step(jsonb, integer, text);
DROP FUNCTION pgmigrate.run_phases(pgmigrate.knowledge_migrations, text[], boolean);
DROP FUNCTION pgmigrate.record_run(pgmigrate.knowledge_migrations, uuid, jsonb, text, text, jsonb);
DROP FUNCTION pgmigrate.lock_migration(text);
DROP FUNCTION pgmigrate.publish_next_version(pgmigrate.schema_versions, jsonb, text);

-- Deprecated-field usage: the shared counter table becomes an append-only log summed by a
-- view. Counts written by earlier versions move to the log.
\ir ../entity_store/deprecated_field_usage_log.sql
INSERT INTO pgmigrate.deprecated_field_usage_log (entity_type, field_name, writes, logged_at)
SELECT entity_type, field_name, writes, coalesce(last_seen, clock_timestamp())
  FROM pgmigrate.deprecated_field_usage WHERE writes > 0;
DROP FUNCTION pgmigrate.record_deprecated_use(text, text[]);
DROP TABLE pgmigrate.deprecated_field_usage;
\ir ../entity_store/deprecated_field_usage.sql

-- run_migration: phases committed one by one, background-worker jobs, lock retries.
ALTER TABLE pgmigrate.migration_execution_state ADD COLUMN phase_number integer;
\ir ../engine/migration_runs.sql
\ir ../engine/migration_jobs.sql

-- Every function, from its source.
\ir ../jsonb/jsonb_deep_merge.sql
\ir ../schema_evolution/is_type_compatible.sql
\ir ../schema_evolution/type_change_info.sql
\ir ../schema_evolution/detect_breaking_changes.sql
\ir ../registry/forbid_published_edit.sql
\ir ../registry/active_schema_version_upsert.sql
\ir ../registry/active_schema_version_keep.sql
\ir ../registry/audit_log_stamp.sql
\ir ../registry/audit_log_append_only.sql
\ir ../registry/audit.sql
\ir ../schema_evolution/check_schema_compatibility.sql
\ir ../entity_store/temporal_entities_evolve.sql
\ir ../schema_evolution/schema_versions_changed.sql
\ir ../schema_evolution/active_schema_definition.sql
\ir ../schema_evolution/active_schema_version_number.sql
\ir ../schema_evolution/schema_history.sql
\ir ../schema_evolution/check_compatibility.sql
\ir ../schema_evolution/next_version_number.sql
\ir ../schema_evolution/activate_schema_version.sql
\ir ../schema_evolution/register_schema_version.sql
\ir ../schema_evolution/lock_active_version.sql
\ir ../schema_evolution/check_field_name.sql
\ir ../schema_evolution/add_field_backward_compatible.sql
\ir ../schema_evolution/deprecate_field.sql
\ir ../schema_evolution/backfill_field.sql
\ir ../registry/grant_schema_admin.sql
\ir ../engine/migration_order.sql
\ir ../safety/analyze_sql.sql
\ir ../entity_store/document_violations.sql
\ir ../engine/set_step_timeout.sql
\ir ../registry/migration_status_guard.sql
\ir ../registry/migration_graph.sql
\ir ../registry/check_migration_graph.sql
\ir ../engine/normalize_steps.sql
\ir ../engine/register_migration.sql
\ir ../engine/register_migrations.sql
\ir ../engine/migration_steps.sql
\ir ../engine/execute_migration.sql
\ir ../engine/migration_plan.sql
\ir ../engine/execute_pending_migrations.sql
\ir ../engine/rollback_migration.sql
\ir ../safety/validate_migration_safety.sql
\ir ../registry/grant_migration_admin.sql
\ir ../registry/knowledge_migrations_guard.sql
\ir ../registry/knowledge_migrations_deleted.sql
\ir ../engine/refuse_drop_while_running.sql
\ir ../engine/exec_as.sql
\ir ../engine/query_as.sql
\ir ../engine/step_timeout_fired.sql
\ir ../engine/subquery.sql
\ir ../engine/adopt_migration.sql
\ir ../engine/lock_migration.sql
\ir ../engine/run_step.sql
\ir ../engine/run_phases.sql
\ir ../engine/record_run.sql
\ir ../engine/run_options.sql
\ir ../schema_evolution/publish_next_version.sql
\ir ../schema_evolution/backfill_field_batch.sql
\ir ../entity_store/restoring_copy.sql
\ir ../entity_store/deprecated_field_usage_reset.sql
\ir ../entity_store/temporal_entities_usage.sql
\ir ../engine/autocommit_kind.sql
\ir ../engine/launch_job.sql
\ir ../engine/process_alive.sql
\ir ../engine/leftover_indexes.sql
\ir ../engine/check_lock_settings.sql
\ir ../engine/inherit_lock_settings.sql
\ir ../engine/step_mode.sql
\ir ../engine/check_autocommit_steps.sql
\ir ../engine/refuse_phased_steps.sql
\ir ../engine/record_steps.sql
\ir ../engine/lock_plan.sql
\ir ../engine/lock_backoff_ms.sql
\ir ../engine/lock_failure.sql
\ir ../engine/run_step_retrying.sql
\ir ../engine/phase_plan.sql
\ir ../engine/run_migration_options.sql
\ir ../engine/run_log.sql
\ir ../engine/set_migration_status.sql
\ir ../engine/start_run.sql
\ir ../engine/launch.sql
\ir ../engine/fail_run.sql
\ir ../engine/run_migration_phase.sql
\ir ../engine/run_phase_work.sql
\ir ../engine/run_migration.sql
-- blue-green switching (bluegreen/), new in 0.4.0
\ir ../bluegreen/blue_green_deployments.sql
\ir ../bluegreen/blue_green_log.sql
\ir ../bluegreen/blue_green_state_guard.sql
\ir ../bluegreen/bg_options.sql
\ir ../bluegreen/bg_int_option.sql
\ir ../bluegreen/bg_bool_option.sql
\ir ../bluegreen/bg_lock.sql
\ir ../bluegreen/bg_capture.sql
\ir ../bluegreen/bg_refuse_truncate.sql
\ir ../bluegreen/bg_begin.sql
\ir ../bluegreen/bg_create_target.sql
\ir ../bluegreen/bg_copy_batch.sql
\ir ../bluegreen/bg_build_indexes.sql
\ir ../bluegreen/bg_build_fks.sql
\ir ../bluegreen/bg_validate_fks.sql
\ir ../bluegreen/bg_run_steps.sql
\ir ../bluegreen/bg_column_map.sql
\ir ../bluegreen/bg_sync_body.sql
\ir ../bluegreen/bg_compile.sql
\ir ../bluegreen/bg_backfill_mapped.sql
\ir ../bluegreen/bg_replay_batch.sql
\ir ../bluegreen/bg_handover.sql
\ir ../bluegreen/blue_green_prepare_step.sql
\ir ../bluegreen/blue_green_prepare.sql
\ir ../bluegreen/bg_switch_to.sql
\ir ../bluegreen/blue_green_switch.sql
\ir ../bluegreen/blue_green_rollback.sql
\ir ../bluegreen/blue_green_validate.sql
\ir ../bluegreen/bg_teardown.sql
\ir ../bluegreen/blue_green_abort.sql
\ir ../bluegreen/blue_green_finish.sql
\ir ../bluegreen/blue_green_status.sql
\ir ../bluegreen/active_schema.sql
\ir ../bluegreen/bg_color_schemas.sql
\ir ../bluegreen/use_active_schema.sql
\ir ../bluegreen/grant_blue_green_admin.sql

-- Canary routing: new in 0.4.0 (tables, then functions).
\ir ../canary/canaries.sql
\ir ../canary/canary_history.sql
\ir ../canary/canary_metrics.sql
\ir ../canary/canary_evaluations.sql
\ir ../canary/canary_evaluation_metrics.sql
\ir ../canary/canary_custom_metrics.sql
\ir ../canary/canary_state_guard.sql
\ir ../canary/canary_bucket.sql
\ir ../canary/canary_route.sql
\ir ../canary/canary_use.sql
\ir ../canary/canary_options.sql
\ir ../canary/canary_judge.sql
\ir ../canary/canary_lock.sql
\ir ../canary/canary_apply.sql
\ir ../canary/canary_create.sql
\ir ../canary/canary_start.sql
\ir ../canary/canary_consistency.sql
\ir ../canary/canary_observe.sql
\ir ../canary/canary_finish_promote.sql
\ir ../canary/canary_finish_rollback.sql
\ir ../canary/canary_tick.sql
\ir ../canary/canary_report.sql
\ir ../canary/canary_evaluate.sql
\ir ../canary/canary_step.sql
\ir ../canary/canary_pause.sql
\ir ../canary/canary_resume.sql
\ir ../canary/canary_set_percentage.sql
\ir ../canary/canary_promote.sql
\ir ../canary/canary_rollback.sql
\ir ../canary/canary_run.sql
\ir ../canary/grant_canary_admin.sql
\ir ../canary/grant_canary_client.sql
-- Transformation pipelines (new in 0.4.0)
\ir ../pipeline/pipelines.sql
\ir ../pipeline/pipeline_runs.sql
\ir ../pipeline/pipeline_batches.sql
\ir ../pipeline/pipeline_errors.sql
\ir ../pipeline/pipeline_changes.sql
\ir ../pipeline/pipeline_step_counts.sql
\ir ../pipeline/pipeline_compile.sql
\ir ../pipeline/pipeline_sql.sql
\ir ../pipeline/pipeline_temp.sql
\ir ../pipeline/pipeline_load.sql
\ir ../pipeline/pipeline_transform.sql
\ir ../pipeline/pipeline_apply.sql
\ir ../pipeline/pipeline_write.sql
\ir ../pipeline/pipeline_fused.sql
\ir ../pipeline/pipeline_source.sql
\ir ../pipeline/pipeline_plan.sql
\ir ../pipeline/pipeline_tally.sql
\ir ../pipeline/register_pipeline.sql
\ir ../pipeline/pipeline_start.sql
\ir ../pipeline/pipeline_batch.sql
\ir ../pipeline/pipeline_stop.sql
\ir ../pipeline/run_pipeline.sql
\ir ../pipeline/pipeline_preview.sql
\ir ../pipeline/rollback_pipeline.sql
\ir ../pipeline/pipeline_run_inline.sql
\ir ../pipeline/grant_pipeline_admin.sql
