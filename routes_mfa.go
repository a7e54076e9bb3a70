package main

import (
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/disabletotp"
	"github.com/cleanslice/cleanslice/features/enabletotp"
	"github.com/cleanslice/cleanslice/features/listmfa"
	"github.com/cleanslice/cleanslice/features/loginmfa"
	"github.com/cleanslice/cleanslice/features/passkeylogin"
	"github.com/cleanslice/cleanslice/features/regeneratecodes"
	"github.com/cleanslice/cleanslice/features/registerpasskey"
	"github.com/cleanslice/cleanslice/features/removepasskey"
	"github.com/cleanslice/cleanslice/features/setuptotp"
)

// mfaRoutes mounts second factors: a login's second step, passwordless
// sign-in, and a user's own factors (each change after the current
// password, so those routes take d.hashing). Reading the factors and
// enrolling one take d.authn.Enrolling: the way out for a user whose role
// requires a second factor.
func mfaRoutes(api *echo.Group, d *deps) {
	s, now := d.store, d.now

	loginMFAH := loginmfa.NewHandler(loginmfa.New(s, d.keys, d.apps, d.rp, loginmfa.Config{SignIn: d.signIn, Guard: d.guard, Ceremonies: d.ceremonies}, now), d.cookies)
	api.POST("/auth/login/mfa", loginMFAH.Finish, d.authn.Optional)
	api.POST("/auth/login/webauthn/begin", loginMFAH.Begin, d.authn.Optional)
	api.POST("/auth/login/webauthn/finish", loginMFAH.Finish, d.authn.Optional)

	passkeyLoginH := passkeylogin.NewHandler(passkeylogin.New(s, d.rp, d.signIn, d.ceremonies, now), d.cookies)
	api.POST("/auth/passkey/begin", passkeyLoginH.Begin, d.authn.Optional)
	api.POST("/auth/passkey/finish", passkeyLoginH.Finish, d.authn.Optional)

	listMFAH := listmfa.NewHandler(listmfa.New(s))
	api.GET("/auth/mfa", listMFAH.Handle, d.authn.Enrolling)

	setupTOTPH := setuptotp.NewHandler(setuptotp.New(s, d.hasher, d.keys, d.apps, d.guard, now))
	api.POST("/auth/mfa/totp/setup", setupTOTPH.Handle, d.hashing, d.authn.Enrolling)

	enableTOTPH := enabletotp.NewHandler(enabletotp.New(s, d.outbox, d.keys, d.apps, enabletotp.Config{Guard: d.guard, SignIn: d.signIn}, now), d.cookies)
	api.POST("/auth/mfa/totp/enable", enableTOTPH.Handle, d.authn.Enrolling)

	disableTOTPH := disabletotp.NewHandler(disabletotp.New(s, d.outbox, d.hasher, d.guard, now))
	api.POST("/auth/mfa/totp/disable", disableTOTPH.Handle, d.hashing, d.authn.Required)

	recoveryCodesH := regeneratecodes.NewHandler(regeneratecodes.New(s, d.outbox, d.hasher, d.keys, d.guard, now))
	api.POST("/auth/mfa/recovery-codes", recoveryCodesH.Handle, d.hashing, d.authn.Required)

	registerPasskeyH := registerpasskey.NewHandler(registerpasskey.New(s, d.outbox, d.hasher, d.rp, d.keys, registerpasskey.Config{Guard: d.guard, SignIn: d.signIn}, now), d.cookies)
	api.POST("/auth/mfa/webauthn/register/begin", registerPasskeyH.Begin, d.hashing, d.authn.Enrolling)
	api.POST("/auth/mfa/webauthn/register/finish", registerPasskeyH.Finish, d.authn.Enrolling)

	removePasskeyH := removepasskey.NewHandler(removepasskey.New(s, d.outbox, d.hasher, d.guard, now))
	api.POST("/auth/mfa/webauthn/remove", removePasskeyH.Handle, d.hashing, d.authn.Required)
}
