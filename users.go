package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cleanslice/cleanslice/features/createuser"
	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/logging"
	"github.com/cleanslice/cleanslice/platform/mailer"
	"github.com/cleanslice/cleanslice/platform/password"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/onetime"
	"github.com/cleanslice/cleanslice/shared/user"
)

// usersCommand runs `users create` or `users hashes`; what they log (the
// audit line of a created user) goes to logOut.
func usersCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout, logOut io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "hashes":
		return hashesCommand(ctx, cfg, stdout)
	case len(args) > 0 && args[0] == "create":
		return createUserCommand(ctx, cfg, args, stdin, stdout, logOut)
	}
	return usageError{"users needs create --username NAME --role super_admin|admin|user [--email ADDRESS] [--password-env VAR], or hashes"}
}

// hashesCommand prints how many stored password hashes each pepper
// generation and each argon2 parameter set made: the progress of a pepper
// rotation (drop a previous pepper when nothing is left on it) and of a
// parameter change.
func hashesCommand(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	store, err := openMigrated(ctx, cfg, false, nil)
	if err != nil {
		return err
	}
	defer store.Close()
	names := map[string]string{password.PepperID(cfg.Password.Pepper): "password.pepper (current)"}
	for i, p := range cfg.Password.PreviousPeppers {
		if _, dup := names[password.PepperID(p)]; !dup {
			names[password.PepperID(p)] = fmt.Sprintf("password.previous_peppers[%d]", i)
		}
	}
	legacy := "password.pepper (current)"
	if len(cfg.Password.PreviousPeppers) > 0 {
		legacy = "password.previous_peppers[0]"
	}
	type row struct{ id, params string }
	counts := map[row]int{}
	err = store.EachPasswordHash(ctx, func(h string) {
		if h == user.NoPassword {
			counts[row{"-", "-"}]++
			return
		}
		id, p := password.Describe(h)
		counts[row{id, fmt.Sprintf("m=%d,t=%d,p=%d", p.MemoryKiB, p.Iterations, p.Parallelism)}]++
	})
	if err != nil {
		return err
	}
	rows := slices.SortedFunc(maps.Keys(counts), func(a, b row) int { return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.params, b.params)) })
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PEPPER ID\tPEPPER\tARGON2\tHASHES")
	for _, r := range rows {
		id, name := r.id, names[r.id]
		switch {
		case id == "":
			id, name = "(none)", legacy+", made before pepper ids"
		case id == "?":
			name = "unreadable hash"
		case id == "-":
			name = "no password (accounts made through an identity provider)"
		case name == "":
			name = "NOT CONFIGURED: these users cannot log in"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", id, name, r.params, counts[r])
	}
	return tw.Flush()
}

// createUserCommand runs `users create`: the operator's way to make the
// first super admin (or any account) without the API. The password comes
// from stdin (one line) or from the environment variable named by
// --password-env, never from the command line, where it would show in
// process listings. Its user.created event gets the service's msg=audit
// log line, on logOut in the configured format, once it has committed.
func createUserCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout, logOut io.Writer) error {
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "the new user's name")
	roleName := fs.String("role", "", "super_admin, admin or user")
	email := fs.String("email", "", "the new user's email address (required with auth.require_email)")
	passwordEnv := fs.String("password-env", "", "read the password from this environment variable instead of stdin")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"users create: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("users create: unexpected arguments %q", fs.Args())}
	}
	if *username == "" || *roleName == "" {
		return usageError{"users create needs --username and --role"}
	}
	if _, err := user.ParseRole(*roleName); err != nil {
		return usageError{"users create: " + err.Error()}
	}
	password, err := readPassword(ctx, *passwordEnv, stdin, logOut)
	if err != nil {
		return err
	}

	out := logging.NewOutput(logOut, logging.FlushInterval)
	defer out.Close()
	store, err := openMigrated(ctx, cfg, true, audited(logging.New(cfg.Log.Level, cfg.Log.Format, out), nil))
	if err != nil {
		return err
	}
	defer store.Close()
	templates, err := mailer.LoadTemplates(cfg.Mail.TemplatesDir)
	if err != nil {
		return err
	}
	// createuser's own rules and transaction; the service's delivery loop
	// sends the verification message.
	create := createuser.New(store, newHasher(cfg.Password, nil, nil, nil), mailer.NewOutbox(store, templates, time.Now),
		onetime.Verifications{Links: mailLinks(cfg.Mail), Key: passwordGuard(cfg).Key},
		user.AccountRules{MinPasswordLen: cfg.Password.MinLength, EmailRequired: cfg.Auth.RequireEmail}, time.Now)
	u, err := create.FromConsole(ctx, createuser.Input{Username: *username, Password: password, Email: *email, Role: *roleName})
	if err != nil {
		if errors.Is(err, user.ErrUsernameTaken) {
			return fmt.Errorf("users create: the username %q is already taken (usernames ignore case)", *username)
		}
		if errors.Is(err, user.ErrEmailTaken) {
			return fmt.Errorf("users create: the address %q belongs to another account (addresses ignore case)", *email)
		}
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindInvalid {
			return fmt.Errorf("users create: %s", describeInvalid(err))
		}
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %s)\n", u.Role, u.Username, u.ID)
	return nil
}

// describeInvalid lists a validation error's fields for a terminal.
func describeInvalid(err error) string {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err.Error()
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Message
	}
	return strings.Join(parts, "; ")
}
