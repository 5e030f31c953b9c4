-- What a run wrote: for each entity, the version it closed (NULL for a document the run
-- created) and the version it wrote, from its batches' arrays. rollback_pipeline restores
-- from it.
CREATE VIEW pgmigrate.pipeline_changes AS
SELECT b.run_id, u.entity_id, u.old_row_id, u.new_row_id
  FROM pgmigrate.pipeline_batches b
 CROSS JOIN LATERAL unnest(b.changed_ids, b.old_row_ids, b.new_row_ids) AS u(entity_id, old_row_id, new_row_id)
 WHERE b.status = 'DONE';
