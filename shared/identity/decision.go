package identity

// Local is the account here that holds a claimed address.
type Local int

// What holds the address a provider claims.
const (
	LocalNone       Local = iota // no account has it (or no address was claimed)
	LocalUnverified              // accounts claim it, none proved it: it holds nothing
	LocalVerified                // an account proved it
)

func (l Local) String() string {
	return [...]string{"none", "unverified", "verified"}[l]
}

// Situation is everything the decision about an identity that came back
// from a provider depends on.
type Situation struct {
	Known         bool  // the identity (issuer, subject) is linked already
	Local         Local // the account here with the claimed address
	Claim         Claim // what the provider says of that address
	Trusted       bool  // the provider's trust_email
	LinkByEmail   bool  // the provider's link_by_email = verified
	AllowSignup   bool  // the provider's allow_signup
	EmailRequired bool  // auth.require_email
}

// Outcome is what a sign-in with a provider does.
type Outcome int

// The outcomes.
const (
	SignIn Outcome = iota + 1 // the identity's user signs in
	Create                    // a new account is made for the identity
	Link                      // the identity is linked into the account with its address, which then signs in
	Refuse                    // nothing changes; Refusal says why
)

func (o Outcome) String() string {
	return [...]string{"", "sign in", "create", "link", "refuse"}[o]
}

// Decision is the outcome of a Situation, the rule that gave it, whether a
// new account's address counts as verified, and for a refusal its error.
type Decision struct {
	Outcome     Outcome
	VerifyEmail bool   // Create: the new account's address is verified
	Refusal     error  // Refuse: ErrAccountExists, ErrSignupDisabled, ErrEmailRequired
	Rule        string // the rule's name, for tests and logs
}

// rule is one row of the table: a name, when it applies, and what it
// decides.
type rule struct {
	name string
	when func(s Situation) bool
	then Decision
}

// rules is the whole policy of SPEC 4d, read top to bottom: the first row
// whose condition holds decides. An identity is (issuer, subject); an
// address decides only whether a new identity may join an account, and
// only an address proven on both sides can: the account here verified it
// (an unverified address holds nothing, so an attacker who registers a
// victim's address before the victim signs in with a provider gains
// nothing: the pre-hijack of PocketBase and better-auth), and a provider
// the operator trusts says it verified it (an untrusted provider's
// address claim, such as Microsoft Entra's mutable, unverified email,
// links nothing: "nOAuth").
var rules = []rule{
	{"a known identity signs its user in",
		func(s Situation) bool { return s.Known },
		Decision{Outcome: SignIn}},
	{"an address verified here is never joined by address unless link_by_email = verified",
		func(s Situation) bool { return s.Local == LocalVerified && !s.LinkByEmail },
		Decision{Outcome: Refuse, Refusal: ErrAccountExists}},
	{"an untrusted provider's claim never links (nOAuth)",
		func(s Situation) bool { return s.Local == LocalVerified && !s.Trusted },
		Decision{Outcome: Refuse, Refusal: ErrAccountExists}},
	{"a claim the provider does not say is verified never links",
		func(s Situation) bool { return s.Local == LocalVerified && s.Claim != ClaimVerified },
		Decision{Outcome: Refuse, Refusal: ErrAccountExists}},
	{"a trusted provider's verified claim links into the account that verified the address",
		func(s Situation) bool { return s.Local == LocalVerified },
		Decision{Outcome: Link}},
	{"no account is created when the provider's allow_signup is off",
		func(s Situation) bool { return !s.AllowSignup },
		Decision{Outcome: Refuse, Refusal: ErrSignupDisabled}},
	{"no account is created without an address when auth.require_email is on",
		func(s Situation) bool { return s.EmailRequired && s.Claim == ClaimAbsent },
		Decision{Outcome: Refuse, Refusal: ErrEmailRequired}},
	{"a trusted provider's verified claim creates an account with the address verified (clearing unverified claims of it)",
		func(s Situation) bool { return s.Trusted && s.Claim == ClaimVerified },
		Decision{Outcome: Create, VerifyEmail: true}},
	{"otherwise an account is created, its address (if any) unverified",
		func(Situation) bool { return true },
		Decision{Outcome: Create}},
}

// Decide is what a sign-in with a provider does in situation s: the first
// rule of the table that applies.
func Decide(s Situation) Decision {
	for _, r := range rules {
		if r.when(s) {
			d := r.then
			d.Rule = r.name
			return d
		}
	}
	panic("identity: no rule applies") // the last rule always does
}
