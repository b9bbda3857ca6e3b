package enrolment_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// BenchmarkInsertBatch stores 1,000-registration batches as the drainer
// does and reports the wall time per row (PostgreSQL's work included).
func BenchmarkInsertBatch(b *testing.B) {
	env := backofficetest.New(b)
	store := &enrolment.Store{DB: env.DB.DB}
	template := env.RegistrationOf(b, env.Register(b, backofficetest.Subject(1), env.ShanghaiChild(b, 1, xuhui, xuhui)))

	const batchSize = 1000
	sequence := int64(1_000_000)
	batch := make([]enrol.RegistrationRecord, batchSize)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range batch {
			record := template
			sequence++
			record.Number = enrol.FormatRegistrationNumber(template.Year, sequence)
			record.ChildIndex = make([]byte, 32)
			rand.Read(record.ChildIndex)
			batch[i] = record
		}
		b.StartTimer()
		if _, err := store.InsertBatch(context.Background(), batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batchSize), "µs/row")
}
