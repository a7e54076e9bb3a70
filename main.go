// Command cleanslice serves the cleanslice API and manages its database.
//
//	cleanslice [--config FILE] [serve]                run the HTTP service (default)
//	cleanslice [--config FILE] migrate up             apply pending migrations
//	cleanslice [--config FILE] migrate down [N]       revert the last N migrations (default 1)
//	cleanslice [--config FILE] migrate version        print the applied version
//	cleanslice [--config FILE] migrate force V        record version V without running anything
//	cleanslice [--config FILE] healthcheck            exit 0 when the local service's /readyz says 200
//	cleanslice [--config FILE] users create --username NAME --role ROLE [--password-env VAR]
//	                                                  create a user; the password is read from
//	                                                  stdin, or from the variable VAR
//	cleanslice [--config FILE] users hashes           count stored password hashes by pepper
//	                                                  and argon2 parameters
//	cleanslice [--config FILE] mfa rekey              seal every TOTP secret and recovery code
//	                                                  under the current mfa key; report what
//	                                                  still needs each previous key
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/sqlstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cleanslice:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg + " (see cleanslice --help)" }

// exitCode is 2 for a bad command line or configuration, 130 for a
// command interrupted at a prompt (128 + SIGINT, as shells report Ctrl-C),
// 1 for the rest.
func exitCode(err error) int {
	var (
		ue usageError
		ce *config.Error
	)
	switch {
	case errors.As(err, &ue) || errors.As(err, &ce) || errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errInterrupted):
		return 130
	}
	return 1
}

// run is the whole program: it parses args, loads the configuration and runs
// one command until it finishes or ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cleanslice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv("CLEANSLICE_CONFIG"), "configuration file (default: ./config.toml if present)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cleanslice [--config FILE] [serve | healthcheck | migrate up|down [N]|version|force V | users create --username NAME --role ROLE [--password-env VAR] | users hashes | mfa rekey]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	cfg, err := config.Load(*configPath, os.Getenv)
	if err != nil {
		return err
	}
	cmd, rest := "serve", fs.Args()
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		if len(rest) > 0 {
			return usageError{fmt.Sprintf("serve takes no arguments, got %q", rest)}
		}
		return serve(ctx, cfg, stderr)
	case "migrate":
		return migrateCommand(cfg, rest, stdout)
	case "users":
		return usersCommand(ctx, cfg, rest, os.Stdin, stdout, stderr)
	case "mfa":
		return mfaCommand(ctx, cfg, rest, stdout)
	case "healthcheck":
		return healthcheck(ctx, cfg.HTTP.Address, stdout)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// healthcheck asks the service listening on address (on this host) whether
// it is ready: for container health checks where there is no curl.
func healthcheck(ctx context.Context, address string, stdout io.Writer) error {
	_, port, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("healthcheck: http.address %q: %w", address, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /readyz answered %d", resp.StatusCode)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

func migrateCommand(cfg config.Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{"migrate needs up, down [N], version or force V"}
	}
	number := func(what string, def int) (int, error) {
		switch len(args) {
		case 1:
			if def >= 0 {
				return def, nil
			}
		case 2:
			n, err := strconv.Atoi(args[1])
			if err == nil && n >= 0 {
				return n, nil
			}
		}
		return 0, usageError{fmt.Sprintf("migrate %s takes %s", args[0], what)}
	}
	var action func(m *sqlstore.Migrator) error
	switch args[0] {
	case "up":
		if len(args) > 1 {
			return usageError{"migrate up takes no arguments"}
		}
		action = (*sqlstore.Migrator).Up
	case "down":
		n, err := number("an optional step count", 1)
		if err != nil {
			return err
		}
		action = func(m *sqlstore.Migrator) error { return m.Down(n) }
	case "force":
		v, err := number("a version number", -1)
		if err != nil {
			return err
		}
		action = func(m *sqlstore.Migrator) error { return m.Force(v) }
	case "version":
		if len(args) > 1 {
			return usageError{"migrate version takes no arguments"}
		}
		action = func(*sqlstore.Migrator) error { return nil }
	default:
		return usageError{fmt.Sprintf("unknown migrate command %q", args[0])}
	}
	m, err := newMigrator(cfg.Database)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := action(m); err != nil {
		return err
	}
	v, dirty, applied, err := m.Version()
	switch {
	case err != nil:
		return err
	case !applied:
		fmt.Fprintln(stdout, "version: none (no migration applied)")
	case dirty:
		fmt.Fprintf(stdout, "version: %d (dirty: a migration failed halfway; see README, Operations)\n", v)
	default:
		fmt.Fprintf(stdout, "version: %d\n", v)
	}
	return nil
}
