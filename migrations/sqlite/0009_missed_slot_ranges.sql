-- microbot schema 0009 (SQLite). Keep in step with ../postgres/.
-- How many schedule slots a delivery row stands for: 1, except for the one
-- `missed` row per target that counts the older slots of a long outage
-- (beyond the newest ones recorded one row each) from its own slot on.
-- `stats` sums it, so every missed slot is counted.
ALTER TABLE deliveries ADD COLUMN slots INTEGER NOT NULL DEFAULT 1;
