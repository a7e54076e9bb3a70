-- Nothing: see the up.
SELECT 1;
