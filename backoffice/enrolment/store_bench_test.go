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

// BenchmarkInsertApplicationBatch stores 1,000-application batches, each
// for registrations stored just before, and reports the wall time per row.
// It includes the check of each application's registration that guards
// against a deletion approved while the application was in the stream.
func BenchmarkInsertApplicationBatch(b *testing.B) {
	env := backofficetest.New(b)
	store := &enrolment.Store{DB: env.DB.DB}
	number := env.Register(b, backofficetest.Subject(1), env.ShanghaiChild(b, 1, xuhui, xuhui))
	registrationTemplate := env.RegistrationOf(b, number)
	applicationTemplate := env.ApplicationOf(b, env.Apply(b, backofficetest.Subject(1), number, xuhui))

	const batchSize = 1000
	sequence := int64(1_000_000)
	registrations := make([]enrol.RegistrationRecord, batchSize)
	applications := make([]enrol.ApplicationRecord, batchSize)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		for i := range registrations {
			sequence++
			childIndex := make([]byte, 32)
			rand.Read(childIndex)
			registration := registrationTemplate
			registration.Number = enrol.FormatRegistrationNumber(registrationTemplate.Year, sequence)
			registration.ChildIndex = childIndex
			registrations[i] = registration
			application := applicationTemplate
			application.Number = enrol.FormatApplicationNumber(applicationTemplate.Year, xuhui, sequence)
			application.RegistrationNumber, application.ChildIndex = registration.Number, childIndex
			applications[i] = application
		}
		if _, err := store.InsertBatch(context.Background(), registrations, nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := store.InsertBatch(context.Background(), nil, applications); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batchSize), "µs/row")
}
