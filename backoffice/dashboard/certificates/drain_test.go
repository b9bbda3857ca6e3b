package certificates_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/edge/precheck"
	"github.com/sh-preschool/preschool/edge/prefill"
)

// The sources travel from the edge's sealing through the stream and the
// drainer into the columns and the rollup.
func TestDrainStoresCertificateSources(t *testing.T) {
	env := backofficetest.New(t)
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
	withCertificates := env.Register(t, subject, request)
	without := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, backofficetest.Xuhui, backofficetest.Xuhui))

	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("certificates")))
	env.WaitForRows(t, 30*time.Second, 2, `SELECT count(*) FROM registration`)

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
