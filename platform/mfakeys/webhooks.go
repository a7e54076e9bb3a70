package mfakeys

import "github.com/gofrs/uuid/v5"

// SealWebhookSecret seals a webhook endpoint's signing secret under the
// current key, bound to the endpoint and to its use (a sealed secret
// moved to another endpoint's row, or to a TOTP secret's, does not open).
func (k *Keys) SealWebhookSecret(endpointID uuid.UUID, secret string) []byte {
	return seal(k.current, secret, webhookAD(endpointID))
}

// OpenWebhookSecret returns the secret SealWebhookSecret sealed for
// endpointID, and whether it was sealed with a previous key.
func (k *Keys) OpenWebhookSecret(endpointID uuid.UUID, sealed []byte) (secret string, stale bool, err error) {
	return k.open(sealed, webhookAD(endpointID))
}

// ResealWebhookSecret returns an endpoint's signing secret, sealed under
// any configured key, sealed again under the current one.
func (k *Keys) ResealWebhookSecret(endpointID uuid.UUID, sealed []byte) ([]byte, error) {
	secret, _, err := k.OpenWebhookSecret(endpointID, sealed)
	if err != nil {
		return nil, err
	}
	return k.SealWebhookSecret(endpointID, secret), nil
}

func webhookAD(endpointID uuid.UUID) []byte {
	return append([]byte("webhook secret\x00"), endpointID.Bytes()...)
}
