package enrolment_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// BenchmarkInsertBatchRollup stores 1,000-registration batches spread over
// every street, as the drainer does, with the rollup triggers on and off,
// and reports the wall time per row of each, so the triggers' cost on the
// enrolment path shows. "on" runs the enrolment and certificate rollup
// triggers, "enrolment" the enrolment one alone, and "off" neither. Each
// registration fetched one certificate and uploaded another.
func BenchmarkInsertBatchRollup(b *testing.B) {
	env := backofficetest.New(b)
	store := &enrolment.Store{DB: env.DB.DB}
	template := env.RegistrationOf(b, env.Register(b, backofficetest.Subject(1), env.ShanghaiChild(b, 1, backofficetest.Xuhui, backofficetest.Xuhui)))
	template.CertificateSources = &enrol.CertificateSources{Fetched: []string{"birth_certificate"}, Uploaded: []string{"household_register"}}
	var streets []struct {
		Code     string `db:"code"`
		District string `db:"district_code"`
	}
	if err := env.DB.DB.Select(&streets, `SELECT code, district_code FROM street ORDER BY code`); err != nil {
		b.Fatal(err)
	}

	const batchSize = 1000
	sequence := int64(1_000_000)
	settings := []struct{ name, enrolment, certificate string }{
		{"on", "ENABLE", "ENABLE"},
		{"enrolment", "ENABLE", "DISABLE"},
		{"off", "DISABLE", "DISABLE"},
	}
	for _, setting := range settings {
		b.Run(fmt.Sprintf("triggers=%s", setting.name), func(b *testing.B) {
			_, err := env.DB.DB.Exec(`ALTER TABLE registration ` + setting.enrolment + ` TRIGGER registration_rollup, ` +
				setting.certificate + ` TRIGGER registration_certificate_rollup`)
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]enrol.RegistrationRecord, batchSize)
			for b.Loop() {
				b.StopTimer()
				for i := range batch {
					record := template
					sequence++
					record.Number = enrol.FormatRegistrationNumber(template.Year, sequence)
					record.ChildIndex = make([]byte, 32)
					rand.Read(record.ChildIndex)
					street := streets[int(sequence)%len(streets)]
					record.ResidenceDistrict, record.ResidenceStreet, record.ResidenceCommittee = street.District, street.Code, ""
					batch[i] = record
				}
				b.StartTimer()
				if _, err := store.InsertBatch(context.Background(), batch, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batchSize), "µs/row")
		})
	}
}
