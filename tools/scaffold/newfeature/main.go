// Command newfeature writes a new feature slice and prints where to mount
// it and what else to touch: `task new:feature -- NAME [--shape SHAPE]`,
// or `go run ./tools/scaffold/newfeature [--shape SHAPE] NAME` from the
// repository root. The shapes: plain (the default), admin (an admin acting
// on a target user) and self (a user's own change after their current
// password).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cleanslice/cleanslice/tools/scaffold"
)

func main() {
	os.Exit(run(".", os.Args[1:], os.Stdout, os.Stderr))
}

// run writes the slice under root and returns the exit code: 2 for a
// usage error, 1 when the slice could not be written.
func run(root string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("newfeature", flag.ContinueOnError)
	fs.SetOutput(stderr)
	shape := fs.String("shape", string(scaffold.Plain), fmt.Sprintf("the slice's shape: one of %v", scaffold.Shapes))
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: newfeature [--shape plain|admin|self] NAME   (e.g. archive_user)")
		fs.PrintDefaults()
	}
	// The name may come before the flag too (task new:feature -- NAME
	// --shape admin): parse what follows it as well.
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return 2
	}
	name := rest[0]
	if err := fs.Parse(rest[1:]); err != nil {
		return 2
	}
	if len(fs.Args()) != 0 {
		fs.Usage()
		return 2
	}
	s, err := scaffold.Describe(name, scaffold.Shape(*shape))
	if err != nil {
		fmt.Fprintln(stderr, "newfeature:", err)
		return 2
	}
	files, err := scaffold.Write(root, s)
	for _, f := range files {
		fmt.Fprintln(stdout, "wrote", f)
	}
	if err != nil {
		fmt.Fprintln(stderr, "newfeature:", err)
		return 1
	}
	fmt.Fprintf(stdout, "\n%s", scaffold.Next(s))
	return 0
}
