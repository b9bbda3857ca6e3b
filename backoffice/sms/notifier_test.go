package sms_test

import (
	"context"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/sms"
)

func TestNotifierQueuesOncePerApplication(t *testing.T) {
	env := backofficetest.New(t)
	backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("notifier-test")))
	var applications []string
	for i := range 3 {
		subject := backofficetest.Subject(i)
		registration := env.Register(t, subject, env.ShanghaiChild(t, i, xuhui, xuhui))
		env.WaitForRows(t, time.Minute, 1, `SELECT count(*) FROM registration WHERE registration_number = $1`, registration)
		applications = append(applications, env.Apply(t, subject, registration, xuhui))
	}
	env.WaitForRows(t, time.Minute, 3, `SELECT count(*) FROM application`)
	if _, err := env.DB.DB.Exec(`UPDATE application SET status = 'returned' WHERE application_number = $1`, applications[2]); err != nil {
		t.Fatal(err)
	}

	notifier := &sms.Notifier{
		DB: env.DB.DB, Keyring: env.Keyring, DistrictName: func(string) (string, bool) { return "徐汇区", true },
		Interval: time.Second, BatchSize: 10, Since: time.Now().Add(-time.Hour),
	}
	for round := range 2 {
		if _, err := notifier.QueueNew(context.Background()); err != nil {
			t.Fatalf("round %d: QueueNew: %v", round, err)
		}
	}
	for i, number := range applications {
		want := 1
		if i == 2 {
			want = 0 // returned before the notifier saw it
		}
		if n := env.Count(t, `SELECT count(*) FROM sms_outbox WHERE event = 'application_succeeded' AND record_number = $1`, number); n != want {
			t.Errorf("messages for application %s = %d, want %d", number, n, want)
		}
	}

	var body []byte
	if err := env.DB.DB.Get(&body, `SELECT body FROM sms_outbox WHERE record_number = $1`, applications[0]); err != nil {
		t.Fatal(err)
	}
	text := env.Open(t, body, sms.ContextBody)
	if want := "【上海市学前教育】" + backofficetest.ChildName(0) + "的入园报名已提交成功，报名编号 " + applications[0] + "。请留意徐汇区后续通知。"; text != want {
		t.Errorf("message = %q, want %q", text, want)
	}

	// A second notifier, as in another back office, queues no duplicates.
	other := *notifier
	other.Since = time.Now().Add(-time.Hour)
	if _, err := other.QueueNew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := env.Count(t, `SELECT count(*) FROM sms_outbox`); n != 2 {
		t.Errorf("outbox rows after a second notifier = %d, want 2", n)
	}
}
