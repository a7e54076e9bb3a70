package main

import (
	"context"

	"github.com/labstack/echo/v5"

	"github.com/cleanslice/cleanslice/features/changeemail"
	"github.com/cleanslice/cleanslice/features/changepassword"
	"github.com/cleanslice/cleanslice/features/confirmrecovery"
	"github.com/cleanslice/cleanslice/features/deleteaccount"
	"github.com/cleanslice/cleanslice/features/endothersessions"
	"github.com/cleanslice/cleanslice/features/endsession"
	"github.com/cleanslice/cleanslice/features/listactivity"
	"github.com/cleanslice/cleanslice/features/listsessions"
	"github.com/cleanslice/cleanslice/features/login"
	"github.com/cleanslice/cleanslice/features/logout"
	"github.com/cleanslice/cleanslice/features/me"
	"github.com/cleanslice/cleanslice/features/requestrecovery"
	"github.com/cleanslice/cleanslice/features/sendverification"
	"github.com/cleanslice/cleanslice/features/signup"
	"github.com/cleanslice/cleanslice/features/verifyemail"
)

// accountRoutes mounts a user's own account: signing up and in, the
// password, the sessions, the address and recovery by email. Routes that
// hash a password take d.hashing first. Authenticated routes take
// d.authn.Required, or d.authn.Enrolling for what a user who must still
// enroll a second factor may do (auth.require_second_factor_for). An API
// key reaches only who the caller is and their activity (the ...OrKey
// variants): never the credentials, sessions or the account itself.
func accountRoutes(api *echo.Group, d *deps) {
	cfg, s, now := d.cfg, d.store, d.now

	signupH := signup.NewHandler(signup.New(s, d.hasher, d.outbox, d.verifications, signup.Limit{Max: cfg.Auth.MaxSignupsPerIP, Window: cfg.Auth.SignupWindow}, d.accounts, now))
	api.POST("/auth/signup", signupH.Handle, d.hashing, d.authn.Optional)

	loginH := login.NewHandler(login.New(s, d.hasher, d.metrics, login.Config{SignIn: d.signIn, Guard: d.guard, PendingTTL: cfg.Auth.MFAPendingTTL}, now), d.cookies)
	api.POST("/auth/login", loginH.Handle, d.hashing, d.authn.Optional)

	logoutH := logout.NewHandler(logout.New(s, now), d.cookies)
	api.DELETE("/auth/logout", logoutH.Handle, d.authn.Enrolling)

	api.GET("/auth/me", me.Handle, d.authn.EnrollingOrKey)

	changePasswordH := changepassword.NewHandler(changepassword.New(s, d.hasher, d.outbox, d.signIn, d.guard, cfg.Password.MinLength, now), d.cookies)
	api.PUT("/auth/password", changePasswordH.Handle, d.hashing, d.authn.Required)

	listSessionsH := listsessions.NewHandler(listsessions.New(s, now))
	api.GET("/auth/sessions", listSessionsH.Handle, d.authn.Enrolling)

	endOtherSessionsH := endothersessions.NewHandler(endothersessions.New(s, now))
	api.DELETE("/auth/sessions", endOtherSessionsH.Handle, d.authn.Enrolling)

	endSessionH := endsession.NewHandler(endsession.New(s, now), d.cookies)
	api.DELETE("/auth/sessions/:id", endSessionH.Handle, d.authn.Enrolling)

	deleteAccountH := deleteaccount.NewHandler(deleteaccount.New(s, d.hasher, d.outbox, d.guard, now), d.cookies)
	api.DELETE("/auth/account", deleteAccountH.Handle, d.hashing, d.authn.Required)

	activityH := listactivity.NewHandler(listactivity.New(s))
	api.GET("/auth/activity", activityH.Handle, d.authn.RequiredOrKey)

	changeEmailH := changeemail.NewHandler(changeemail.New(s, d.hasher, d.outbox, d.verifications, d.guard, cfg.Auth.RequireEmail, now))
	api.PUT("/auth/email", changeEmailH.Handle, d.hashing, d.authn.Required)

	sendVerificationH := sendverification.NewHandler(sendverification.New(s, d.outbox, d.verifications, now))
	api.POST("/auth/email/verification", sendVerificationH.Handle, d.authn.Required)

	verifyEmailH := verifyemail.NewHandler(verifyemail.New(s, now))
	api.POST("/auth/email/verify", verifyEmailH.Handle)

	recovery := requestrecovery.New(s, d.keys, d.outbox, d.links, requestrecovery.Limits{
		PerIP: loginFailuresPerIP, Window: cfg.Auth.FailureWindow, PerAddress: cfg.Mail.MaxRecoveryPerHour, Key: d.guard.Key,
	}, now)
	d.bg.Go(func(ctx context.Context) {
		recovery.Run(ctx, func(err error) { d.log.Error("recovery request", "error", err) })
	})
	api.POST("/auth/recovery", requestrecovery.NewHandler(recovery).Handle)

	confirmRecoveryH := confirmrecovery.NewHandler(confirmrecovery.New(s, d.hasher, d.outbox, d.guard, cfg.Password.MinLength, now))
	api.POST("/auth/recovery/confirm", confirmRecoveryH.Handle, d.hashing)
}
