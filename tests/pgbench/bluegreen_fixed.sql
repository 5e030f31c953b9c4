-- A writer that stays on the color it started on (public, the old shape: val), and
-- applies the same change to the plain mirror table in the same transaction.
\set id random(1, 110000)
\set op random(1, 6)
BEGIN;
\if :op = 1
WITH ins AS (INSERT INTO public.items (id, k, val, note) VALUES (:id, :id, md5(random()::text), 'new') ON CONFLICT (id) DO NOTHING RETURNING *)
INSERT INTO mirror.items SELECT id, k, val, note FROM ins;
\elif :op = 2
WITH u AS (UPDATE public.items SET note = NULL, val = NULL WHERE id = :id RETURNING *)
UPDATE mirror.items m SET note = u.note, val = u.val FROM u WHERE m.id = u.id;
\elif :op = 3
WITH d AS (DELETE FROM public.items WHERE id = :id RETURNING id)
DELETE FROM mirror.items m USING d WHERE m.id = d.id;
\elif :op = 4
WITH u AS (UPDATE public.items SET id = nextval('mirror.new_ids') WHERE id = :id RETURNING id)
UPDATE mirror.items m SET id = u.id FROM u WHERE m.id = :id;
\else
WITH u AS (UPDATE public.items SET val = md5(random()::text), k = k + 1, note = 'upd' WHERE id = :id RETURNING *)
UPDATE mirror.items m SET val = u.val, k = u.k, note = u.note FROM u WHERE m.id = u.id;
\endif
COMMIT;
