// Package passkeys runs WebAuthn ceremonies for one relying party, through
// github.com/go-webauthn/webauthn: registration (attestation "none",
// resident keys preferred), assertion for a known user (the second step
// of a login), and discoverable assertion (passwordless sign-in, user
// verification required). The ceremony state between begin and finish is
// handed back to the caller to keep in the database (mfa.Ceremony), and a
// finish finds it by the challenge its answer carries, so that any replica
// finishes what another began.
package passkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/cleanslice/cleanslice/shared/mfa"
)

// RelyingParty is the service as WebAuthn sees it.
type RelyingParty struct {
	w *webauthn.WebAuthn
}

// New returns the relying party with id rpID (a domain), shown as name,
// whose pages are served from origins.
func New(rpID, name string, origins []string) (*RelyingParty, error) {
	w, err := webauthn.New(&webauthn.Config{
		RPID:                  rpID,
		RPDisplayName:         name,
		RPOrigins:             origins,
		AttestationPreference: protocol.PreferNoAttestation,
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn relying party: %w", err)
	}
	return &RelyingParty{w: w}, nil
}

// user is an mfa.Account as the library's User.
type user struct {
	a     mfa.Account
	creds []webauthn.Credential
}

func newUser(a mfa.Account) (*user, error) {
	u := &user{a: a}
	for _, p := range a.Passkeys {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Record, &c); err != nil {
			return nil, fmt.Errorf("passkey record %x: %w", p.ID, err)
		}
		u.creds = append(u.creds, c)
	}
	return u, nil
}

func (u *user) WebAuthnID() []byte                         { return u.a.Handle }
func (u *user) WebAuthnName() string                       { return u.a.Name }
func (u *user) WebAuthnDisplayName() string                { return u.a.Name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// Options are the JSON the browser's navigator.credentials.create or get
// takes: {"publicKey":{...}}, or {"publicKey":{...},"mediation":...}.
type Options = json.RawMessage

// begun returns the options and the ceremony for the session data.
func begun(options any, session *webauthn.SessionData, purpose string) (Options, mfa.Ceremony, error) {
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	state, err := json.Marshal(session)
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	return opts, mfa.Ceremony{ID: mfa.CeremonyID(session.Challenge), Purpose: purpose, Session: state}, nil
}

func sessionOf(c mfa.Ceremony) (webauthn.SessionData, error) {
	var s webauthn.SessionData
	err := json.Unmarshal(c.Session, &s)
	return s, err
}

// BeginRegistration begins registering a credential for a: resident keys
// preferred (a passkey), user verification preferred, no attestation, and
// the account's credentials excluded (an authenticator registers once).
func (rp *RelyingParty) BeginRegistration(a mfa.Account) (Options, mfa.Ceremony, error) {
	u, err := newUser(a)
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, session, err := rp.w.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	return begun(creation, session, mfa.CeremonyRegister)
}

// FinishRegistration verifies the browser's answer (credential: the JSON
// of the PublicKeyCredential) to the registration c and returns the new
// credential (ID, Record, SignCount); mfa.ErrInvalidRegistration when it
// does not verify.
func (rp *RelyingParty) FinishRegistration(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error) {
	u, err := newUser(a)
	if err != nil {
		return mfa.Passkey{}, err
	}
	session, err := sessionOf(c)
	if err != nil {
		return mfa.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return mfa.Passkey{}, refused(mfa.ErrInvalidRegistration, err)
	}
	cred, err := rp.w.CreateCredential(u, session, parsed)
	if err != nil {
		return mfa.Passkey{}, refused(mfa.ErrInvalidRegistration, err)
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return mfa.Passkey{}, err
	}
	return mfa.Passkey{ID: cred.ID, Record: record, SignCount: cred.Authenticator.SignCount, UserVerified: cred.Flags.UserVerified}, nil
}

// BeginLogin begins an assertion by one of a's credentials: the second
// step of a login (user presence is enough; verification preferred).
func (rp *RelyingParty) BeginLogin(a mfa.Account) (Options, mfa.Ceremony, error) {
	u, err := newUser(a)
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	assertion, session, err := rp.w.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	return begun(assertion, session, mfa.CeremonySecondStep)
}

// FinishLogin verifies an answer to the assertion c by one of a's
// credentials and returns that credential as it is now (its record and
// counter moved on); mfa.ErrInvalidCredential when it does not verify,
// mfa.ErrClonedCredential when its counter went back.
func (rp *RelyingParty) FinishLogin(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error) {
	return rp.finishAssertion(a, c, credential, func(u *user, s webauthn.SessionData, p *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
		return rp.w.ValidateLogin(u, s, p)
	})
}

// finishAssertion verifies an answer to the assertion c with validate
// and returns the credential as it is now.
func (rp *RelyingParty) finishAssertion(a mfa.Account, c mfa.Ceremony, credential []byte,
	validate func(u *user, s webauthn.SessionData, p *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error)) (mfa.Passkey, error) {
	u, err := newUser(a)
	if err != nil {
		return mfa.Passkey{}, err
	}
	session, err := sessionOf(c)
	if err != nil {
		return mfa.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return mfa.Passkey{}, refused(mfa.ErrInvalidCredential, err)
	}
	cred, err := validate(u, session, parsed)
	if err != nil {
		return mfa.Passkey{}, refused(mfa.ErrInvalidCredential, err)
	}
	return used(a, cred)
}

// BeginPasskey begins a discoverable assertion: any passkey of this
// relying party, chosen in the browser, with user verification required
// (it stands for both factors).
func (rp *RelyingParty) BeginPasskey() (Options, mfa.Ceremony, error) {
	assertion, session, err := rp.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, mfa.Ceremony{}, err
	}
	return begun(assertion, session, mfa.CeremonyPasskey)
}

// UserHandle returns the user handle a discoverable assertion's answer
// names (which account the browser chose); mfa.ErrInvalidCredential when
// it names none.
func (*RelyingParty) UserHandle(credential []byte) ([]byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, refused(mfa.ErrInvalidCredential, err)
	}
	if len(parsed.Response.UserHandle) == 0 {
		return nil, mfa.ErrInvalidCredential
	}
	return parsed.Response.UserHandle, nil
}

// CredentialID returns the id of the credential a discoverable
// assertion's answer says made it (unverified: for telling whether a
// refused answer names a registered credential); mfa.ErrInvalidCredential
// when the answer cannot be read.
func (*RelyingParty) CredentialID(credential []byte) ([]byte, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, refused(mfa.ErrInvalidCredential, err)
	}
	return parsed.RawID, nil
}

// FinishPasskey verifies an answer to the discoverable assertion c by one
// of a's credentials (a is the account UserHandle named), as FinishLogin.
func (rp *RelyingParty) FinishPasskey(a mfa.Account, c mfa.Ceremony, credential []byte) (mfa.Passkey, error) {
	return rp.finishAssertion(a, c, credential, func(u *user, s webauthn.SessionData, p *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
		_, cred, err := rp.w.ValidatePasskeyLogin(func(_, handle []byte) (webauthn.User, error) {
			if !bytes.Equal(handle, a.Handle) {
				return nil, errors.New("the answer names another account")
			}
			return u, nil
		}, s, p)
		return cred, err
	})
}

// used returns a's stored credential that cred is, with cred's record and
// counter; a counter that went back is mfa.ErrClonedCredential.
func used(a mfa.Account, cred *webauthn.Credential) (mfa.Passkey, error) {
	if cred.Authenticator.CloneWarning {
		return mfa.Passkey{}, mfa.ErrClonedCredential
	}
	p, ok := a.Passkey(cred.ID)
	if !ok {
		return mfa.Passkey{}, mfa.ErrInvalidCredential
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return mfa.Passkey{}, err
	}
	p.Record, p.SignCount = record, cred.Authenticator.SignCount
	return p, nil
}

// CeremonyOf returns the id of the ceremony a browser's answer (the JSON
// of a PublicKeyCredential, from create or get) belongs to: the SHA-256 of
// the challenge its client data carries. mfa.ErrInvalidCredential when the
// answer carries none.
func (*RelyingParty) CeremonyOf(credential []byte) ([]byte, error) {
	var c struct {
		Response struct {
			ClientDataJSON protocol.URLEncodedBase64 `json:"clientDataJSON"`
		} `json:"response"`
	}
	if err := json.Unmarshal(credential, &c); err != nil || len(c.Response.ClientDataJSON) == 0 {
		return nil, mfa.ErrInvalidCredential
	}
	var data protocol.CollectedClientData
	if err := json.Unmarshal(c.Response.ClientDataJSON, &data); err != nil || data.Challenge == "" {
		return nil, mfa.ErrInvalidCredential
	}
	return mfa.CeremonyID(data.Challenge), nil
}

// refused is the refusal e, carrying the library's reason (for the log).
// Only e is wrapped: the library's errors stay out of the chain, so no
// caller comes to depend on go-webauthn's error types.
func refused(e error, cause error) error {
	var pe *protocol.Error
	if errors.As(cause, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %s: %s", e, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("%w: %v", e, cause) //nolint:errorlint // the cause is text for the log, deliberately not wrapped (see above)
}
