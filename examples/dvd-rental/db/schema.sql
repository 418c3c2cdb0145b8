-- DVD-rental reference application: customers, a seeded DVD catalogue, and rentals.
-- Loaded once by postgres.sh when it creates the database, as the application role.

CREATE TABLE users (
  id         serial PRIMARY KEY,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email      text NOT NULL UNIQUE CHECK (length(email) <= 254),
  balance    numeric(12, 2) NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE dvds (
  id          serial PRIMARY KEY,
  title       text NOT NULL,
  genre       text NOT NULL,
  year        integer NOT NULL CHECK (year BETWEEN 1900 AND 2100),
  available   boolean NOT NULL DEFAULT true,
  -- Who holds the disc while it is rented; cleared on return.
  rented_by   integer REFERENCES users (id),
  CHECK (available = (rented_by IS NULL))
);

CREATE TABLE rentals (
  id          serial PRIMARY KEY,
  -- The contract id that contract-update hands to the client; the client returns by it.
  contract    text NOT NULL UNIQUE,
  user_id     integer NOT NULL REFERENCES users (id),
  dvd_id      integer NOT NULL REFERENCES dvds (id),
  rented_at   timestamptz NOT NULL DEFAULT now(),
  returned_at timestamptz,
  -- W3C trace id of the request that opened the rental, to follow it across services.
  trace_id    text
);

CREATE INDEX rentals_user_idx ON rentals (user_id);
CREATE INDEX rentals_open_dvd_idx ON rentals (dvd_id) WHERE returned_at IS NULL;

-- A deterministic catalogue of 1000 titles: DVD ids 1..1000.
INSERT INTO dvds (title, genre, year)
SELECT
  (ARRAY['Academy', 'Blade', 'Chamber', 'Desert', 'Echo', 'Falcon', 'Garden', 'Harbor', 'Island', 'Jungle',
         'Kingdom', 'Lagoon', 'Midnight', 'Northern', 'Ocean', 'Phantom', 'Quiet', 'River', 'Silver', 'Thunder'])[1 + (i % 20)]
  || ' ' ||
  (ARRAY['Affair', 'Bandit', 'Crusade', 'Dynasty', 'Express', 'Frontier', 'Ghost', 'Heist', 'Intrigue', 'Journey',
         'Knight', 'Legend', 'Mystery', 'Night', 'Odyssey', 'Promise', 'Quest', 'Rebel', 'Secret', 'Tale',
         'Union', 'Voyage', 'Warrior', 'Xanadu', 'Yankee'])[1 + ((i / 20) % 25)]
  || CASE WHEN i >= 500 THEN ' II' ELSE '' END,
  (ARRAY['Action', 'Animation', 'Comedy', 'Documentary', 'Drama', 'Horror', 'Music', 'Sci-Fi'])[1 + (i % 8)],
  1970 + (i * 7) % 55
FROM generate_series(0, 999) AS s(i);
