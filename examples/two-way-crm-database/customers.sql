-- The customers table of the example workflows (PostgreSQL), with updated_at kept by a trigger.
CREATE TABLE customers (
  id serial PRIMARY KEY,
  full_name text NOT NULL,
  email text NOT NULL,
  phone varchar(20),
  active boolean NOT NULL DEFAULT true,
  birth_date timestamptz,
  status text NOT NULL CHECK (status IN ('A', 'I', 'L')),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END $$;
CREATE TRIGGER customers_touch BEFORE UPDATE ON customers
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
