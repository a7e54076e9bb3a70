// Command newmigration writes an empty, numbered up/down migration pair for
// both engines: `task migrate:new -- NAME`, from the repository root.
package main

import (
	"fmt"
	"os"

	"github.com/cleanslice/cleanslice/db"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: newmigration NAME   (e.g. add_widgets)")
		os.Exit(2)
	}
	files, err := db.NewMigration(".", os.Args[1])
	for _, f := range files {
		fmt.Println("wrote", f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "newmigration:", err)
		os.Exit(1)
	}
	fmt.Println("Write both engines' SQL; TestMigrationStairway runs every step up, down and up again.")
}
