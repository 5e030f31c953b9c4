CREATE OR REPLACE FUNCTION pgmigrate.check_field_name(entity_type text, field_name text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF entity_type IS NULL OR entity_type = '' OR field_name IS NULL OR field_name = '' THEN
        RAISE EXCEPTION 'entity_type and field_name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(field_name) > 63 THEN
        RAISE EXCEPTION 'field name "%" is % bytes long; the limit is 63', left(field_name, 40) || '...', octet_length(field_name)
            USING ERRCODE = 'name_too_long', HINT = 'Fields can become columns, whose names PostgreSQL limits to 63 bytes.';
    END IF;
END $$;
