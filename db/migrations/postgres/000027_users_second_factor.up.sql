-- Whether a user has a second factor (an enabled authenticator app or a
-- passkey), on the user's own row, kept by triggers whatever writes the
-- factors (old replicas during a rolling deploy included). A login reads
-- it with the user, before the hash, instead of reading the factors after
-- it; and a session made with a password alone (aal 1) is stored only
-- while it is false, in the statement that locks the user's row
-- (InsertSessionIfCurrent): enrolling a first factor updates the row, so a
-- login racing with the enrollment either waits and sees it, or commits
-- first and its session is ended by the enrollment. Added without a
-- rewrite (a constant default); only the users with a factor are updated.
SET LOCAL lock_timeout = '5s';

ALTER TABLE users ADD COLUMN second_factor boolean NOT NULL DEFAULT false;

CREATE FUNCTION users_second_factor() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid uuid;
BEGIN
    IF TG_OP = 'DELETE' THEN
        uid := OLD.user_id;
    ELSE
        uid := NEW.user_id;
    END IF;
    UPDATE users SET second_factor = NOT second_factor
     WHERE id = uid
       AND second_factor <> (EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = uid AND enabled_at IS NOT NULL)
                             OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = uid));
    RETURN NULL;
END
$$;

CREATE TRIGGER mfa_totp_second_factor AFTER INSERT OR UPDATE OF enabled_at OR DELETE ON mfa_totp
    FOR EACH ROW EXECUTE FUNCTION users_second_factor();
CREATE TRIGGER webauthn_credentials_second_factor AFTER INSERT OR DELETE ON webauthn_credentials
    FOR EACH ROW EXECUTE FUNCTION users_second_factor();

UPDATE users SET second_factor = true
  FROM (SELECT user_id FROM mfa_totp WHERE enabled_at IS NOT NULL
        UNION SELECT user_id FROM webauthn_credentials) AS f
 WHERE users.id = f.user_id;
