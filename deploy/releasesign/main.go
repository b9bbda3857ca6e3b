// Command releasesign signs release files with detached SM2 signatures and
// checks them; make release runs it. See release.CommandUsage for its
// commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/sh-preschool/preschool/shared/release"
)

func main() {
	err := release.Run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return
	case errors.Is(err, release.ErrUsage):
		fmt.Fprintln(os.Stderr, "releasesign:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "releasesign:", err)
		os.Exit(1)
	}
}
