// Command gendoc writes docs/configuration.md (see package reference). Run
// it from the repository root:
//
//	go run ./internal/config/gendoc
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hookledger/hookledger/internal/config/reference"
)

func main() {
	root := flag.String("root", ".", "repository root")
	flag.Parse()
	out, err := reference.Generate(*root)
	if err == nil {
		err = os.WriteFile(filepath.Join(*root, reference.Output), out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gendoc:", err)
		os.Exit(1)
	}
}
