package main

import (
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/createapikey"
	"github.com/cleanslice/cleanslice/features/listapikeys"
	"github.com/cleanslice/cleanslice/features/listuserapikeys"
	"github.com/cleanslice/cleanslice/features/revokeapikey"
	"github.com/cleanslice/cleanslice/features/revokeuserapikeys"
)

// apiKeyRoutes mounts API keys (SPEC 4f): a user's own keys, which only a
// session creates, lists and revokes (d.authn.Required: a key gets 403
// session_required), and an admin's view of a lower-ranked user's keys,
// which an admin's key may use too (d.authn.RequiredOrKey). What a key
// itself may reach is each route's choice of middleware (see
// authenticate.Middleware).
func apiKeyRoutes(api *echo.Group, d *deps) {
	s, now := d.store, d.now

	createH := createapikey.NewHandler(createapikey.New(s, d.hasher, d.keys, d.outbox, createapikey.Config{Guard: d.guard, MaxTTL: d.cfg.APIKeys.MaxTTL}, now))
	api.POST("/auth/api-keys", createH.Handle, d.hashing, d.authn.Required)

	listH := listapikeys.NewHandler(listapikeys.New(s, now))
	api.GET("/auth/api-keys", listH.Handle, d.authn.Required)

	revokeH := revokeapikey.NewHandler(revokeapikey.New(s, now))
	api.DELETE("/auth/api-keys/:id", revokeH.Handle, d.authn.Required)

	listUserH := listuserapikeys.NewHandler(listuserapikeys.New(s, now))
	api.GET("/users/api-keys", listUserH.Handle, d.authn.RequiredOrKey)

	revokeUserH := revokeuserapikeys.NewHandler(revokeuserapikeys.New(s, now))
	api.DELETE("/users/api-keys", revokeUserH.Handle, d.authn.RequiredOrKey)
}
