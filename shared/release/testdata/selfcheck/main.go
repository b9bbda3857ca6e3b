// Command selfcheck is built by the release package's tests: it runs
// release.VerifySelf with the public key file named by its argument, as the
// edge and the back office do at start-up.
package main

import (
	"fmt"
	"os"

	"github.com/sh-preschool/preschool/shared/release"
)

func main() {
	if err := release.VerifySelf(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("self-check passed")
}
