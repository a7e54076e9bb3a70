package identity

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cleanslice/cleanslice/shared/user"
)

// trusted is a provider whose verified claims link (link_by_email =
// verified, trust_email) and which makes accounts.
var trusted = Situation{Trusted: true, LinkByEmail: true, AllowSignup: true}

// TestDecide: the named cases of SPEC 4d, row by row.
func TestDecide(t *testing.T) {
	with := func(s Situation, f func(*Situation)) Situation { f(&s); return s }
	for _, c := range []struct {
		name    string
		s       Situation
		want    Outcome
		verify  bool  // Create: the address verified
		refusal error // Refuse
	}{
		{"a known identity signs in, whatever its address says now", with(trusted, func(s *Situation) { s.Known, s.Local, s.Claim = true, LocalVerified, ClaimUnverified }), SignIn, false, nil},
		{"a known identity signs in even where no signup is allowed", Situation{Known: true}, SignIn, false, nil},
		{"a new identity, no account with its address: an account, the address verified by a trusted claim",
			with(trusted, func(s *Situation) { s.Claim = ClaimVerified }), Create, true, nil},
		{"a new identity, an untrusted provider's verified claim: an account, the address unverified",
			Situation{Claim: ClaimVerified, AllowSignup: true}, Create, false, nil},
		{"a new identity, an unverified claim: an account, the address unverified",
			with(trusted, func(s *Situation) { s.Claim = ClaimUnverified }), Create, false, nil},
		{"a new identity without an address: an account without one",
			trusted, Create, false, nil},
		{"a new identity without an address where one is required: refused",
			with(trusted, func(s *Situation) { s.EmailRequired = true }), Refuse, false, ErrEmailRequired},
		{"pre-hijack: the victim's address claimed unverified by an attacker's account; the victim's trusted sign-in makes a new account and verifies the address there",
			with(trusted, func(s *Situation) { s.Local, s.Claim = LocalUnverified, ClaimVerified }), Create, true, nil},
		{"pre-hijack, untrusted provider: a new account, nothing joined",
			Situation{Local: LocalUnverified, Claim: ClaimVerified, LinkByEmail: false, AllowSignup: true}, Create, false, nil},
		{"link_by_email = never: an account with the verified address refuses (sign in, then link)",
			with(trusted, func(s *Situation) { s.LinkByEmail, s.Local, s.Claim = false, LocalVerified, ClaimVerified }), Refuse, false, ErrAccountExists},
		{"nOAuth: an untrusted provider (Entra's mutable, unverified email) claims a verified address here: refused, never linked",
			with(trusted, func(s *Situation) { s.Trusted, s.Local, s.Claim = false, LocalVerified, ClaimVerified }), Refuse, false, ErrAccountExists},
		{"a trusted provider's claim it does not say is verified: refused",
			with(trusted, func(s *Situation) { s.Local, s.Claim = LocalVerified, ClaimUnverified }), Refuse, false, ErrAccountExists},
		{"a trusted provider's verified claim of an address verified here: linked",
			with(trusted, func(s *Situation) { s.Local, s.Claim = LocalVerified, ClaimVerified }), Link, false, nil},
		{"linked even where no signup is allowed (no account is made)",
			with(trusted, func(s *Situation) { s.AllowSignup, s.Local, s.Claim = false, LocalVerified, ClaimVerified }), Link, false, nil},
		{"allow_signup off: a new identity with no account is refused",
			with(trusted, func(s *Situation) { s.AllowSignup, s.Claim = false, ClaimVerified }), Refuse, false, ErrSignupDisabled},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.s)
			if d.Outcome != c.want || d.VerifyEmail != c.verify || !errors.Is(d.Refusal, c.refusal) && c.refusal != nil || c.refusal == nil && d.Refusal != nil {
				t.Fatalf("Decide(%+v) = %+v (rule %q); want %s, verify %v, refusal %v", c.s, d, d.Rule, c.want, c.verify, c.refusal)
			}
		})
	}
}

// TestDecideEverySituation holds the whole table, every combination of
// its inputs, to the rules that make linking safe: nothing but a trusted
// provider's verified claim of an address verified here links; no
// account is made beside one that verified the address; a new account's
// address is verified only on a trusted verified claim; a known identity
// always signs in; a refusal always says why.
func TestDecideEverySituation(t *testing.T) {
	n := 0
	for _, known := range []bool{false, true} {
		for _, local := range []Local{LocalNone, LocalUnverified, LocalVerified} {
			for _, claim := range []Claim{ClaimAbsent, ClaimUnverified, ClaimVerified} {
				for bits := range 16 {
					s := Situation{Known: known, Local: local, Claim: claim,
						Trusted: bits&1 != 0, LinkByEmail: bits&2 != 0, AllowSignup: bits&4 != 0, EmailRequired: bits&8 != 0}
					d, name := Decide(s), fmt.Sprintf("%+v", s)
					n++
					switch {
					case known && d.Outcome != SignIn:
						t.Errorf("%s: a known identity gets %s", name, d.Outcome)
					case !known && d.Outcome == SignIn:
						t.Errorf("%s: an unknown identity signs in", name)
					case d.Outcome == Link && !linkable(s):
						t.Errorf("%s: linked by %q", name, d.Rule)
					case !known && linkable(s) && d.Outcome != Link:
						t.Errorf("%s: a link the policy allows is %s", name, d.Outcome)
					case d.Outcome == Create && local == LocalVerified:
						t.Errorf("%s: an account made beside the one that verified the address", name)
					case d.Outcome == Create && !s.AllowSignup:
						t.Errorf("%s: an account made with allow_signup off", name)
					case d.VerifyEmail && (d.Outcome != Create || !s.Trusted || claim != ClaimVerified):
						t.Errorf("%s: an address verified by %q", name, d.Rule)
					case d.Outcome == Create && s.Trusted && claim == ClaimVerified && !d.VerifyEmail:
						t.Errorf("%s: a trusted verified claim left unverified", name)
					case (d.Outcome == Refuse) != (d.Refusal != nil):
						t.Errorf("%s: %s with refusal %v", name, d.Outcome, d.Refusal)
					case d.Rule == "":
						t.Errorf("%s: no rule named", name)
					}
				}
			}
		}
	}
	if n != 2*3*3*16 {
		t.Fatalf("%d situations", n)
	}
}

// linkable is the only situation an address links in: a trusted
// provider's verified claim of an address verified here, with
// link_by_email = verified.
func linkable(s Situation) bool {
	return s.Local == LocalVerified && s.Claim == ClaimVerified && s.Trusted && s.LinkByEmail
}

// TestUsernames: what a provider gives becomes a valid username, and a
// taken one has others to try.
func TestUsernames(t *testing.T) {
	for _, c := range []struct {
		claims Claims
		first  string
	}{
		{Claims{Name: "Jane Doe", Email: "jane@example.com"}, "Jane.Doe"},
		{Claims{Name: "  ..Zoë  O'Brien-- ", Email: "z@example.com"}, "Zo.OBrien"},
		{Claims{Name: "private-cat__x", Email: "z@example.com"}, "private-cat_x"},
		{Claims{Name: "李雷", Email: "li.lei+news@example.com"}, "li.lei.news"},
		{Claims{Name: "ada@corp", Email: "x@example.com"}, ""}, // "ada": too short, numbered
		{Claims{Name: "averyveryverylongname indeed", Email: "x@example.com"}, "averyveryverylongnam"},
		{Claims{Email: "jo@example.com"}, ""}, // too short: numbered
		{Claims{}, ""},
	} {
		got := Usernames(c.claims, 4)
		if len(got) != 4 {
			t.Fatalf("%+v: %v", c.claims, got)
		}
		if c.first != "" && got[0] != c.first {
			t.Errorf("%+v: first %q, want %q", c.claims, got[0], c.first)
		}
		for _, u := range got {
			if err := user.CheckUsername(u); err != nil {
				t.Errorf("%+v: %q: %v", c.claims, u, err)
			}
		}
		if got[1] == got[2] && got[2] == got[3] {
			t.Errorf("%+v: no other names to try: %v", c.claims, got)
		}
	}
}
