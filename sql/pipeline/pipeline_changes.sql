-- What a run wrote: for each entity, the version it closed (NULL for a document the run
-- created) and the version it wrote (and that version's xmin, which an in-place UPDATE
-- since would change), from its batches' arrays. rollback_pipeline restores from it.
CREATE OR REPLACE VIEW pgmigrate.pipeline_changes AS
SELECT b.run_id, u.entity_id, u.old_row_id, u.new_row_id, u.new_row_xmin
  FROM pgmigrate.pipeline_batches b
 CROSS JOIN LATERAL unnest(b.changed_ids, b.old_row_ids, b.new_row_ids, b.new_row_xmins) AS u(entity_id, old_row_id, new_row_id, new_row_xmin)
 WHERE b.status = 'DONE';
