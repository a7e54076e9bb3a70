package authtest

import "context"

// Hasher is a fake password hasher for the slices that hash or check a
// password: the hash of "pw" is "hash:pw". It counts its calls, so a test
// can tell that a refused request hashed or verified nothing.
type Hasher struct {
	Hashes   int // calls to Hash
	Verifies int // calls to Verify
}

// Hash returns "hash:" + password.
func (h *Hasher) Hash(_ context.Context, password string) (string, error) {
	h.Hashes++
	return "hash:" + password, nil
}

// Verify reports whether encoded is the hash of password.
func (h *Hasher) Verify(_ context.Context, encoded, password string) (bool, error) {
	h.Verifies++
	return encoded == "hash:"+password, nil
}
