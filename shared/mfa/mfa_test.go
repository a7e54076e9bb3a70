package mfa

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/uuid/v5"

	"github.com/cleanslice/cleanslice/shared/audit"
)

func TestAssurance(t *testing.T) {
	for _, c := range []struct {
		methods []string
		want    int
	}{
		{nil, AAL1}, {[]string{MethodPassword}, AAL1}, {[]string{MethodPassword, MethodTOTP}, AAL2},
		{[]string{MethodPassword, MethodRecoveryCode}, AAL2}, {[]string{MethodWebAuthn}, AAL2},
		{[]string{MethodOIDC}, AAL1}, {[]string{MethodOIDC, MethodTOTP}, AAL2},
	} {
		if got := AAL(c.methods); got != c.want {
			t.Errorf("AAL(%v) = %d, want %d", c.methods, got, c.want)
		}
	}
}

func TestFactors(t *testing.T) {
	for _, c := range []struct {
		f       Factors
		any     bool
		methods []string
	}{
		{Factors{}, false, nil},
		{Factors{RecoveryCodesLeft: 3}, false, []string{MethodRecoveryCode}}, // codes alone are no factor
		{Factors{TOTPEnabledAt: time.Unix(1, 0), RecoveryCodesLeft: 10}, true, []string{MethodTOTP, MethodRecoveryCode}},
		{Factors{TOTPEnabledAt: time.Unix(1, 0), Passkeys: 2}, true, []string{MethodTOTP, MethodWebAuthn}},
	} {
		if c.f.Any() != c.any || !slices.Equal(c.f.Methods(), c.methods) {
			t.Errorf("%+v: Any %v, Methods %v", c.f, c.f.Any(), c.f.Methods())
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes()
	seen := map[string]bool{}
	for _, c := range codes {
		n, ok := NormalizeRecoveryCode(c)
		if !ok || len(c) != 11 || c[5] != '-' || seen[n] {
			t.Fatalf("code %q (%q, %v)", c, n, ok)
		}
		seen[n] = true
		for _, typed := range []string{strings.ToUpper(c), " " + strings.ReplaceAll(c, "-", " ") + " ", strings.ReplaceAll(c, "-", "")} {
			if m, ok := NormalizeRecoveryCode(typed); !ok || m != n {
				t.Errorf("%q typed as %q: %q, %v", c, typed, m, ok)
			}
		}
	}
	for _, bad := range []string{"", "abcde-fghj", "abcde-fghjkm", "abcde-fghj1", "abcde-fghjo", "abcdé-fghjk"} {
		if _, ok := NormalizeRecoveryCode(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	store, alice := &codeStore{}, uuid.Must(uuid.NewV7())
	seal := func(u uuid.UUID, c string) StoredCode {
		return StoredCode{Digest: []byte("d:" + c), Sealed: []byte(u.String() + ":" + c)}
	}
	got, err := IssueRecoveryCodes(context.Background(), store, seal, alice, time.Now())
	if err != nil || len(got) != RecoveryCodes || len(store.codes) != RecoveryCodes {
		t.Fatalf("issued %d, stored %d, %v", len(got), len(store.codes), err)
	}
	if n, _ := NormalizeRecoveryCode(got[0]); string(store.codes[0].Digest) != "d:"+n || string(store.codes[0].Sealed) != alice.String()+":"+n {
		t.Fatalf("stored %q for %q", store.codes[0], got[0])
	}
	if len(store.events) != 1 || store.events[0].Type != audit.RecoveryCodesGenerated || store.events[0].Details["count"] != RecoveryCodes {
		t.Fatalf("events %+v: a set records its own event", store.events)
	}
}

type codeStore struct {
	codes  []StoredCode
	events []audit.Event
}

func (s *codeStore) ReplaceRecoveryCodes(_ context.Context, _ uuid.UUID, c []StoredCode, _ time.Time) error {
	s.codes = c
	return nil
}

func (s *codeStore) RecordEvent(_ context.Context, e audit.Event) error {
	s.events = append(s.events, e)
	return nil
}

// sealer seals by prefixing: "old:" is a previous key's.
type sealer struct{}

func (sealer) Seal(_ uuid.UUID, s string) []byte { return []byte("new:" + s) }
func (sealer) Open(_ uuid.UUID, b []byte) (string, bool, error) {
	k, s, ok := strings.Cut(string(b), ":")
	if !ok {
		return "", false, errors.New("unopenable")
	}
	return s, k == "old", nil
}

// codes: every code is its step's number.
type codes struct{}

func (codes) MatchStep(_, code string, _ time.Time) (int64, bool) {
	var s int64
	for _, c := range code {
		s = s*10 + int64(c-'0')
	}
	return s, code != "" && code != "0"
}

func TestCheckCode(t *testing.T) {
	totp := TOTP{Sealed: []byte("old:S"), EnabledAt: time.Unix(1, 0), LastStep: 41}
	if _, _, ok, _ := CheckCode(sealer{}, codes{}, uuid.Nil, totp, "41", time.Now()); ok {
		t.Fatal("the last accepted step again")
	}
	if _, _, ok, _ := CheckCode(sealer{}, codes{}, uuid.Nil, totp, "40", time.Now()); ok {
		t.Fatal("an earlier step")
	}
	step, resealed, ok, err := CheckCode(sealer{}, codes{}, uuid.Nil, totp, "42", time.Now())
	if err != nil || !ok || step != 42 || string(resealed) != "new:S" {
		t.Fatalf("the next step: %d %q %v %v", step, resealed, ok, err)
	}
	totp.Sealed = []byte("new:S")
	if _, resealed, _, _ := CheckCode(sealer{}, codes{}, uuid.Nil, totp, "42", time.Now()); resealed != nil {
		t.Fatal("sealed again under the current key")
	}
	totp.Sealed = []byte("garbage")
	if _, _, _, err := CheckCode(sealer{}, codes{}, uuid.Nil, totp, "42", time.Now()); err == nil {
		t.Fatal("an unopenable secret is no error")
	}
}

// TestTakeCeremony: the ceremony an answer names is taken whatever the
// outcome, and must be of the purpose, not over, and the owner's.
func TestTakeCeremony(t *testing.T) {
	now := time.Unix(1000, 0)
	alice, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for _, tc := range []struct {
		name     string
		answer   string
		stored   *Ceremony
		purpose  string
		owner    uuid.UUID
		want     error
		takesAny bool
	}{
		{"right", "c1", &Ceremony{Purpose: CeremonySecondStep, UserID: alice, ExpiresAt: now.Add(time.Second)}, CeremonySecondStep, alice, nil, true},
		{"passwordless", "c1", &Ceremony{Purpose: CeremonyPasskey, ExpiresAt: now.Add(time.Second)}, CeremonyPasskey, uuid.Nil, nil, true},
		{"no challenge in the answer", "", &Ceremony{Purpose: CeremonySecondStep, UserID: alice, ExpiresAt: now.Add(time.Second)}, CeremonySecondStep, alice, ErrInvalidCredential, false},
		{"used or unknown", "c1", nil, CeremonySecondStep, alice, ErrChallengeExpired, true},
		{"another purpose", "c1", &Ceremony{Purpose: CeremonyRegister, UserID: alice, ExpiresAt: now.Add(time.Second)}, CeremonySecondStep, alice, ErrInvalidCredential, true},
		{"another user's", "c1", &Ceremony{Purpose: CeremonySecondStep, UserID: bob, ExpiresAt: now.Add(time.Second)}, CeremonySecondStep, alice, ErrInvalidCredential, true},
		{"a user's, passwordless", "c1", &Ceremony{Purpose: CeremonyPasskey, UserID: bob, ExpiresAt: now.Add(time.Second)}, CeremonyPasskey, uuid.Nil, ErrInvalidCredential, true},
		{"over", "c1", &Ceremony{Purpose: CeremonySecondStep, UserID: alice, ExpiresAt: now}, CeremonySecondStep, alice, ErrChallengeExpired, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &ceremonies{stored: tc.stored}
			c, err := TakeCeremony(context.Background(), store, challenges{}, []byte(tc.answer), tc.purpose, tc.owner, now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if store.taken != tc.takesAny {
				t.Fatalf("taken: %v (a named ceremony is used whatever the outcome)", store.taken)
			}
			if err == nil && c.Purpose != tc.purpose {
				t.Fatalf("ceremony %+v", c)
			}
		})
	}
}

type ceremonies struct {
	stored *Ceremony
	taken  bool
}

func (s *ceremonies) TakeCeremony(_ context.Context, id []byte) (Ceremony, error) {
	s.taken = true
	if s.stored == nil || string(id) != "c1" {
		return Ceremony{}, ErrChallengeExpired
	}
	return *s.stored, nil
}

// challenges reads the answer itself as its challenge's ceremony id.
type challenges struct{}

func (challenges) CeremonyOf(credential []byte) ([]byte, error) {
	if len(credential) == 0 {
		return nil, ErrInvalidCredential
	}
	return credential, nil
}

func TestGiven(t *testing.T) {
	if Given(nil) || Given([]byte("null")) || !Given([]byte(`{"id":"x"}`)) {
		t.Fatal("a missing or null credential counts as given, or a real one does not")
	}
	if !Cloned(ErrClonedCredential) || Cloned(ErrInvalidCredential) || !errors.Is(ErrClonedCredential, ErrInvalidCredential) {
		t.Fatal("a clone is an invalid credential to the client, and itself to the trail")
	}
}
