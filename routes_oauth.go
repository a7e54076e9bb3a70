package main

import (
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/linkidentity"
	"github.com/cleanslice/cleanslice/features/listidentities"
	"github.com/cleanslice/cleanslice/features/listproviders"
	"github.com/cleanslice/cleanslice/features/listuseridentities"
	"github.com/cleanslice/cleanslice/features/oauthcallback"
	"github.com/cleanslice/cleanslice/features/oauthstart"
	"github.com/cleanslice/cleanslice/features/unlinkidentity"
	"github.com/cleanslice/cleanslice/features/unlinkuseridentity"
)

// oauthCallbackRoute is the callback of every identity provider: the one
// route that takes a cross-site form POST (httpserver.Options.FormPosts).
const oauthCallbackRoute = "/api/v1/auth/oauth/:provider/callback"

// oauthRoutes mounts sign-in with identity providers (SPEC 4d): the list
// of providers, a flow's start and its callback (GET, or the form POST of
// form_post providers), linking while signed in, a user's identities and
// an admin's view of them (which an admin's API key may use too, as the
// other admin routes). Starts count like WebAuthn ceremonies, in a window
// of their own; refused callbacks count in the login windows.
func oauthRoutes(api *echo.Group, d *deps) {
	cfg, s, now := d.cfg, d.store, d.now

	listProvidersH := listproviders.NewHandler(listproviders.New(d.providers))
	api.GET("/auth/oauth/providers", listProvidersH.Handle)

	// Provider flows count in a window of their own, not WebAuthn's.
	flows := d.ceremonies
	flows.Kind = "oauth"
	startH := oauthstart.NewHandler(oauthstart.New(s, d.providers, d.metrics, oauthstart.Config{Flows: d.flows, Ceremonies: flows, Log: d.log}, now), d.binding)
	api.GET("/auth/oauth/:provider/start", startH.Handle, d.authn.Optional)

	callbackH := oauthcallback.NewHandler(oauthcallback.New(s, d.providers, d.outbox, d.metrics, oauthcallback.Config{
		SignIn: d.signIn, Guard: d.guard, Flows: d.flows, SignupsPerIP: cfg.Auth.MaxSignupsPerIP, SignupWindow: cfg.Auth.SignupWindow,
		Verifications: d.verifications, EmailRequired: cfg.Auth.RequireEmail, PendingTTL: cfg.Auth.MFAPendingTTL, Log: d.log,
	}, now), d.cookies, d.binding)
	api.GET("/auth/oauth/:provider/callback", callbackH.Handle)
	api.POST("/auth/oauth/:provider/callback", callbackH.Handle)

	linkH := linkidentity.NewHandler(linkidentity.New(s, d.providers, d.hasher, linkidentity.Config{Flows: d.flows, Guard: d.guard, Ceremonies: flows}, now), d.binding)
	api.POST("/auth/identities/:id", linkH.Handle, d.hashing, d.authn.Required)

	listIdentitiesH := listidentities.NewHandler(listidentities.New(s))
	api.GET("/auth/identities", listIdentitiesH.Handle, d.authn.Required)

	unlinkH := unlinkidentity.NewHandler(unlinkidentity.New(s, d.outbox, d.providers, d.hasher, d.guard, now))
	api.DELETE("/auth/identities/:id", unlinkH.Handle, d.hashing, d.authn.Required)

	listUserIdentitiesH := listuseridentities.NewHandler(listuseridentities.New(s))
	api.GET("/users/identities", listUserIdentitiesH.Handle, d.authn.RequiredOrKey)

	unlinkUserIdentityH := unlinkuseridentity.NewHandler(unlinkuseridentity.New(s, d.outbox, d.providers, now))
	api.DELETE("/users/identities", unlinkUserIdentityH.Handle, d.authn.RequiredOrKey)
}
