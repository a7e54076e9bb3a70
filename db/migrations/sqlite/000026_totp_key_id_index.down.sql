DROP INDEX mfa_totp_key_id_idx;
