// Package migrations embeds the numbered SQL migrations and the reference
// data of Shanghai's administrative divisions.
package migrations

import "embed"

// SQL holds the numbered migrations, applied in file-name order.
//
//go:embed *.sql
var SQL embed.FS

// Seed holds the reference data under seed/: Shanghai's districts, streets,
// committees and district boundaries (see seed/README.md for the sources).
//
//go:embed seed
var Seed embed.FS
