package certificates_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/dashboard/certificates"
	dashboardenrolment "github.com/sh-preschool/preschool/backoffice/dashboard/enrolment"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
)

// drainTwoRegistrations registers two 徐汇 children through the edge's
// service, the first with a fetched birth certificate and an uploaded
// household register, the second without certificates, and drains them.
func drainTwoRegistrations(t *testing.T) (env *backofficetest.Env, withCertificates, without string) {
	t.Helper()
	env = backofficetest.New(t)
	subject := backofficetest.Subject(1)
	request := env.ShanghaiChild(t, 1, backofficetest.Xuhui, backofficetest.Xuhui)
	owner := env.Keyring.Index("owner", []byte(subject))
	token := prefill.SealToken(env.Keyring, owner, prefill.Fetched{
		Type: "birth_certificate", Number: "SH0001", Holder: request.Child.Document.Type + ":" + request.Child.Document.Number,
		ExpiresAt: time.Now().Add(time.Hour),
	})
	request.Certificates = []precheck.CertificateRequest{
		{Type: "birth_certificate", Source: "prefill", PrefillToken: token},
		{Type: "household_register", Source: "upload", FileID: strings.Repeat("a", 32)},
	}
	withCertificates = env.Register(t, subject, request)
	without = env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, backofficetest.Xuhui, backofficetest.Xuhui))

	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("certificates")))
	env.WaitForRows(t, 30*time.Second, 2, `SELECT count(*) FROM registration`)
	if err := running.Stop(t); err != nil {
		t.Fatalf("drainer: %v", err)
	}
	return env, withCertificates, without
}

// checkStoredSources checks the columns of both registrations and the
// rollup of 徐汇.
func checkStoredSources(t *testing.T, env *backofficetest.Env, withCertificates, without string) {
	t.Helper()
	type columns struct {
		Fetched  string `db:"fetched"`
		Uploaded string `db:"uploaded"`
	}
	read := func(number string) columns {
		var got columns
		if err := env.DB.DB.Get(&got, `SELECT CAST(certificates_fetched AS text) AS fetched, CAST(certificates_uploaded AS text) AS uploaded
			FROM registration WHERE registration_number = $1`, number); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if diff := cmp.Diff(columns{Fetched: "{birth_certificate}", Uploaded: "{household_register}"}, read(withCertificates)); diff != "" {
		t.Errorf("registration with certificates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(columns{Fetched: "{}", Uploaded: "{}"}, read(without)); diff != "" {
		t.Errorf("registration without certificates (-want +got):\n%s", diff)
	}

	type rollupRow struct {
		Type    string `db:"certificate_type"`
		Source  string `db:"source"`
		Records int64  `db:"records"`
	}
	var rows []rollupRow
	if err := env.DB.DB.Select(&rows, `SELECT certificate_type, source, sum(records) AS records FROM certificate_rollup
		WHERE kind = 'registration' AND district_code = $1 GROUP BY 1, 2 ORDER BY 1, 2`, backofficetest.Xuhui); err != nil {
		t.Fatal(err)
	}
	want := []rollupRow{
		{Type: "", Source: "fetched", Records: 1},
		{Type: "", Source: "record", Records: 2},
		{Type: "", Source: "uploaded", Records: 1},
		{Type: "birth_certificate", Source: "fetched", Records: 1},
		{Type: "household_register", Source: "uploaded", Records: 1},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("certificate rollup (-want +got):\n%s", diff)
	}
}

// The sources travel from the edge's sealing through the stream and the
// drainer into the columns and the rollup.
func TestDrainStoresCertificateSources(t *testing.T) {
	env, withCertificates, without := drainTwoRegistrations(t)

	checkStoredSources(t, env, withCertificates, without)
}

func TestBackfillOpensSealedFormValues(t *testing.T) {
	env, withCertificates, without := drainTwoRegistrations(t)
	ctx := context.Background()
	if _, _, err := dashboardenrolment.Generate(ctx, env.DB.DB, env.Year.Year, 10); err != nil {
		t.Fatal(err)
	}
	// As stored before the edge sent the sources.
	if _, err := env.DB.DB.Exec(`UPDATE registration SET certificates_fetched = NULL, certificates_uploaded = NULL`); err != nil {
		t.Fatal(err)
	}
	if _, err := dashboardenrolment.Rebuild(ctx, env.DB.DB); err != nil {
		t.Fatal(err)
	}

	registrations, applications, err := certificates.Backfill(ctx, env.DB.DB, env.Keyring, 1)

	if err != nil {
		t.Fatalf("Backfill: %v", err)
	}
	if registrations != 2 || applications != 0 {
		t.Errorf("Backfill filled %d registrations and %d applications, want 2 and 0", registrations, applications)
	}
	checkStoredSources(t, env, withCertificates, without)
	if generated := env.Count(t, `SELECT count(*) FROM registration WHERE key_id = 'generated' AND certificates_fetched IS NOT NULL`); generated != 0 {
		t.Errorf("Backfill filled %d generated registrations, which have nothing to open", generated)
	}
}
