package main

import (
	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/createwebhook"
	"github.com/cleanslice/cleanslice/features/deletewebhook"
	"github.com/cleanslice/cleanslice/features/listwebhookdeliveries"
	"github.com/cleanslice/cleanslice/features/listwebhooks"
	"github.com/cleanslice/cleanslice/features/retrywebhookdelivery"
	"github.com/cleanslice/cleanslice/features/rotatewebhooksecret"
	"github.com/cleanslice/cleanslice/features/testwebhook"
	"github.com/cleanslice/cleanslice/features/updatewebhook"
)

// webhookRoutes mounts the super admins' webhook endpoints (SPEC 4e);
// what is delivered to them is queued by the store with each audit event
// and sent by the delivery loop (webhooks.go).
func webhookRoutes(api *echo.Group, d *deps) {
	s, now, targets := d.store, d.now, webhookTargets(d.cfg)

	createH := createwebhook.NewHandler(createwebhook.New(s, d.keys, d.hasher, d.guard, targets, now))
	api.POST("/webhooks", createH.Handle, d.hashing, d.authn.Required)

	listH := listwebhooks.NewHandler(listwebhooks.New(s))
	api.GET("/webhooks", listH.Handle, d.authn.Required)

	updateH := updatewebhook.NewHandler(updatewebhook.New(s, d.hasher, d.guard, targets, now))
	api.PATCH("/webhooks/:id", updateH.Handle, d.hashing, d.authn.Required)

	rotateH := rotatewebhooksecret.NewHandler(rotatewebhooksecret.New(s, d.keys, d.hasher, d.guard, now))
	api.POST("/webhooks/:id/secret", rotateH.Handle, d.hashing, d.authn.Required)

	deleteH := deletewebhook.NewHandler(deletewebhook.New(s, now))
	api.DELETE("/webhooks/:id", deleteH.Handle, d.authn.Required)

	deliveriesH := listwebhookdeliveries.NewHandler(listwebhookdeliveries.New(s))
	api.GET("/webhooks/:id/deliveries", deliveriesH.Handle, d.authn.Required)

	retryH := retrywebhookdelivery.NewHandler(retrywebhookdelivery.New(s, now))
	api.POST("/webhooks/:id/deliveries/:delivery/retry", retryH.Handle, d.authn.Required)

	testH := testwebhook.NewHandler(testwebhook.New(s, now))
	api.POST("/webhooks/:id/test", testH.Handle, d.authn.Required)
}
