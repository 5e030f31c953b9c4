-- Registered transformation pipelines. definition is what the author registered;
-- compiled is its parsed form and SQL (src/pipeline). The pipeline's SQL (functions,
-- lookup and join tables) runs as author with author_search_path, never as the runner.
CREATE TABLE pgmigrate.pipelines (
    pipeline_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text NOT NULL UNIQUE CHECK (name <> ''),
    definition         jsonb NOT NULL,
    compiled           jsonb NOT NULL,
    author             regrole NOT NULL,
    author_search_path text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('pgmigrate.pipelines', '');
