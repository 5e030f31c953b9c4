-- Schema pgmigrate is created by CREATE EXTENSION (control file: schema = pgmigrate).
-- Everything in it is readable by name; what each role may do is granted per object.
GRANT USAGE ON SCHEMA pgmigrate TO PUBLIC;
