//go:build ignore

// Command gen_common writes common_passwords.txt, the 30,000 most common
// passwords, and common_passwords_LICENSE.txt, where they come from:
// `go generate ./shared/user` (network needed once; the Go checksum database
// vouches for the download). A developer tool, never built into the service.
//
// The source is data/passwords.txt of github.com/trustelem/zxcvbn (MIT), the
// ranked list (xato's leaked-password corpus, as Dropbox's zxcvbn counts it)
// that zxcvbn's frequency.FrequencyLists["passwords"] is built from. That
// built list is not taken as it is: it drops every password that ranks
// higher in zxcvbn's name or word lists (michael, jennifer, jessica...), 8,558
// of the 30,000 most common ones.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const (
	module  = "github.com/trustelem/zxcvbn"
	version = "v1.0.1"
	source  = "data/passwords.txt"
	count   = 30000
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen_common:", err)
		os.Exit(1)
	}
}

func run() error {
	out, err := exec.Command("go", "mod", "download", "-json", module+"@"+version).Output()
	if err != nil {
		return fmt.Errorf("download %s@%s: %w", module, version, err)
	}
	var mod struct{ Dir, Sum string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return fmt.Errorf("read go mod download output: %w", err)
	}
	list, err := mostCommon(filepath.Join(mod.Dir, source))
	if err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(mod.Dir, "LICENSE.txt"))
	if err != nil {
		return fmt.Errorf("read license: %w", err)
	}
	if err := os.WriteFile("common_passwords.txt", []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	notice := fmt.Sprintf(`common_passwords.txt: the first %d lines (the most common first) of
%s in the Go module %s %s
(go.sum %s), one a line, as they are
there (lower-case ASCII, distinct: the generator checks), written by
gen_common.go (go generate ./shared/user). trustelem/zxcvbn is a Go port of
Dropbox's zxcvbn and carries its data files (github.com/dropbox/zxcvbn, MIT,
Copyright (c) 2012-2015 Dan Wheeler and Dropbox, Inc.).

trustelem/zxcvbn's license:

%s`, count, source, module, version, mod.Sum, license)
	return os.WriteFile("common_passwords_LICENSE.txt", []byte(notice), 0o644)
}

// mostCommon reads the first count passwords of a ranked "password count"
// file and checks them: distinct, lower case, printable ASCII. The lookup
// lowers what it is given and compares bytes, so anything else would never
// match.
func mostCommon(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	seen := make(map[string]bool, count)
	list := make([]string, 0, count)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for len(list) < count && sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s line %d: want password and count", source, len(list)+1)
		}
		p := fields[0]
		for i := 0; i < len(p); i++ {
			if p[i] <= ' ' || p[i] > '~' || p[i] >= 'A' && p[i] <= 'Z' {
				return nil, fmt.Errorf("%s line %d: %q is not lower-case printable ASCII", source, len(list)+1, p)
			}
		}
		if seen[p] {
			return nil, fmt.Errorf("%s line %d: %q twice", source, len(list)+1, p)
		}
		seen[p] = true
		list = append(list, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	if len(list) < count {
		return nil, fmt.Errorf("%s has %d passwords, want %d", source, len(list), count)
	}
	return list, nil
}
