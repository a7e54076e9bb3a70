-- Recovery codes a change of key can move (SPEC 4c: retiring an MFA key
-- never voids a credential silently). Beside the keyed digest that a use
-- looks up and deletes, each code is kept sealed with AES-256-GCM under the
-- mfa key (key id, nonce, ciphertext; bound to its user), which
-- `cleanslice mfa rekey` opens to store the code's digest and seal under the
-- current key. A nullable column without a default: PostgreSQL changes only
-- the catalog (no rewrite, no scan). Codes stored before have no seal
-- (NULL): they work while the key that made them is configured and cannot
-- be moved. The index by key id comes in 000025, built CONCURRENTLY.
SET LOCAL lock_timeout = '5s';
ALTER TABLE mfa_recovery_codes ADD COLUMN sealed bytea;
