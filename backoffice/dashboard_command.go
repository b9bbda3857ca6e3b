package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/dashboard/certificates"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/backoffice/dashboard/figures"
	"github.com/sh-preschool/preschool/shared/config"
)

const dashboardUsage = `usage:
  backoffice dashboard rebuild                         recompute the enrolment and certificate rollups from the raw tables
  backoffice dashboard generate-figures [-year Y]      generate population, census and nursery figures (default: every enrolment year)
  backoffice dashboard generate-enrolment -registrations N [-year Y]
                                                       replace the generated registrations (and 70% as many applications) of year Y
  backoffice dashboard backfill-certificates [-batch N]
                                                       fill the certificate sources of records stored before the edge sent them
                                                       (opens their sealed form values, needs the keyring), then rebuild the rollups
  backoffice dashboard import -table T FILE            import a CSV or xlsx file (by extension) into table T:
                                                       resident_population, kindergarten_class_census, kindergarten_child_census,
                                                       kindergarten_staff_census, nursery_place, opinion_record`

func runDashboard(ctx context.Context, reader *config.Reader, args []string) error {
	if len(args) == 0 {
		return errors.New(dashboardUsage)
	}
	db, err := openDatabase(ctx, reader, 2)
	if err != nil {
		return err
	}
	defer db.Close()

	command, args := args[0], args[1:]
	flags := flag.NewFlagSet("dashboard "+command, flag.ContinueOnError)
	year := flags.Int("year", 0, "enrolment or census year (0: the current enrolment year, or every year for generate-figures)")
	registrations := flags.Int("registrations", 120_000, "number of registrations to generate")
	table := flags.String("table", "", "table to import into")
	batch := flags.Int("batch", 500, "records per transaction of backfill-certificates")
	if err := flags.Parse(args); err != nil {
		return err
	}
	start := time.Now()
	switch command {
	case "rebuild":
		rows, err := dashboardenrolment.Rebuild(ctx, db)
		if err != nil {
			return err
		}
		fmt.Printf("rebuilt the enrolment rollup in %s: %d rows\n", time.Since(start).Round(time.Millisecond), rows)
		return nil
	case "generate-figures":
		years := []int{*year}
		if *year == 0 {
			if years, err = enrolmentYears(ctx, db); err != nil {
				return err
			}
		}
		for _, y := range years {
			if err := figures.Generate(ctx, db, y); err != nil {
				return err
			}
		}
		fmt.Printf("generated the dashboard figures of %v in %s\n", years, time.Since(start).Round(time.Millisecond))
		return nil
	case "generate-enrolment":
		if *year == 0 {
			store := &dashboardenrolment.Store{DB: db}
			if *year, err = store.CurrentYear(ctx, time.Now()); err != nil {
				return err
			}
		}
		registered, applied, err := dashboardenrolment.Generate(ctx, db, *year, *registrations)
		if err != nil {
			return err
		}
		fmt.Printf("generated %d registrations and %d applications of %d in %s\n", registered, applied, *year, time.Since(start).Round(time.Millisecond))
		return nil
	case "backfill-certificates":
		keyring, err := loadKeyring(ctx, reader)
		if err != nil {
			return err
		}
		registrations, applications, err := certificates.Backfill(ctx, db, keyring, *batch)
		if err != nil {
			return err
		}
		fmt.Printf("filled the certificate sources of %d registrations and %d applications in %s\n",
			registrations, applications, time.Since(start).Round(time.Millisecond))
		return nil
	case "import":
		if flags.NArg() != 1 || *table == "" {
			return errors.New("import needs -table and one file: " + dashboardUsage)
		}
		path := flags.Arg(0)
		format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		stored, err := figures.Import(ctx, db, *table, format, file)
		if err != nil {
			return fmt.Errorf("import %s into %s: %w", path, *table, err)
		}
		fmt.Printf("imported %d rows into %s in %s\n", stored, *table, time.Since(start).Round(time.Millisecond))
		return nil
	}
	return fmt.Errorf("unknown dashboard command %q\n%s", command, dashboardUsage)
}

// enrolmentYears returns every enrolment year in the database.
func enrolmentYears(ctx context.Context, db *sqlx.DB) ([]int, error) {
	var years []int
	err := db.SelectContext(ctx, &years, `SELECT year FROM enrolment_year ORDER BY year`)
	return years, err
}

// seedDashboardFigures generates the dashboard figures of every enrolment
// year, so a demo's development panels have data.
func seedDashboardFigures(ctx context.Context, db *sqlx.DB) error {
	years, err := enrolmentYears(ctx, db)
	if err != nil {
		return err
	}
	for _, year := range years {
		if err := figures.Generate(ctx, db, year); err != nil {
			return err
		}
	}
	return nil
}
