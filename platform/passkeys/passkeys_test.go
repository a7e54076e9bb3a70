package passkeys_test

import (
	"errors"
	"testing"

	"github.com/cleanslice/cleanslice/platform/passkeys"
	"github.com/cleanslice/cleanslice/platform/passkeys/passkeystest"
	"github.com/cleanslice/cleanslice/shared/mfa"
)

const origin = "https://app.example.com"

func register(t *testing.T, rp *passkeys.RelyingParty, a *passkeystest.Authenticator, acct mfa.Account) mfa.Passkey {
	t.Helper()
	opts, c, err := rp.BeginRegistration(acct)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := rp.CeremonyOf(answer); err != nil || string(id) != string(c.ID) {
		t.Fatalf("the answer's ceremony %x, %v; begun %x", id, err, c.ID)
	}
	p, err := rp.FinishRegistration(acct, c, answer)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCeremonies(t *testing.T) {
	rp, err := passkeys.New("example.com", "cleanslice", []string{origin})
	if err != nil {
		t.Fatal(err)
	}
	acct := mfa.Account{Handle: make([]byte, 32), Name: "alice"}
	a := passkeystest.New(origin, "example.com")
	p := register(t, rp, a, acct)
	if string(p.ID) != string(a.CredentialID) || len(p.Record) == 0 {
		t.Fatalf("registered %+v", p)
	}
	acct.Passkeys = []mfa.Passkey{p}

	// The second step of a login, then a passwordless sign-in.
	opts, c, err := rp.BeginLogin(acct)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := a.Get(opts)
	used, err := rp.FinishLogin(acct, c, answer)
	if err != nil || used.SignCount != 1 {
		t.Fatalf("login: %+v, %v", used, err)
	}
	acct.Passkeys = []mfa.Passkey{used}
	opts, c, err = rp.BeginPasskey()
	if err != nil {
		t.Fatal(err)
	}
	answer, _ = a.Get(opts)
	if h, err := rp.UserHandle(answer); err != nil || string(h) != string(acct.Handle) {
		t.Fatalf("user handle %x, %v", h, err)
	}
	if id, err := rp.CredentialID(answer); err != nil || string(id) != string(a.CredentialID) {
		t.Fatalf("credential id %x, %v", id, err)
	}
	if _, err := rp.CredentialID([]byte(`{"id":"x"}`)); !errors.Is(err, mfa.ErrInvalidCredential) {
		t.Fatalf("the credential id of garbage: %v", err)
	}
	used, err = rp.FinishPasskey(acct, c, answer)
	if err != nil || used.SignCount != 2 {
		t.Fatalf("passkey: %+v, %v", used, err)
	}
	acct.Passkeys = []mfa.Passkey{used}

	// The refusals.
	for name, lie := range map[string]func(a *passkeystest.Authenticator){
		"another origin":        func(a *passkeystest.Authenticator) { a.Origin = "https://evil.example.net" },
		"another RP id":         func(a *passkeystest.Authenticator) { a.RPID = "evil.example.net" },
		"a counter gone back":   func(a *passkeystest.Authenticator) { a.Counter = 0 },
		"another authenticator": func(a *passkeystest.Authenticator) { *a = *passkeystest.New(origin, "example.com") },
	} {
		liar := *a
		lie(&liar)
		opts, c, _ := rp.BeginLogin(acct)
		answer, _ := liar.Get(opts)
		if _, err := rp.FinishLogin(acct, c, answer); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// An answer to another ceremony.
	opts, _, _ = rp.BeginLogin(acct)
	_, other, _ := rp.BeginLogin(acct)
	answer, _ = a.Get(opts)
	if _, err := rp.FinishLogin(acct, other, answer); !errors.Is(err, mfa.ErrInvalidCredential) {
		t.Errorf("another ceremony's answer: %v", err)
	}
}
