package sms_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/seed"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/testenv"
	"github.com/sh-preschool/preschool/simulators"
	"github.com/sh-preschool/preschool/simulators/fault"
)

const xuhui = "310104"

// outboxFixture is a migrated database with the divisions, a keyring and
// the simulators with an SMS delivery delay of zero.
type outboxFixture struct {
	db        *sqlx.DB
	keyring   *crypto.Keyring
	simulator *simulators.Running
}

func newOutboxFixture(t testing.TB) *outboxFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	database := testenv.NewDatabase(t)
	if err := seed.LoadDivisions(ctx, database.DB); err != nil {
		t.Fatalf("load divisions: %v", err)
	}
	keyring, err := crypto.NewKeyring(crypto.GenerateKeyring("k1"))
	if err != nil {
		t.Fatal(err)
	}
	running, err := simulators.Start(context.Background(), simulators.Config{Seed: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("start simulators: %v", err)
	}
	t.Cleanup(func() { running.Close() })
	return &outboxFixture{db: database.DB, keyring: keyring, simulator: running}
}

func (f *outboxFixture) sender() *sms.Sender {
	return sms.NewSender(f.db, f.keyring, sms.SenderConfig{
		URL: f.simulator.SMSURL, Timeout: 2 * time.Second, Interval: 10 * time.Millisecond, BatchSize: 10,
		Backoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond, ReceiptWindow: time.Hour,
	})
}

// enqueue queues a message to phone about record and returns its ID.
func (f *outboxFixture) enqueue(t *testing.T, record, phone string, sendAt time.Time) int64 {
	t.Helper()
	tx, err := f.db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	id, err := sms.Enqueue(context.Background(), tx, f.keyring, sms.Message{
		Event: sms.EventApplicationReturned, DistrictCode: xuhui, RecordNumber: record, Phone: phone,
		ChildName: "张小明", SendAt: sendAt,
		Values: map[string]string{sms.PlaceholderReason: "材料不全", sms.PlaceholderDistrict: "徐汇区"},
	})
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return id
}

type outboxRow struct {
	Status    string  `db:"status"`
	Attempts  int     `db:"attempts"`
	LastError *string `db:"last_error"`
	Provider  *string `db:"provider_message_id"`
}

func (f *outboxFixture) row(t *testing.T, id int64) outboxRow {
	t.Helper()
	var row outboxRow
	if err := f.db.Get(&row, `SELECT status, attempts, last_error, provider_message_id FROM sms_outbox WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	return row
}

// sendUntil runs send rounds until the message has status, for at most
// 200 rounds (the backoff is a few milliseconds).
func (f *outboxFixture) sendUntil(t *testing.T, sender *sms.Sender, id int64, status string) outboxRow {
	t.Helper()
	for range 200 {
		if _, err := sender.SendDue(context.Background()); err != nil {
			t.Fatalf("SendDue: %v", err)
		}
		if row := f.row(t, id); row.Status == status {
			return row
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("message %d never reached status %s; it is %+v", id, status, f.row(t, id))
	return outboxRow{}
}

func TestSenderRetriesThenFails(t *testing.T) {
	f := newOutboxFixture(t)
	if err := f.simulator.SetFault(simulators.ServiceSMS, fault.Config{FailureRate: 1}); err != nil {
		t.Fatal(err)
	}
	sender := f.sender()
	id := f.enqueue(t, "20260104000012", "13812345678", time.Time{})

	if _, err := sender.SendDue(context.Background()); err != nil {
		t.Fatalf("SendDue: %v", err)
	}
	first := f.row(t, id)
	if first.Status != sms.StatusPending || first.Attempts != 1 {
		t.Errorf("after one failed attempt = %+v, want pending with 1 attempt", first)
	}
	if first.LastError == nil || *first.LastError != "短信服务暂时不可用（HTTP 503）" {
		t.Errorf("last error after one failed attempt = %v, want the HTTP 503", first.LastError)
	}

	failed := f.sendUntil(t, sender, id, sms.StatusFailed)
	if failed.Attempts != 5 {
		t.Errorf("attempts when failed = %d, want 5", failed.Attempts)
	}
	if f.simulator.SMS.Sent() != 0 {
		t.Errorf("simulator accepted %d messages, want 0", f.simulator.SMS.Sent())
	}
	stats, err := f.simulator.Stats(simulators.ServiceSMS)
	if err != nil {
		t.Fatal(err)
	}
	if got := stats.Paths["/v1/sms/messages"].Requests; got != 5 {
		t.Errorf("simulator send requests = %d, want 5", got)
	}
}

func TestSenderRecoversAndPollsDelivery(t *testing.T) {
	f := newOutboxFixture(t)
	if err := f.simulator.SetFault(simulators.ServiceSMS, fault.Config{FailureRate: 1}); err != nil {
		t.Fatal(err)
	}
	sender := f.sender()
	id := f.enqueue(t, "20260104000012", "13812345678", time.Time{})
	undeliverable := f.enqueue(t, "20260104000023", "13900000000", time.Time{})
	if _, err := sender.SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}

	if err := f.simulator.SetFault(simulators.ServiceSMS, fault.Config{}); err != nil {
		t.Fatal(err)
	}
	sent := f.sendUntil(t, sender, id, sms.StatusSent)
	if sent.Attempts != 2 || sent.Provider == nil {
		t.Errorf("sent row = %+v, want 2 attempts and the simulator's message ID", sent)
	}
	f.sendUntil(t, sender, undeliverable, sms.StatusSent)
	if f.simulator.SMS.Sent() != 2 {
		t.Errorf("simulator accepted %d messages, want 2", f.simulator.SMS.Sent())
	}

	changed, err := sender.PollReceipts(context.Background())
	if err != nil {
		t.Fatalf("PollReceipts: %v", err)
	}
	if changed != 2 {
		t.Errorf("PollReceipts changed %d rows, want 2", changed)
	}
	if row := f.row(t, id); row.Status != sms.StatusDelivered {
		t.Errorf("delivered row = %+v, want delivered", row)
	}
	if row := f.row(t, undeliverable); row.Status != sms.StatusFailed || row.LastError == nil {
		t.Errorf("undeliverable row = %+v, want failed with a reason", row)
	}
}

func TestSenderRejectedPhoneFailsAtOnce(t *testing.T) {
	f := newOutboxFixture(t)
	id := f.enqueue(t, "20260104000012", "+85291234567", time.Time{})
	if _, err := f.sender().SendDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	row := f.row(t, id)
	if row.Status != sms.StatusFailed || row.Attempts != 1 {
		t.Errorf("row with a number the SMS service rejects = %+v, want failed after 1 attempt", row)
	}
	if row.LastError == nil || !strings.HasPrefix(*row.LastError, "短信服务拒收（HTTP 4") {
		t.Errorf("last error of a rejected message = %v, want the Chinese reason with the HTTP status", row.LastError)
	}
}

func TestSenderWaitsForSendAt(t *testing.T) {
	f := newOutboxFixture(t)
	id := f.enqueue(t, "20260104000012", "13812345678", time.Now().Add(time.Hour))
	claimed, err := f.sender().SendDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if claimed != 0 {
		t.Errorf("SendDue claimed %d messages scheduled an hour ahead, want 0", claimed)
	}
	if row := f.row(t, id); row.Status != sms.StatusPending || row.Attempts != 0 {
		t.Errorf("scheduled row = %+v, want pending with no attempt", row)
	}
}

func TestSendersClaimEachMessageOnce(t *testing.T) {
	f := newOutboxFixture(t)
	const messages = 60
	for i := range messages {
		f.enqueue(t, fmt.Sprintf("2026010400%04d", i), "13812345678", time.Time{})
	}

	var wait sync.WaitGroup
	for range 4 {
		sender := f.sender()
		wait.Go(func() {
			for {
				claimed, err := sender.SendDue(context.Background())
				if err != nil {
					t.Errorf("SendDue: %v", err)
					return
				}
				if claimed == 0 {
					return
				}
			}
		})
	}
	wait.Wait()

	var counts struct {
		Sent     int `db:"sent"`
		Attempts int `db:"attempts"`
	}
	if err := f.db.Get(&counts, `SELECT count(*) FILTER (WHERE status = 'sent') AS sent, sum(attempts) AS attempts FROM sms_outbox`); err != nil {
		t.Fatal(err)
	}
	if counts.Sent != messages {
		t.Errorf("sent rows = %d, want %d", counts.Sent, messages)
	}
	if counts.Attempts != messages {
		t.Errorf("attempts over all rows = %d, want %d (one per message)", counts.Attempts, messages)
	}
	if f.simulator.SMS.Sent() != messages {
		t.Errorf("simulator accepted %d messages, want %d", f.simulator.SMS.Sent(), messages)
	}
}

func TestEnqueueChoosesMostSpecificTemplate(t *testing.T) {
	f := newOutboxFixture(t)
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := f.db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO enrolment_year VALUES (2026, '2022-09-01', '2023-08-31', now(), now() + interval '1 day',
		now(), now() + interval '1 day', '2026-07-01')`)
	var entryID, otherEntryID int64
	if err := f.db.Get(&entryID, `INSERT INTO entry (enrolment_year, district_code, category_code)
		SELECT 2026, $1, code FROM household_category ORDER BY sort_order LIMIT 1 RETURNING id`, xuhui); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Get(&otherEntryID, `INSERT INTO entry (enrolment_year, district_code, category_code)
		SELECT 2026, $1, code FROM household_category ORDER BY sort_order OFFSET 1 LIMIT 1 RETURNING id`, xuhui); err != nil {
		t.Fatal(err)
	}
	insert := `INSERT INTO sms_template (event, district_code, entry_id, body, updated_by) VALUES ('application_returned', $1, $2, $3, 'test')`
	mustExec(insert, nil, nil, "市级：{原因}")
	mustExec(insert, xuhui, nil, "区级：{原因}")
	mustExec(insert, xuhui, entryID, "入口：{姓名}{原因}")

	preview := func(district string, entry int64) string {
		t.Helper()
		tx := f.db.MustBegin()
		defer tx.Rollback()
		id, err := sms.Enqueue(context.Background(), tx, f.keyring, sms.Message{
			Event: sms.EventApplicationReturned, DistrictCode: district, EntryID: entry, RecordNumber: "20260104000012",
			Phone: "13812345678", ChildName: "张小明", Values: map[string]string{sms.PlaceholderReason: "材料不全"},
		})
		if err != nil {
			t.Fatal(err)
		}
		var text string
		if err := tx.Get(&text, `SELECT preview FROM sms_outbox WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return text
	}
	if got := preview(xuhui, entryID); got != "入口：张*明材料不全" {
		t.Errorf("entry's message = %q, want the entry template with the name masked", got)
	}
	if got := preview(xuhui, otherEntryID); got != "区级：材料不全" {
		t.Errorf("other entry's message = %q, want the district template", got)
	}
	if got := preview("310105", 0); got != "市级：材料不全" {
		t.Errorf("another district's message = %q, want the city template", got)
	}
	mustExec(`UPDATE sms_template SET enabled = false`)
	if got := preview(xuhui, entryID); !strings.HasPrefix(got, "【上海市学前教育】张*明的入园报名") {
		t.Errorf("message without enabled templates = %q, want the built-in default", got)
	}
}
