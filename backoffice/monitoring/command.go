package monitoring

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
)

// CommandUsage describes the monitoring subcommands.
const CommandUsage = `usage:
  backoffice monitoring generate [-days 7] [-rollup-days 0] [-children 550000] [-seed 1] [-end YYYY-MM-DD]
      replace all attendance, morning-check and weather data with a simulated school year
  backoffice monitoring rebuild [-from YYYY-MM-DD] [-to YYYY-MM-DD]
      recompute the rollups of the days in the range that have raw rows
  backoffice monitoring api-key -kindergarten ID -name NAME
      create an API key for a kindergarten system and print it once`

// Command runs a monitoring subcommand with its arguments.
func Command(ctx context.Context, db *sqlx.DB, args []string, out io.Writer, now time.Time) error {
	if len(args) == 0 {
		return errors.New(CommandUsage)
	}
	switch args[0] {
	case "generate":
		return generateCommand(ctx, db, args[1:], out, now)
	case "rebuild":
		return rebuildCommand(ctx, db, args[1:], out, now)
	case "api-key":
		return apiKeyCommand(ctx, db, args[1:], out)
	}
	return fmt.Errorf("unknown monitoring command %q\n%s", args[0], CommandUsage)
}

func parseDateFlag(name, value string) (time.Time, error) {
	day, err := time.Parse(time.DateOnly, value)
	if err != nil {
		return day, fmt.Errorf("-%s %q is not a date of the form YYYY-MM-DD", name, value)
	}
	return day, nil
}

func generateCommand(ctx context.Context, db *sqlx.DB, args []string, out io.Writer, now time.Time) error {
	flags := flag.NewFlagSet("monitoring generate", flag.ContinueOnError)
	days := flags.Int("days", 7, "calendar days up to -end that get raw rows (weekends and holidays get none)")
	rollupDays := flags.Int("rollup-days", 0, "calendar days before those that get rollups only (365 for a year)")
	children := flags.Int("children", 550_000, "children spread over the kindergartens' seat plans")
	seed := flags.Uint64("seed", 1, "seed of the random generator; the same seed gives the same data")
	end := flags.String("end", Today(now).Format(time.DateOnly), "last day generated, YYYY-MM-DD (default today in Shanghai)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	endDay, err := parseDateFlag("end", *end)
	if err != nil {
		return err
	}
	summary, err := Generate(ctx, db, GenerateOptions{Seed: *seed, Children: *children, End: endDay, RawDays: *days, RollupDays: *rollupDays})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "generated in %s: %d children in %d kindergartens, %d raw rows on %d school days (%d abnormal morning checks), %d rollup-only school days, %d rollup rows, %d weather rows\n",
		summary.Elapsed.Round(time.Millisecond), summary.Children, summary.Kindergartens, summary.RawRows, summary.RawSchoolDays,
		summary.AbnormalChecks, summary.RollupOnlyDays, summary.RollupRows, summary.WeatherRows)
	return nil
}

func rebuildCommand(ctx context.Context, db *sqlx.DB, args []string, out io.Writer, now time.Time) error {
	flags := flag.NewFlagSet("monitoring rebuild", flag.ContinueOnError)
	from := flags.String("from", "2000-01-01", "first day to rebuild, YYYY-MM-DD")
	to := flags.String("to", Today(now).Format(time.DateOnly), "last day to rebuild, YYYY-MM-DD")
	if err := flags.Parse(args); err != nil {
		return err
	}
	fromDay, err := parseDateFlag("from", *from)
	if err != nil {
		return err
	}
	toDay, err := parseDateFlag("to", *to)
	if err != nil {
		return err
	}
	summary, err := Rebuild(ctx, db, fromDay, toDay)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "rebuilt in %s: %d days, %d raw rows, %d kindergarten rows, %d district rows, %d kindergarten slot rows, %d district slot rows\n",
		summary.Elapsed.Round(time.Millisecond), summary.Days, summary.RawRows, summary.KindergartenRows, summary.DistrictRows,
		summary.KindergartenSlotRows, summary.DistrictSlotRows)
	return nil
}

func apiKeyCommand(ctx context.Context, db *sqlx.DB, args []string, out io.Writer) error {
	flags := flag.NewFlagSet("monitoring api-key", flag.ContinueOnError)
	kindergarten := flags.Int64("kindergarten", 0, "ID of the kindergarten whose system uses the key")
	name := flags.String("name", "", "what the key is for, for example the system's name")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *kindergarten <= 0 || *name == "" {
		return errors.New("api-key needs -kindergarten ID and -name NAME")
	}
	key, err := CreateAPIKey(ctx, db, *kindergarten, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "API key for kindergarten %d (%s), shown only now: %s\n", *kindergarten, *name, key)
	return nil
}
