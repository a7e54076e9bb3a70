// Command newfeature writes a new feature slice: `task new:feature NAME` or
// `go run ./tools/scaffold/newfeature NAME` from the repository root.
package main

import (
	"fmt"
	"os"

	"github.com/cleanslice/cleanslice/tools/scaffold"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: newfeature NAME   (e.g. archive_user)")
		os.Exit(2)
	}
	s, err := scaffold.Describe(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "newfeature:", err)
		os.Exit(2)
	}
	files, err := scaffold.Write(".", s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "newfeature:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println("wrote", f)
	}
	fmt.Printf("\nAdd to newHandler in app.go (and import %q):\n\n%s\n\n", "github.com/cleanslice/cleanslice/features/"+s.Package, scaffold.RouteLines(s))
	fmt.Println("Then document the route in platform/openapi/openapi.yaml: TestDocumentMatchesRoutes insists.")
}
