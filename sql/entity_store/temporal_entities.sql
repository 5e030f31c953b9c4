-- The entity store, versioned in time: the current version of an entity has
-- valid_to = 'infinity', and there is at most one current row per entity_id.
CREATE TABLE pgmigrate.temporal_entities (
    row_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    entity_type text NOT NULL CHECK (entity_type <> ''),
    content     jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT content_is_object CHECK (jsonb_typeof(content) = 'object'),
    metadata    jsonb NOT NULL DEFAULT '{}'
                CONSTRAINT metadata_is_object CHECK (jsonb_typeof(metadata) = 'object'),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz NOT NULL DEFAULT 'infinity',
    is_deleted  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text NOT NULL DEFAULT current_user,
    CONSTRAINT valid_interval CHECK (valid_from < valid_to)
);
-- One current row per entity; also the index for "current version of X".
CREATE UNIQUE INDEX temporal_entities_current ON pgmigrate.temporal_entities (entity_id)
    WHERE valid_to = 'infinity';
-- Current, live entities of a type: backfills, validation, deprecation scans.
CREATE INDEX temporal_entities_live_by_type ON pgmigrate.temporal_entities (entity_type)
    WHERE valid_to = 'infinity' AND NOT is_deleted;
-- History of an entity ("as of" queries).
CREATE INDEX temporal_entities_history ON pgmigrate.temporal_entities (entity_id, valid_from, valid_to);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.temporal_entities', '');
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.temporal_entities_row_id_seq', '');
