-- Entity schema versions. At most one is active (a partial unique index, so the
-- database itself enforces it); a published definition is never edited in place
-- (registry/forbid_published_edit.sql). Readable by everyone (the entity-store trigger
-- reads it as the writing role); written only by pg_migrate's functions.
CREATE TABLE pgmigrate.schema_versions (
    version_id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    version_number           text NOT NULL UNIQUE CHECK (version_number <> ''),
    schema_definition        jsonb NOT NULL
                             CONSTRAINT schema_definition_is_object CHECK (jsonb_typeof(schema_definition) = 'object'),
    is_active                boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by               text NOT NULL DEFAULT current_user,
    backward_compatible_with text[] NOT NULL DEFAULT '{}',
    forward_compatible_with  text[] NOT NULL DEFAULT '{}',
    breaking_changes         jsonb NOT NULL DEFAULT '[]'
                             CONSTRAINT breaking_changes_is_array CHECK (jsonb_typeof(breaking_changes) = 'array'),
    description              text,
    changelog                text
);
CREATE UNIQUE INDEX schema_versions_single_active ON pgmigrate.schema_versions ((true)) WHERE is_active;
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.schema_versions', '');
GRANT SELECT ON pgmigrate.schema_versions TO PUBLIC;
