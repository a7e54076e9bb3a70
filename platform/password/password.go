// Package password hashes passwords with argon2id over HMAC-SHA256(pepper,
// password), encoded as PHC strings that carry their parameters and which
// pepper made them (argon2's keyid parameter), on a bounded pool so a
// burst of logins cannot exhaust memory or CPU.
//
// Peppers rotate by generation: the current one makes every new hash,
// previous ones still verify the hashes they made, and a login on such a
// hash stores a new one (NeedsRehash). One verification per attempt,
// whatever the number of peppers: the hash names its own.
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
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
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
	log          *slog.Logger
	params       Params
	pepper       []byte            // the current pepper
	pepperID     string            // and its id
	peppers      map[string][]byte // every configured pepper by id
	legacy       []byte            // the pepper of hashes that name none
	slots        chan struct{}     // always usable
	spare        chan struct{}     // the last core's slot: only while nothing else is in flight; nil with one slot
	yield        Yielder
	queueTimeout time.Duration
	dummy        string
	missing      sync.Map // salts of hashes already logged for an unknown pepper
	missingN     atomic.Int64
}

// Peppers are the pepper generations: Current makes new hashes, Previous
// still verify theirs. Hashes made before peppers had ids mean Previous[0]
// when there is one, else Current.
type Peppers struct {
	Current  string
	Previous []string
}

// PepperID is the id a hash records for the pepper that made it: 6 bytes
// of a SHA-256 of the pepper, base64 (argon2's keyid). It names a pepper
// without revealing it.
func PepperID(pepper string) string {
	sum := sha256.Sum256([]byte("cleanslice pepper id\x00" + pepper))
	return b64.EncodeToString(sum[:6])
}

// Observer is told how the pool is used (for metrics).
type Observer interface {
	HashStarted(wait time.Duration)
	HashDone()
}

type noObserver struct{}

func (noObserver) HashStarted(time.Duration) {}
func (noObserver) HashDone()                 {}

// Yielder says when other work is waiting: Idle returns a channel that is
// closed while no request other than those hashing is in flight (a new
// channel once one is).
type Yielder interface {
	Idle() <-chan struct{}
}

// New returns a hasher computing at most maxConcurrency hashes at once; a
// caller that waits longer than queueTimeout for a slot gets an unavailable
// error. With a yield and more than one slot, the last slot is used only
// while yield is idle: hashes take every core when nothing else wants one,
// and leave one core to other requests as soon as any is in flight (one
// hash already running on it finishes first). It computes one hash up
// front: the dummy that unknown usernames are verified against. obs, log
// and yield may be nil.
func New(p Params, peppers Peppers, maxConcurrency int, queueTimeout time.Duration, obs Observer, log *slog.Logger, yield Yielder) *Hasher {
	if obs == nil {
		obs = noObserver{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hasher{
		observer:     obs,
		log:          log,
		params:       p,
		pepper:       []byte(peppers.Current),
		pepperID:     PepperID(peppers.Current),
		peppers:      map[string][]byte{},
		slots:        make(chan struct{}, max(maxConcurrency, 1)),
		queueTimeout: queueTimeout,
	}
	if yield != nil && maxConcurrency > 1 {
		h.slots, h.spare, h.yield = make(chan struct{}, maxConcurrency-1), make(chan struct{}, 1), yield
	}
	for _, pp := range append([]string{peppers.Current}, peppers.Previous...) {
		h.peppers[PepperID(pp)] = []byte(pp)
	}
	h.legacy = h.pepper
	if len(peppers.Previous) > 0 {
		h.legacy = []byte(peppers.Previous[0])
	}
	h.dummy = h.encode(rand.Text())
	return h
}

// ErrBusy is returned when no hashing slot frees up in time.
var ErrBusy = fmt.Errorf("password hasher busy: %w", apperr.ErrUnavailable)

// acquire waits for a hashing slot and returns it, for release.
func (h *Hasher) acquire(ctx context.Context) (chan struct{}, error) {
	if slot := h.tryAcquire(); slot != nil {
		h.observer.HashStarted(0)
		return slot, nil
	}
	start := time.Now()
	t := time.NewTimer(h.queueTimeout)
	defer t.Stop()
	for {
		// While other requests are in flight, wait for a regular slot or
		// for them to be gone; while none is, the spare slot too.
		idle, spare := h.idle(), (chan struct{})(nil)
		if isClosed(idle) {
			idle, spare = nil, h.spare
		}
		select {
		case h.slots <- struct{}{}:
			h.observer.HashStarted(time.Since(start))
			return h.slots, nil
		case spare <- struct{}{}:
			h.observer.HashStarted(time.Since(start))
			return spare, nil
		case <-idle:
			// nothing else in flight now: look at the spare slot again
		case <-t.C:
			return nil, ErrBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// tryAcquire takes a free slot without waiting, or returns nil.
func (h *Hasher) tryAcquire() chan struct{} {
	select {
	case h.slots <- struct{}{}:
		return h.slots
	default:
	}
	if h.spare == nil || !isClosed(h.idle()) {
		return nil
	}
	select {
	case h.spare <- struct{}{}:
		return h.spare
	default:
		return nil
	}
}

// idle is the yield's channel; without a yield, nil (never used then: the
// spare slot exists only with one).
func (h *Hasher) idle() <-chan struct{} {
	if h.yield == nil {
		return nil
	}
	return h.yield.Idle()
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (h *Hasher) release(slot chan struct{}) {
	<-slot
	h.observer.HashDone()
}

// Hash returns the PHC string of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	slot, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(slot)
	return h.encode(password), nil
}

// Verify reports whether password matches the PHC string encoded, with
// the pepper the hash names. A hash whose pepper is no longer configured
// costs the same one verification and never matches, exactly like a wrong
// password; it is logged once per hash, so an operator who dropped a
// pepper too early sees it.
//
// An account without a password (user.NoPassword) is verified against
// the dummy hash: the same cost and answer as a wrong password.
func (h *Hasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	if encoded == user.NoPassword {
		_, err := h.Verify(ctx, h.dummy, password)
		return false, err
	}
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	pepper, known := h.pepperOf(p.keyID)
	slot, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer h.release(slot)
	got := argon2.IDKey(peppered(pepper, password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(key)))
	if !known {
		h.unknownPepper(p.keyID, salt)
		return false, nil
	}
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// pepperOf returns the pepper of a hash's key id ("" for hashes made before
// ids), or the current one and false when that pepper is not configured.
func (h *Hasher) pepperOf(id string) ([]byte, bool) {
	if id == "" {
		return h.legacy, true
	}
	if pp, ok := h.peppers[id]; ok {
		return pp, true
	}
	return h.pepper, false
}

// maxLoggedMissing bounds the memory of hashes already reported.
const maxLoggedMissing = 100_000

func (h *Hasher) unknownPepper(id string, salt []byte) {
	if h.missingN.Load() >= maxLoggedMissing {
		return
	}
	if _, seen := h.missing.LoadOrStore(string(salt), true); seen {
		return
	}
	h.missingN.Add(1)
	h.log.Warn("password hash made with a pepper that is not configured: the login fails; put the pepper back in password.previous_peppers", "pepper_id", id)
}

// NeedsRehash reports whether encoded was made with other parameters or
// another pepper than the current ones (or cannot be read), so a login
// should store a new hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, salt, key, err := decode(encoded)
	return err != nil || p.Params != h.params || p.keyID != h.pepperID || len(salt) != saltLen || len(key) != keyLen
}

// Describe returns what made a stored hash: its pepper id (empty: made
// before ids; "?" unreadable) and its parameters, for the hash report.
func Describe(encoded string) (pepperID string, p Params) {
	d, _, _, err := decode(encoded)
	if err != nil {
		return "?", Params{}
	}
	return d.keyID, d.Params
}

// Dummy returns a valid hash of a random password, to verify against when
// the user does not exist, so that case costs what a wrong password costs.
func (h *Hasher) Dummy() string { return h.dummy }

func peppered(pepper []byte, password string) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(password))
	return m.Sum(nil)
}

func (h *Hasher) encode(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	p := h.params
	key := argon2.IDKey(peppered(h.pepper, password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d,keyid=%s$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		h.pepperID, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var b64 = base64.RawStdEncoding

var errFormat = errors.New("password hash: not an argon2id PHC string")

// decoded are a hash's parameters and the id of its pepper.
type decoded struct {
	Params
	keyID string
}

func decode(encoded string) (p decoded, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errFormat
	}
	params, keyID, hasID := strings.Cut(parts[3], ",keyid=")
	if hasID {
		if keyID == "" {
			return p, nil, nil, errFormat
		}
		p.keyID = keyID
	}
	var rest string
	if n, _ := fmt.Sscanf(params, "m=%d,t=%d,p=%d%s", &p.MemoryKiB, &p.Iterations, &p.Parallelism, &rest); n != 3 {
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
