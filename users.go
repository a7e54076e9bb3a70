package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/shared/apperr"
	"github.com/cleanslice/cleanslice/shared/user"
)

// usersCommand runs `users create`: the operator's way to make the first
// super admin (or any account) without the API. The password comes from
// stdin (one line) or from the environment variable named by --password-env,
// never from the command line, where it would show in process listings.
func usersCommand(ctx context.Context, cfg config.Config, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return usageError{"users needs create --username NAME --role super_admin|admin|user [--password-env VAR]"}
	}
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	username := fs.String("username", "", "the new user's name")
	roleName := fs.String("role", "", "super_admin, admin or user")
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
	role, err := user.ParseRole(*roleName)
	if err != nil {
		return usageError{"users create: " + err.Error()}
	}
	password, err := readPassword(*passwordEnv, stdin)
	if err != nil {
		return err
	}
	if err := user.CheckCredentials(*username, password, cfg.Password.MinLength); err != nil {
		return fmt.Errorf("users create: %s", describeInvalid(err))
	}

	store, err := openMigrated(ctx, cfg.Database, true)
	if err != nil {
		return err
	}
	defer store.Close()
	hash, err := newHasher(cfg.Password, nil).Hash(ctx, password)
	if err != nil {
		return err
	}
	u := user.New(*username, hash, role, time.Now())
	if err := store.InsertUser(ctx, u); err != nil {
		if errors.Is(err, user.ErrUsernameTaken) {
			return fmt.Errorf("users create: the username %q is already taken (usernames ignore case)", *username)
		}
		return err
	}
	fmt.Fprintf(stdout, "created %s %s (id %s)\n", u.Role, u.Username, u.ID)
	return nil
}

func readPassword(envName string, stdin io.Reader) (string, error) {
	if envName != "" {
		pw, ok := os.LookupEnv(envName)
		if !ok {
			return "", usageError{fmt.Sprintf("users create: the environment variable %s is not set", envName)}
		}
		return pw, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("users create: read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
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
