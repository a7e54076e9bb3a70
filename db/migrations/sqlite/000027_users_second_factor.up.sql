-- Whether a user has a second factor, kept by triggers (see the PostgreSQL
-- migration of the same number). SQLite's transactions are serialized, so
-- the column is what saves the login a read here.
ALTER TABLE users ADD COLUMN second_factor INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER mfa_totp_second_factor_insert AFTER INSERT ON mfa_totp BEGIN
    UPDATE users SET second_factor = (EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = NEW.user_id AND enabled_at IS NOT NULL)
                                      OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = NEW.user_id))
     WHERE id = NEW.user_id;
END;
CREATE TRIGGER mfa_totp_second_factor_update AFTER UPDATE OF enabled_at ON mfa_totp BEGIN
    UPDATE users SET second_factor = (EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = NEW.user_id AND enabled_at IS NOT NULL)
                                      OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = NEW.user_id))
     WHERE id = NEW.user_id;
END;
CREATE TRIGGER mfa_totp_second_factor_delete AFTER DELETE ON mfa_totp BEGIN
    UPDATE users SET second_factor = (EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = OLD.user_id AND enabled_at IS NOT NULL)
                                      OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = OLD.user_id))
     WHERE id = OLD.user_id;
END;
CREATE TRIGGER webauthn_credentials_second_factor_insert AFTER INSERT ON webauthn_credentials BEGIN
    UPDATE users SET second_factor = 1 WHERE id = NEW.user_id;
END;
CREATE TRIGGER webauthn_credentials_second_factor_delete AFTER DELETE ON webauthn_credentials BEGIN
    UPDATE users SET second_factor = (EXISTS (SELECT 1 FROM mfa_totp WHERE user_id = OLD.user_id AND enabled_at IS NOT NULL)
                                      OR EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = OLD.user_id))
     WHERE id = OLD.user_id;
END;

UPDATE users SET second_factor = 1
 WHERE id IN (SELECT user_id FROM mfa_totp WHERE enabled_at IS NOT NULL
              UNION SELECT user_id FROM webauthn_credentials);
