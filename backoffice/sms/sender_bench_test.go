package sms_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/sms"
)

// BenchmarkSenders queues 1,000 messages per iteration and sends them with
// four senders against the in-process SMS simulator, as four back offices
// would. It reports messages sent per second of wall time, PostgreSQL's
// claims and the simulator's HTTP handling included.
func BenchmarkSenders(b *testing.B) {
	f := newOutboxFixture(b)
	const messages = 1000
	batch := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		batch++
		tx := f.db.MustBegin()
		for i := range messages {
			if _, err := sms.Enqueue(context.Background(), tx, f.keyring, sms.Message{
				Event: sms.EventApplicationReturned, DistrictCode: xuhui, RecordNumber: fmt.Sprintf("2026%04d%06d", batch, i),
				Phone: "13812345678", ChildName: "张小明", Values: map[string]string{sms.PlaceholderReason: "材料不全"},
			}); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		var wait sync.WaitGroup
		for range 4 {
			sender := sms.NewSender(f.db, f.keyring, sms.SenderConfig{
				URL: f.simulator.SMSURL, Timeout: 5 * time.Second, BatchSize: 50, Backoff: time.Second, MaxBackoff: time.Second,
			})
			wait.Go(func() {
				for {
					claimed, err := sender.SendDue(context.Background())
					if err != nil {
						b.Error(err)
						return
					}
					if claimed == 0 {
						return
					}
				}
			})
		}
		wait.Wait()
	}
	b.StopTimer()
	var pending int
	if err := f.db.Get(&pending, `SELECT count(*) FROM sms_outbox WHERE status <> 'sent'`); err != nil {
		b.Fatal(err)
	}
	if pending != 0 {
		b.Fatalf("%d messages not sent", pending)
	}
	b.ReportMetric(float64(b.N*messages)/b.Elapsed().Seconds(), "msgs/s")
}
