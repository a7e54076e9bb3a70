//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cleanslice/cleanslice/platform/config"
	"github.com/cleanslice/cleanslice/platform/dbtest"
)

// openPTY returns a new pseudo-terminal: the side a terminal emulator
// holds (what it shows is read from it) and the side a program runs on.
func openPTY(t *testing.T) (screen, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestUsersCreateOnATerminal: on a terminal the password is asked for
// twice and never echoed: the screen shows neither entry, and the user
// logs in with it. Two entries that differ create nothing.
func TestUsersCreateOnATerminal(t *testing.T) {
	path := writeConfig(t, map[string]string{"database.url": dbtest.EmptyURL(t, "sqlite"), "password.argon2_memory_kib": "64", "password.argon2_iterations": "1"})
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	create := func(name string, typed ...string) (screen string, prompts string, err error) {
		m, tty := openPTY(t)
		shown := make(chan string)
		go func() {
			b, _ := io.ReadAll(m) // until the tty side is closed
			shown <- string(b)
		}()
		go func() {
			for _, pw := range typed {
				time.Sleep(200 * time.Millisecond) // typed after the prompt, as a person does
				m.WriteString(pw + "\r")
			}
		}()
		var out, logs syncBuffer
		err = usersCommand(context.Background(), cfg, []string{"create", "--username", name, "--role", "user"}, tty, &out, &logs)
		tty.Close()
		return <-shown, logs.String(), err
	}

	screen, prompts, err := create("tty.user", "typed secret 1", "typed secret 1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(screen, "typed secret") {
		t.Fatalf("the password was echoed: the screen shows %q", screen)
	}
	if !strings.Contains(prompts, "Password (not shown): ") || !strings.Contains(prompts, "Password again: ") {
		t.Fatalf("prompts %q", prompts)
	}
	app := newTestAppOn(t, cfg.Database.URL, nil)
	expect(t, "login with the password typed on the terminal", app.client().login(t, "tty.user", "typed secret 1"), 200, "")

	if _, _, err := create("tty.other", "one password", "another password"); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Fatalf("two different entries: %v", err)
	}
	expect(t, "the user of two different entries", app.client().login(t, "tty.other", "one password"), 401, "invalid_credentials")
}
