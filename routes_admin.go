package main

import (
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/createuser"
	"github.com/cleanslice/cleanslice/features/endusersessions"
	"github.com/cleanslice/cleanslice/features/grantadmin"
	"github.com/cleanslice/cleanslice/features/inactivateuser"
	"github.com/cleanslice/cleanslice/features/listauditevents"
	"github.com/cleanslice/cleanslice/features/listusers"
	"github.com/cleanslice/cleanslice/features/listusersessions"
	"github.com/cleanslice/cleanslice/features/reactivateuser"
	"github.com/cleanslice/cleanslice/features/resetmfa"
	"github.com/cleanslice/cleanslice/features/revokeadmin"
	"github.com/cleanslice/cleanslice/features/setuserpassword"
)

// adminRoutes mounts what admins do to other users (each slice decides
// who may: admins over lower ranks, super admins for roles and the audit
// trail). An admin's API key reaches them too (RequiredOrKey): the
// back-office scripts keys are for.
func adminRoutes(api *echo.Group, d *deps) {
	s, now := d.store, d.now

	createUserH := createuser.NewHandler(createuser.New(s, d.hasher, d.outbox, d.verifications, d.accounts, now))
	api.POST("/users", createUserH.Handle, d.hashing, d.authn.RequiredOrKey)

	listUsersH := listusers.NewHandler(listusers.New(s))
	api.GET("/users", listUsersH.Handle, d.authn.RequiredOrKey)

	inactivateH := inactivateuser.NewHandler(inactivateuser.New(s, now))
	api.PATCH("/users/inactivate", inactivateH.Handle, d.authn.RequiredOrKey)

	reactivateH := reactivateuser.NewHandler(reactivateuser.New(s, now))
	api.PATCH("/users/reactivate", reactivateH.Handle, d.authn.RequiredOrKey)

	grantH := grantadmin.NewHandler(grantadmin.New(s, now))
	api.PATCH("/users/grant", grantH.Handle, d.authn.RequiredOrKey)

	revokeH := revokeadmin.NewHandler(revokeadmin.New(s, now))
	api.PATCH("/users/revoke", revokeH.Handle, d.authn.RequiredOrKey)

	setPasswordH := setuserpassword.NewHandler(setuserpassword.New(s, d.hasher, d.outbox, d.cfg.Password.MinLength, now))
	api.PATCH("/users/password", setPasswordH.Handle, d.hashing, d.authn.RequiredOrKey)

	listUserSessionsH := listusersessions.NewHandler(listusersessions.New(s, now))
	api.GET("/users/sessions", listUserSessionsH.Handle, d.authn.RequiredOrKey)

	endUserSessionsH := endusersessions.NewHandler(endusersessions.New(s, now))
	api.DELETE("/users/sessions", endUserSessionsH.Handle, d.authn.RequiredOrKey)

	resetMFAH := resetmfa.NewHandler(resetmfa.New(s, d.outbox, now))
	api.PATCH("/users/reset-mfa", resetMFAH.Handle, d.authn.RequiredOrKey)

	auditH := listauditevents.NewHandler(listauditevents.New(s))
	api.GET("/audit", auditH.Handle, d.authn.RequiredOrKey)
}
