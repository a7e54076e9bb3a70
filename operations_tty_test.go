//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
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

// TestCtrlCAtThePasswordPrompt: Ctrl-C at either password prompt stops
// `users create` at once with exit code 130 and the terminal as it was
// (echo on), and creates nothing. The command runs as a real process
// whose controlling terminal is the pty, as under a shell.
func TestCtrlCAtThePasswordPrompt(t *testing.T) {
	if args := os.Getenv("CLEANSLICE_TEST_RUN_MAIN"); args != "" {
		os.Args = append([]string{"cleanslice"}, strings.Fields(args)...)
		main()
		return
	}
	path := writeConfig(t, map[string]string{"database.url": dbtest.URL(t, "sqlite"), "password.argon2_memory_kib": "64", "password.argon2_iterations": "1"})
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		typed []string // before Ctrl-C, each after its prompt
	}{
		{"at the first prompt", nil},
		{"at the second prompt", []string{"typed secret 1\r"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, tty := openPTY(t)
			before, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if before.Lflag&unix.ECHO == 0 {
				t.Fatal("the new terminal does not echo")
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestCtrlCAtThePasswordPrompt$")
			cmd.Env = append(os.Environ(), "CLEANSLICE_TEST_RUN_MAIN=--config "+path+" users create --username ctrl.c --role user")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var screen syncBuffer
			go io.Copy(&screen, m)
			waitFor := func(want string, n int) {
				t.Helper()
				for range 500 {
					if strings.Count(screen.String(), want) >= n {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
				cmd.Process.Kill()
				t.Fatalf("no %q on the screen: %q", want, screen.String())
			}
			waitFor("Password (not shown): ", 1)
			for _, s := range tc.typed {
				m.WriteString(s)
				waitFor("Password again: ", 1)
			}
			m.WriteString("\x03")
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err = <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("Ctrl-C did not stop the command; the screen shows %q", screen.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("exit: %v, want code 130; the screen shows %q", err, screen.String())
			}
			after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if after.Lflag&unix.ECHO == 0 || *after != *before {
				t.Fatalf("the terminal was left changed: %+v, was %+v", after, before)
			}
			waitFor("interrupted; nothing was created", 1)
			if strings.Contains(screen.String(), "typed secret") {
				t.Fatalf("the screen shows the password: %q", screen.String())
			}
		})
	}
	app := newTestAppOn(t, cfg.Database.URL, nil)
	if n := app.count(t, "users"); n != 0 {
		t.Fatalf("%d users created", n)
	}
}

// TestReadLine: the keys a password prompt in raw mode understands.
func TestReadLine(t *testing.T) {
	for typed, want := range map[string]string{
		"secret\r":           "secret",
		"secret\n":           "secret",
		"secrex\x7ft\r":      "secret",
		"secrét\x7f\x7fet\r": "secret",
		"wrong\x15secret\r":  "secret",
		"sec\x04ret\r":       "secret",
		"se\x00cr\tet\r":     "secret",
		"secret":             "secret", // the input ends
		"\x03":               "error: interrupted",
		"secret\x03\r":       "error: interrupted",
		"\x04":               "error: unexpected EOF",
		"":                   "error: EOF",
	} {
		got, err := readLine(strings.NewReader(typed))
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != want {
			t.Errorf("typed %q: %q, want %q", typed, got, want)
		}
	}
}
