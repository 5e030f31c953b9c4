-- Reference implementations from the design sketch, used as test oracles and as
-- benchmark baselines. They live in schema pgm_ref, outside the extension.
CREATE SCHEMA IF NOT EXISTS pgm_ref;

-- The sketch's detect_breaking_changes, verbatim but for the schema of is_type_compatible.
CREATE OR REPLACE FUNCTION pgm_ref.detect_breaking_changes(
    old_schema JSONB,
    new_schema JSONB
) RETURNS JSONB AS $$
DECLARE
    breaking_changes JSONB := '[]'::jsonb;
    entity_name TEXT;
    field_name TEXT;
    old_field JSONB;
    new_field JSONB;
BEGIN
    FOR entity_name IN SELECT jsonb_object_keys(old_schema->'entities') LOOP
        IF NOT (new_schema->'entities' ? entity_name) THEN
            breaking_changes := breaking_changes || jsonb_build_array(
                jsonb_build_object(
                    'type', 'ENTITY_REMOVED',
                    'entity', entity_name,
                    'severity', 'HIGH',
                    'description', 'Entity ' || entity_name || ' was removed'
                )
            );
        END IF;
    END LOOP;

    FOR entity_name IN SELECT jsonb_object_keys(old_schema->'entities') LOOP
        IF new_schema->'entities' ? entity_name THEN
            FOR field_name IN SELECT jsonb_object_keys((old_schema->'entities'->entity_name)->'fields') LOOP
                IF NOT ((new_schema->'entities'->entity_name)->'fields' ? field_name) THEN
                    breaking_changes := breaking_changes || jsonb_build_array(
                        jsonb_build_object(
                            'type', 'FIELD_REMOVED',
                            'entity', entity_name,
                            'field', field_name,
                            'severity', 'HIGH',
                            'description', 'Field ' || field_name || ' was removed from ' || entity_name
                        )
                    );
                END IF;
            END LOOP;

            FOR field_name IN SELECT jsonb_object_keys((old_schema->'entities'->entity_name)->'fields') LOOP
                IF (new_schema->'entities'->entity_name)->'fields' ? field_name THEN
                    old_field := (old_schema->'entities'->entity_name)->'fields'->field_name;
                    new_field := (new_schema->'entities'->entity_name)->'fields'->field_name;

                    IF old_field->>'type' != new_field->>'type' THEN
                        breaking_changes := breaking_changes || jsonb_build_array(
                            jsonb_build_object(
                                'type', 'FIELD_TYPE_CHANGED',
                                'entity', entity_name,
                                'field', field_name,
                                'old_type', old_field->>'type',
                                'new_type', new_field->>'type',
                                'severity', CASE
                                    WHEN pgmigrate.is_type_compatible(old_field->>'type', new_field->>'type')
                                    THEN 'MEDIUM'
                                    ELSE 'HIGH'
                                END,
                                'description', 'Field type changed from ' || (old_field->>'type') || ' to ' || (new_field->>'type')
                            )
                        );
                    END IF;

                    IF (old_field->>'nullable')::boolean = TRUE AND
                       (new_field->>'nullable')::boolean = FALSE THEN
                        breaking_changes := breaking_changes || jsonb_build_array(
                            jsonb_build_object(
                                'type', 'FIELD_NULLABILITY_CHANGED',
                                'entity', entity_name,
                                'field', field_name,
                                'severity', 'HIGH',
                                'description', 'Field ' || field_name || ' is no longer nullable'
                            )
                        );
                    END IF;
                END IF;
            END LOOP;
        END IF;
    END LOOP;

    RETURN breaking_changes;
END;
$$ LANGUAGE plpgsql;

-- A recursive deep merge in plain SQL: the baseline a team would write without pg_migrate.
CREATE OR REPLACE FUNCTION pgm_ref.jsonb_deep_merge(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
        WHEN jsonb_typeof(a) = 'object' AND jsonb_typeof(b) = 'object' THEN (
            SELECT coalesce(jsonb_object_agg(k,
                       CASE WHEN vb IS NULL THEN va
                            WHEN va IS NULL THEN vb
                            WHEN jsonb_typeof(va) = 'object' AND jsonb_typeof(vb) = 'object'
                                THEN pgm_ref.jsonb_deep_merge(va, vb)
                            ELSE vb END), '{}'::jsonb)
              FROM jsonb_each(a) AS ea(k, va) FULL JOIN jsonb_each(b) AS eb(k, vb) USING (k))
        ELSE b
    END
$$;

-- Random entity schemas of many shapes for oracle comparisons and benchmarks.
-- Names mix plain, spaced, quoted and unicode spellings; types, nullability and
-- defaults are drawn from what real schemas (and sloppy ones) contain.
CREATE OR REPLACE FUNCTION pgm_ref.random_field() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    types text[] := ARRAY['integer','bigint','smallint','varchar','text','varchar(10)','varchar(20)',
                          'timestamp','timestamptz','numeric(10,2)','numeric','string','number',
                          'boolean','real','double precision','uuid','jsonb','INT4','int'];
    f jsonb := '{}';
    r float8 := random();
BEGIN
    IF r < 0.9 THEN
        f := f || jsonb_build_object('type', types[1 + floor(random() * array_length(types, 1))::int]);
    ELSIF r < 0.95 THEN
        f := f || jsonb_build_object('type', (random() * 3)::int);
    ELSE
        f := f || '{"type": null}';
    END IF;
    r := random();
    f := f || CASE WHEN r < 0.35 THEN '{"nullable": true}'::jsonb
                   WHEN r < 0.65 THEN '{"nullable": false}'
                   WHEN r < 0.70 THEN '{"nullable": "yes"}'
                   WHEN r < 0.75 THEN '{"nullable": "no"}'
                   WHEN r < 0.78 THEN '{"nullable": 1}'
                   WHEN r < 0.81 THEN '{"nullable": 0}'
                   WHEN r < 0.85 THEN '{"nullable": null}'
                   ELSE '{}' END;
    IF random() < 0.2 THEN
        f := f || '{"default": "x"}';
    END IF;
    RETURN f;
END $$;

CREATE OR REPLACE FUNCTION pgm_ref.random_name(prefix text, i int) RETURNS text LANGUAGE sql AS $$
    SELECT CASE (i % 7)
        WHEN 0 THEN prefix || ' spaced ' || i
        WHEN 1 THEN prefix || '"quoted''' || i
        WHEN 2 THEN 'ünï_' || prefix || i
        ELSE prefix || i END
$$;

CREATE OR REPLACE FUNCTION pgm_ref.random_schema(n_entities int, n_fields int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ents jsonb := '{}';
    fields jsonb;
BEGIN
    FOR e IN 1..n_entities LOOP
        fields := '{}';
        FOR f IN 1..(1 + floor(random() * n_fields))::int LOOP
            fields := fields || jsonb_build_object(pgm_ref.random_name('f', f), pgm_ref.random_field());
        END LOOP;
        ents := ents || jsonb_build_object(pgm_ref.random_name('E', e), jsonb_build_object('fields', fields));
    END LOOP;
    RETURN jsonb_build_object('version', '1.0.0', 'entities', ents);
END $$;

-- A plausible next version: entities and fields dropped, retyped, re-flagged, added.
CREATE OR REPLACE FUNCTION pgm_ref.mutate_schema(s jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    ents jsonb := '{}';
    e record;
    f record;
    fields jsonb;
    r float8;
BEGIN
    IF random() < 0.03 THEN
        RETURN jsonb_build_object('version', '2.0.0');
    END IF;
    FOR e IN SELECT * FROM jsonb_each(s->'entities') LOOP
        r := random();
        CONTINUE WHEN r < 0.1;
        IF r < 0.13 THEN
            ents := ents || jsonb_build_object(e.key, '{}'::jsonb);
            CONTINUE;
        END IF;
        fields := '{}';
        FOR f IN SELECT * FROM jsonb_each(e.value->'fields') LOOP
            r := random();
            CONTINUE WHEN r < 0.1;
            fields := fields || jsonb_build_object(f.key,
                CASE WHEN r < 0.3 THEN pgm_ref.random_field()
                     WHEN r < 0.4 THEN f.value || '{"nullable": false}'
                     ELSE f.value END);
        END LOOP;
        IF random() < 0.4 THEN
            fields := fields || jsonb_build_object('added ' || floor(random() * 5)::int, pgm_ref.random_field());
        END IF;
        ents := ents || jsonb_build_object(e.key, jsonb_build_object('fields', fields));
    END LOOP;
    IF random() < 0.3 THEN
        ents := ents || '{"NewEntity": {"fields": {"id": {"type": "uuid", "nullable": false}}}}';
    END IF;
    RETURN jsonb_build_object('version', '2.0.0', 'entities', ents);
END $$;

-- A random nested document: objects of scalars, arrays and objects.
CREATE OR REPLACE FUNCTION pgm_ref.random_doc(depth int, width int) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb := '{}';
    r float8;
BEGIN
    FOR i IN 1..width LOOP
        r := random();
        d := d || jsonb_build_object('k' || floor(random() * width * 1.5)::int,
            CASE WHEN depth > 0 AND r < 0.3 THEN pgm_ref.random_doc(depth - 1, width)
                 WHEN r < 0.45 THEN to_jsonb(round((random() * 1000)::numeric, 2))
                 WHEN r < 0.6 THEN to_jsonb(md5(random()::text))
                 WHEN r < 0.7 THEN jsonb_build_array(1, 'two', 3.50)
                 WHEN r < 0.8 THEN 'null'::jsonb
                 WHEN r < 0.9 THEN to_jsonb(random() < 0.5)
                 ELSE '{}'::jsonb END);
    END LOOP;
    RETURN d;
END $$;
