package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/term"
)

// readPassword returns the new user's password: from the environment
// variable envName if given, else from stdin. On a terminal it prompts on
// prompt, reads without echo and asks twice; otherwise it reads one line.
func readPassword(ctx context.Context, envName string, stdin io.Reader, prompt io.Writer) (string, error) {
	if envName != "" {
		pw, ok := os.LookupEnv(envName)
		if !ok {
			return "", usageError{fmt.Sprintf("users create: the environment variable %s is not set", envName)}
		}
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(ctx, f, prompt)
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("users create: read password from stdin: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// errInterrupted ends a command stopped at a prompt: Ctrl-C, or a signal
// while it waited (main exits 130, as shells expect of Ctrl-C).
var errInterrupted = errors.New("interrupted")

// promptPassword reads a password twice from the terminal with echo off,
// so that it shows neither on the screen nor in the scrollback.
func promptPassword(ctx context.Context, tty *os.File, prompt io.Writer) (string, error) {
	var entries [2]string
	for i, label := range []string{"Password (not shown): ", "Password again: "} {
		pw, err := readHidden(ctx, tty, prompt, label)
		fmt.Fprintln(prompt)
		if errors.Is(err, errInterrupted) {
			return "", fmt.Errorf("users create: %w; nothing was created", err)
		}
		if err != nil {
			return "", fmt.Errorf("users create: read password from the terminal: %w", err)
		}
		entries[i] = pw
	}
	if entries[0] != entries[1] {
		return "", errors.New("users create: the two passwords differ; nothing was created")
	}
	return entries[0], nil
}

// readHidden shows label on prompt and reads one line from the terminal
// tty with its settings restored before it returns, however the read
// ends: Enter, Ctrl-C (errInterrupted), or ctx (a signal: errInterrupted
// too). The terminal is in raw mode meanwhile (no echo; Ctrl-C is a
// character, not a signal the read would never hear of), from before the
// label shows: what is typed as soon as it does is never echoed. The
// settings are changed and restored here, never in the goroutine that
// reads.
func readHidden(ctx context.Context, tty *os.File, prompt io.Writer, label string) (string, error) {
	if ctx.Err() != nil {
		return "", errInterrupted
	}
	fd := int(tty.Fd())
	saved, err := term.MakeRaw(fd)
	if err != nil {
		return "", err
	}
	defer term.Restore(fd, saved) //nolint:errcheck // nothing better to do than exit with the error at hand
	fmt.Fprint(prompt, label)
	type line struct {
		s   string
		err error
	}
	read := make(chan line, 1)
	go func() {
		s, err := readLine(tty)
		read <- line{s, err}
	}()
	select {
	case l := <-read:
		return l.s, l.err
	case <-ctx.Done():
		return "", errInterrupted // the reader is left blocked; the process is ending
	}
}

// readLine reads a line typed on a terminal in raw mode: Enter ends it,
// Backspace removes the last character, Ctrl-U the whole line, Ctrl-C is
// errInterrupted and Ctrl-D on an empty line io.ErrUnexpectedEOF; other
// control characters are ignored.
func readLine(r io.Reader) (string, error) {
	var b []byte
	var c [1]byte
	for {
		n, err := r.Read(c[:])
		if n == 1 {
			switch c[0] {
			case '\r', '\n':
				return string(b), nil
			case 0x03: // Ctrl-C
				return "", errInterrupted
			case 0x04: // Ctrl-D
				if len(b) == 0 {
					return "", io.ErrUnexpectedEOF
				}
			case 0x7f, '\b':
				if len(b) > 0 {
					_, size := utf8.DecodeLastRune(b)
					b = b[:len(b)-size]
				}
			case 0x15: // Ctrl-U
				b = b[:0]
			default:
				if c[0] >= 0x20 {
					b = append(b, c[0])
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				return string(b), nil
			}
			return "", err
		}
	}
}
