-- is_type_compatible and type_change_info: the compatibility matrix.
SET search_path = pgmigrate, public;

CREATE TEMP TABLE matrix (old_type text, new_type text, expected boolean);
INSERT INTO matrix VALUES
    -- the sketch's rules
    ('integer', 'bigint', true), ('varchar', 'text', true), ('timestamp', 'timestamptz', true), ('text', 'text', true),
    -- aliases and spelling
    ('int4', 'BIGINT', true), ('int', 'int8', true), ('INTEGER', ' integer ', true),
    ('character varying', 'text', true), ('character varying(10)', 'varchar(12)', true),
    ('timestamp without time zone', 'timestamp with time zone', true), ('float4', 'double precision', true),
    ('decimal(8,2)', 'numeric(10,2)', true), ('bool', 'boolean', true),
    -- the integer ladder
    ('smallint', 'integer', true), ('smallint', 'bigint', true), ('integer', 'numeric', true), ('bigint', 'numeric', true),
    ('integer', 'numeric(10,0)', true), ('integer', 'numeric(9,0)', false),
    -- floats
    ('real', 'double precision', true), ('integer', 'double precision', true),
    ('bigint', 'real', false), ('bigint', 'double precision', false), ('double precision', 'real', false),
    -- lengths and precision
    ('varchar(10)', 'varchar(20)', true), ('varchar(20)', 'varchar(10)', false), ('varchar(20)', 'varchar', true),
    ('varchar', 'varchar(20)', false), ('text', 'varchar(10)', false),
    ('numeric(10,2)', 'numeric(12,2)', true), ('numeric(10,2)', 'numeric', true), ('numeric(12,2)', 'numeric(10,2)', false),
    ('numeric', 'numeric(10,2)', false), ('numeric(10,2)', 'numeric(10,1)', false),
    ('timestamp(3)', 'timestamp(6)', true), ('timestamp(6)', 'timestamp(3)', false), ('timestamptz', 'timestamp', false),
    ('date', 'timestamptz', true),
    -- JSON document types
    ('integer', 'number', true), ('number', 'integer', false), ('string', 'string', true), ('string', 'number', false),
    ('boolean', 'string', false), ('object', 'array', false),
    -- narrowing and unrelated
    ('bigint', 'integer', false), ('integer', 'smallint', false), ('numeric', 'integer', false), ('text', 'integer', false),
    ('uuid', 'text', false), ('jsonb', 'json', true), ('json', 'jsonb', false), ('integer[]', 'bigint[]', true),
    -- unknown types only match themselves
    ('geometry', 'geometry', true), ('geometry', 'GEOMETRY', true), ('geometry', 'text', false), ('', 'text', false);

SELECT count(*) AS cases, count(*) FILTER (WHERE is_type_compatible(old_type, new_type) IS DISTINCT FROM expected) AS wrong
  FROM matrix;
SELECT old_type, new_type, expected, is_type_compatible(old_type, new_type) AS got
  FROM matrix WHERE is_type_compatible(old_type, new_type) IS DISTINCT FROM expected;
SELECT is_type_compatible(NULL, 'text') IS NULL AS strict_null;

-- type_change_info follows what ALTER COLUMN TYPE really does.
SELECT o, n, type_change_info(o, n)
  FROM (VALUES ('varchar(10)', 'varchar(20)'), ('varchar(20)', 'varchar(10)'), ('varchar', 'text'),
               ('text', 'varchar(5)'), ('integer', 'bigint'), ('bigint', 'integer'), ('numeric(10,2)', 'numeric(14,2)'),
               ('numeric(10,2)', 'numeric(10,3)'), ('timestamp', 'timestamptz'), ('timestamptz', 'timestamp'),
               ('uuid', 'integer'), ('integer', 'number'), ('int4', 'integer')) AS t(o, n);

-- Checked against PostgreSQL itself: the rewrite column predicts whether the table's
-- relfilenode changes (session time zone UTC for the timestamp case).
SET timezone = 'UTC';
CREATE TEMP TABLE rewrite_probe (o text, n text);
INSERT INTO rewrite_probe VALUES ('varchar(10)', 'varchar(20)'), ('varchar(20)', 'varchar(10)'), ('varchar(10)', 'text'),
    ('text', 'varchar(5)'), ('integer', 'bigint'), ('numeric(10,2)', 'numeric(14,2)'), ('numeric(10,2)', 'numeric(10,3)'),
    ('timestamp', 'timestamptz'), ('smallint', 'integer'), ('timestamp(3)', 'timestamp(6)');
CREATE FUNCTION pg_temp.rewrites(o text, n text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE before oid; after oid;
BEGIN
    EXECUTE format('CREATE TEMP TABLE probe (c %s)', o);
    INSERT INTO probe VALUES (NULL);
    SELECT relfilenode INTO before FROM pg_class WHERE oid = 'probe'::regclass;
    EXECUTE format('ALTER TABLE probe ALTER COLUMN c TYPE %s', n);
    SELECT relfilenode INTO after FROM pg_class WHERE oid = 'probe'::regclass;
    DROP TABLE probe;
    RETURN before <> after;
END $$;
SELECT o, n, type_change_info(o, n)->>'rewrite' AS predicted, pg_temp.rewrites(o, n) AS postgres_rewrote
  FROM rewrite_probe;
RESET timezone;
