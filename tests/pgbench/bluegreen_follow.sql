-- A writer that follows the switch: each transaction starts with use_active_schema(true)
-- and writes unqualified, with the columns both shapes share (id, k, note); the same
-- change goes to the plain mirror table in the same transaction.
\set id random(1, 110000)
\set op random(1, 5)
BEGIN;
SELECT pgmigrate.use_active_schema(true);
\if :op = 1
WITH ins AS (INSERT INTO items (id, k, note) VALUES (:id, :id, 'new') ON CONFLICT (id) DO NOTHING RETURNING id, k, note)
INSERT INTO mirror.items (id, k, note) SELECT id, k, note FROM ins;
\elif :op = 2
WITH u AS (UPDATE items SET note = NULL, k = k + 1 WHERE id = :id RETURNING id, k, note)
UPDATE mirror.items m SET note = u.note, k = u.k FROM u WHERE m.id = u.id;
\elif :op = 3
WITH d AS (DELETE FROM items WHERE id = :id RETURNING id)
DELETE FROM mirror.items m USING d WHERE m.id = d.id;
\elif :op = 4
WITH u AS (UPDATE items SET id = nextval('mirror.new_ids') WHERE id = :id RETURNING id)
UPDATE mirror.items m SET id = u.id FROM u WHERE m.id = :id;
\else
WITH u AS (UPDATE items SET note = 'follow', k = k + 2 WHERE id = :id RETURNING id, k, note)
UPDATE mirror.items m SET note = u.note, k = u.k FROM u WHERE m.id = u.id;
\endif
COMMIT;
