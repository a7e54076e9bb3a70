// Package password hashes passwords with argon2id over HMAC-SHA256(pepper,
// password), encoded as PHC strings that carry their parameters, on a
// bounded pool so a burst of logins cannot exhaust memory or CPU.
package password

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/cleanslice/cleanslice/shared/apperr"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

const (
	saltLen = 16
	keyLen  = 32
)

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	observer     Observer
	params       Params
	pepper       []byte
	slots        chan struct{}
	queueTimeout time.Duration
	dummy        string
}

// Observer is told how the pool is used (for metrics).
type Observer interface {
	HashStarted(wait time.Duration)
	HashDone()
}

type noObserver struct{}

func (noObserver) HashStarted(time.Duration) {}
func (noObserver) HashDone()                 {}

// New returns a hasher computing at most maxConcurrency hashes at once; a
// caller that waits longer than queueTimeout for a slot gets an unavailable
// error. It computes one hash up front: the dummy that unknown usernames are
// verified against. obs may be nil.
func New(p Params, pepper string, maxConcurrency int, queueTimeout time.Duration, obs Observer) *Hasher {
	if obs == nil {
		obs = noObserver{}
	}
	h := &Hasher{
		observer:     obs,
		params:       p,
		pepper:       []byte(pepper),
		slots:        make(chan struct{}, max(maxConcurrency, 1)),
		queueTimeout: queueTimeout,
	}
	h.dummy = h.encode(rand.Text())
	return h
}

// ErrBusy is returned when no hashing slot frees up in time.
var ErrBusy = fmt.Errorf("password hasher busy: %w", apperr.ErrUnavailable)

// acquire waits for a hashing slot.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.observer.HashStarted(0)
		return nil
	default:
	}
	start := time.Now()
	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		h.observer.HashStarted(time.Since(start))
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	<-h.slots
	h.observer.HashDone()
}

// Hash returns the PHC string of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(password), nil
}

// Verify reports whether password matches the PHC string encoded.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey(h.peppered(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with other parameters than
// the current ones (or cannot be read), so a login should store a new hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decode(encoded)
	return err != nil || p != h.params || len(salt) != saltLen || len(key) != keyLen
}

// Dummy returns a valid hash of a random password, to verify against when
// the user does not exist, so that case costs what a wrong password costs.
func (h *Hasher) Dummy() string { return h.dummy }

func (h *Hasher) peppered(password string) []byte {
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte(password))
	return m.Sum(nil)
}

func (h *Hasher) encode(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	p := h.params
	key := argon2.IDKey(h.peppered(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var b64 = base64.RawStdEncoding

var errFormat = errors.New("password hash: not an argon2id PHC string")

func decode(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errFormat
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, errFormat
	}
	if p.MemoryKiB == 0 || p.Iterations == 0 || p.Parallelism == 0 {
		return p, nil, nil, errFormat
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, errFormat
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, errFormat
	}
	return p, salt, key, nil
}
