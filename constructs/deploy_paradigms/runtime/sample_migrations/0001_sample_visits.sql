-- The examples' first migration (PostgreSQL and the MySQL family alike).
CREATE TABLE IF NOT EXISTS sample_visits (
    id INT PRIMARY KEY,
    note VARCHAR(100) NOT NULL
);
