package receipts_test

import (
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
	"github.com/sh-preschool/preschool/backoffice/receipts"
	"github.com/sh-preschool/preschool/edge/submit"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

const (
	xuhui     = backofficetest.Xuhui
	drainWait = 30 * time.Second
)

// loseReceipts deletes every receipt, parent's list, claim and print
// layout, as a failover to a replica that had none of them would.
func loseReceipts(t *testing.T, env *backofficetest.Env) {
	t.Helper()
	client := env.Redis.Client
	for _, pattern := range []string{"receipt:*", "owner:*", "claim:*", "printlayout:*"} {
		var cursor uint64
		for {
			entry, err := env.Do(client.B().Scan().Cursor(cursor).Match(env.Keys.Prefix + pattern).Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Fatalf("SCAN %s: %v", pattern, err)
			}
			if len(entry.Elements) > 0 {
				if err := env.Do(client.B().Del().Key(entry.Elements...).Build()).Error(); err != nil {
					t.Fatalf("DEL: %v", err)
				}
			}
			if cursor = entry.Cursor; cursor == 0 {
				break
			}
		}
	}
}

// drainAll stores everything in the stream and stops the drainer.
func drainAll(t *testing.T, env *backofficetest.Env) {
	t.Helper()
	running := backofficetest.Start(t, env.Drainer(backofficetest.DrainConfig("drainer-1")))
	env.WaitForDrained(t, drainWait)
	running.Stop(t)
}

// parentView is what a parent reads about their receipts through the edge.
type parentView struct {
	statuses  map[string]submit.Status
	listed    []string
	facts     any
	printable any
}

func viewOf(t *testing.T, env *backofficetest.Env, subject, registration string, numbers ...string) parentView {
	t.Helper()
	ctx := context.Background()
	view := parentView{statuses: map[string]submit.Status{}}
	for _, number := range numbers {
		status, err := env.Service.ReceiptStatus(ctx, subject, number)
		if err != nil {
			t.Fatalf("status of %s: %v", number, err)
		}
		// The edge writes the time of acceptance in nanoseconds and
		// PostgreSQL keeps microseconds.
		at, err := time.Parse(time.RFC3339Nano, status.AcceptedAt)
		if err != nil {
			t.Fatalf("accepted_at of %s: %v", number, err)
		}
		status.AcceptedAt = at.Truncate(time.Microsecond).UTC().Format(time.RFC3339Nano)
		view.statuses[number] = status
	}
	list, err := env.Service.OwnerReceipts(ctx, subject)
	if err != nil {
		t.Fatalf("receipts of %s: %v", subject, err)
	}
	for _, status := range list {
		view.listed = append(view.listed, status.ReceiptNumber)
	}
	if view.facts, err = env.Service.RegistrationFacts(ctx, env.Service.OwnerIndex(subject), registration); err != nil {
		t.Fatalf("facts of %s: %v", registration, err)
	}
	if view.printable, err = env.Service.PrintableForm(ctx, subject, registration); err != nil {
		t.Fatalf("printable form of %s: %v", registration, err)
	}
	return view
}

func TestRestoreAfterRedisLostReceipts(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent, other := backofficetest.Subject(1), backofficetest.Subject(2)
	request := env.ShanghaiChild(t, 1, xuhui, xuhui)
	registration := env.Register(t, parent, request)
	application := env.Apply(t, parent, registration, xuhui)
	otherRegistration := env.Register(t, other, env.OtherProvinceChild(t, 2, xuhui))
	drainAll(t, env)
	// A generated demo record (sequence 9,000,000 and up) has no family.
	// This one is the parent's, so the parent's list would show it.
	tx := env.DB.DB.MustBegin()
	for _, statement := range []string{
		`CREATE TEMP TABLE generated AS SELECT * FROM registration WHERE registration_number = '` + registration + `'`,
		`UPDATE generated SET registration_number = left(registration_number, 4) || '90000010', child_index = '\x01'`,
		`INSERT INTO registration SELECT * FROM generated`,
	} {
		if _, err := tx.Exec(statement); err != nil {
			t.Fatalf("%s: %v", statement, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	before := viewOf(t, env, parent, registration, registration, application)
	otherBefore := viewOf(t, env, other, otherRegistration, otherRegistration)
	rawBefore := env.Receipt(t, registration)

	loseReceipts(t, env)
	if _, err := env.Service.ReceiptStatus(ctx, parent, registration); err == nil {
		t.Fatal("the receipt is still readable after Redis lost it")
	}

	restorer := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil)
	summary, err := restorer.Restore(ctx)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if want := (receipts.Summary{Checked: 3, Registrations: 2, Applications: 1}); summary != want {
		t.Errorf("summary = %+v, want %+v", summary, want)
	}
	if after := viewOf(t, env, parent, registration, registration, application); !reflect.DeepEqual(after, before) {
		t.Errorf("the parent's view after the restore differs:\n got %+v\nwant %+v", after, before)
	}
	if after := viewOf(t, env, other, otherRegistration, otherRegistration); !reflect.DeepEqual(after, otherBefore) {
		t.Errorf("the other parent's view after the restore differs:\n got %+v\nwant %+v", after, otherBefore)
	}
	rawAfter := env.Receipt(t, registration)
	for _, field := range []string{enrol.FieldKind, enrol.FieldOwner, enrol.FieldFacts, enrol.FieldPrintLayoutID} {
		if rawAfter[field] != rawBefore[field] {
			t.Errorf("receipt field %s = %q after the restore, want %q", field, rawAfter[field], rawBefore[field])
		}
	}
	layout, err := env.Do(env.Redis.Client.B().Get().Key(env.Keys.PrintLayout(rawBefore[enrol.FieldPrintLayoutID])).Build()).ToString()
	if err != nil || layout == "" {
		t.Errorf("print layout %s after the restore: %q, %v", rawBefore[enrol.FieldPrintLayoutID], layout, err)
	}

	// The claims are back: the same submissions return their receipts.
	receipt, err := env.Service.Register(ctx, parent, env.ShanghaiChild(t, 1, xuhui, xuhui))
	if err != nil || receipt.Number != registration || !receipt.Duplicate {
		t.Errorf("registering again = %+v, %v; want the first receipt %s", receipt, err, registration)
	}
	receipt, err = env.Service.Apply(ctx, parent, env.ApplicationRequest(t, parent, registration, xuhui))
	if err != nil || receipt.Number != application || !receipt.Duplicate {
		t.Errorf("applying again = %+v, %v; want the first receipt %s", receipt, err, application)
	}
	// Another family typing the same child learns no number.
	_, err = env.Service.Register(ctx, other, env.ShanghaiChild(t, 1, xuhui, xuhui))
	var apiErr *apierror.Error
	if !errors.As(err, &apiErr) || apiErr.Code != "already_registered_elsewhere" {
		t.Errorf("another family registering the child: %v; want already_registered_elsewhere", err)
	}

	summary, err = restorer.Restore(ctx)
	if err != nil || summary.Registrations != 0 || summary.Applications != 0 {
		t.Errorf("second Restore = %+v, %v; want nothing written", summary, err)
	}
}

// exec runs statements in one transaction.
func exec(t *testing.T, env *backofficetest.Env, statements ...string) {
	t.Helper()
	tx := env.DB.DB.MustBegin()
	defer tx.Rollback()
	for _, statement := range statements {
		if _, err := tx.Exec(statement); err != nil {
			t.Fatalf("%s: %v", statement, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// returnStatements returns the SQL statements with which a reviewer's
// return of application, for reason, reaches the database.
func returnStatements(application, reason string) []string {
	return []string{
		`UPDATE application SET status = 'returned' WHERE application_number = '` + application + `'`,
		`INSERT INTO application_return (application_number, district_code, reason, returned_by, returned_by_name)
		 VALUES ('` + application + `', '` + xuhui + `', '` + reason + `', 1, '审核员')`,
	}
}

// TestRestoreKeepsWhatHappenedSince checks that a receipt written back
// shows the record's status and note as staff left them, and that only a
// live application gets its claim back.
func TestRestoreKeepsWhatHappenedSince(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	var registrations, applications []string
	for i := 1; i <= 3; i++ {
		registration := env.Register(t, backofficetest.Subject(i), env.ShanghaiChild(t, i, xuhui, xuhui))
		registrations = append(registrations, registration)
		applications = append(applications, env.Apply(t, backofficetest.Subject(i), registration, xuhui))
	}
	drainAll(t, env)
	var campus string
	if err := env.DB.DB.Get(&campus, `SELECT k.name || '（' || c.name || '）' FROM application a
		JOIN campus c ON c.id = a.campus_choices[1] JOIN kindergarten k ON k.id = c.kindergarten_id
		WHERE a.application_number = $1`, applications[1]); err != nil {
		t.Fatal(err)
	}
	exec(t, env,
		`UPDATE registration SET status = 'needs_manual_verification', verification_note = '与大数据中心信息不一致：姓名'
		 WHERE registration_number = '`+registrations[0]+`'`,
		`UPDATE application SET status = 'returned' WHERE application_number = '`+applications[0]+`'`,
		`INSERT INTO application_return (application_number, district_code, reason, returned_by, returned_by_name)
		 VALUES ('`+applications[0]+`', '`+xuhui+`', '房产证明不清晰', 1, '审核员')`,
		`INSERT INTO admission_round (enrolment_year, district_code, status, rule_text, proposed_by, proposed_by_name, confirmed_at)
		 VALUES (`+strconv.Itoa(env.Year.Year)+`, '`+xuhui+`', 'confirmed', '', 1, '管理员', now())`,
		`INSERT INTO admission_proposal (application_number, enrolment_year, district_code, outcome, campus_id, choice_rank, campus_rank, reason, priority_note)
		 SELECT application_number, enrolment_year, district_code, 'admitted', campus_choices[1], 1, 1, '', ''
		 FROM application WHERE application_number = '`+applications[1]+`'`,
		`UPDATE application SET status = 'admitted', supplementary = true WHERE application_number = '`+applications[1]+`'`,
		`UPDATE application SET status = 'deleted' WHERE application_number = '`+applications[2]+`'`,
		`INSERT INTO deletion_request (record_kind, record_number, enrolment_year, district_code, reason, status, requested_by, requested_by_name, decided_at)
		 VALUES ('application', '`+applications[2]+`', `+strconv.Itoa(env.Year.Year)+`, '`+xuhui+`', '重复报名', 'approved', 1, '管理员', now())`,
	)

	loseReceipts(t, env)
	summary, err := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil).Restore(ctx)
	if err != nil || summary.Registrations != 3 || summary.Applications != 3 {
		t.Fatalf("Restore = %+v, %v; want 3 registrations and 3 applications", summary, err)
	}
	for _, want := range []struct {
		subject int
		number  string
		status  string
		note    string
	}{
		{1, registrations[0], enrol.StatusNeedsManualVerification, "与大数据中心信息不一致：姓名"},
		{1, applications[0], enrol.StatusReturned, enrol.ReturnNote("房产证明不清晰")},
		{2, applications[1], enrol.StatusAdmitted, enrol.AdmissionNote(enrol.StatusAdmitted, campus, "")},
		{3, applications[2], enrol.StatusDeleted, enrol.DeletionNote("重复报名")},
		{3, registrations[2], enrol.StatusRecorded, ""},
	} {
		status, err := env.Service.ReceiptStatus(ctx, backofficetest.Subject(want.subject), want.number)
		if err != nil {
			t.Fatalf("status of %s: %v", want.number, err)
		}
		if status.Status != want.status || status.Note != want.note {
			t.Errorf("%s reads %s %q, want %s %q", want.number, status.Status, status.Note, want.status, want.note)
		}
	}

	if fields := env.Receipt(t, applications[1]); fields[enrol.FieldSupplementary] != "1" {
		t.Errorf("the supplementary application's receipt has %s = %q, want 1", enrol.FieldSupplementary, fields[enrol.FieldSupplementary])
	}

	// Only the admitted application is live: the returned one's and the
	// deleted one's children may apply again.
	for i, live := range []bool{false, true, false} {
		claim := env.Keys.ApplicationClaim(env.Year.Year, env.RegistrationOf(t, registrations[i]).ChildIndex)
		exists, err := env.Do(env.Redis.Client.B().Exists().Key(claim).Build()).AsInt64()
		if err != nil || (exists == 1) != live {
			t.Errorf("claim of %s exists = %d, %v; want %v", applications[i], exists, err, live)
		}
	}
}

// TestDrainerWritesBackLostReceipts checks that a drainer that finds the
// number counters behind the database has the lost receipts written back.
func TestDrainerWritesBackLostReceipts(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent := backofficetest.Subject(1)
	registration := env.Register(t, parent, env.ShanghaiChild(t, 1, xuhui, xuhui))
	drainAll(t, env)
	loseReceipts(t, env)
	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.RegistrationSequence(env.Year.Year)).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	restorer := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil)
	go restorer.Run(runCtx)
	drainer := env.Drainer(backofficetest.DrainConfig("drainer-1"))
	drainer.OnLostWrites = restorer.Trigger
	backofficetest.Start(t, drainer)

	backofficetest.WaitFor(t, drainWait, "the receipt written back", func() (bool, error) {
		status, err := env.Service.ReceiptStatus(ctx, parent, registration)
		return err == nil && status.Status == enrol.StatusRecorded, nil
	})
}

// handOutTwice stores a registration of child 1 by parent first, makes
// Redis lose the receipts and the counter, and has parent second register
// child 2, which draws the stored number again. It returns that number.
func handOutTwice(t *testing.T, env *backofficetest.Env, first, second string) string {
	t.Helper()
	registration := env.Register(t, first, env.ShanghaiChild(t, 1, xuhui, xuhui))
	drainAll(t, env)
	loseReceipts(t, env)
	if err := env.Do(env.Redis.Client.B().Del().Key(env.Keys.RegistrationSequence(env.Year.Year)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if again := env.Register(t, second, env.ShanghaiChild(t, 2, xuhui, xuhui)); again != registration {
		t.Fatalf("with the counter lost, the edge handed out %s, want the stored %s again", again, registration)
	}
	return registration
}

// startRestoringDrainer starts a drainer that restores receipts inside its
// OnLostWrites call, so a call made before the drainer marks a number
// handed out twice would miss that receipt.
func startRestoringDrainer(t *testing.T, env *backofficetest.Env) {
	t.Helper()
	restorer := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil)
	config := backofficetest.DrainConfig("drainer-1")
	config.SequenceCheck = time.Hour
	drainer := env.Drainer(config)
	drainer.OnLostWrites = func() {
		if _, err := restorer.Restore(context.Background()); err != nil {
			t.Errorf("Restore: %v", err)
		}
	}
	backofficetest.Start(t, drainer)
}

// TestRestoreAfterNumberHandedOutAgain covers a Redis that lost a stored
// registration's receipt together with the counter, so that the edge
// handed its number to another family. The stored record's family gets
// the receipt back, and the other family keeps reading its rejected
// receipt and gets a new number when it submits again.
func TestRestoreAfterNumberHandedOutAgain(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	first, second := backofficetest.Subject(1), backofficetest.Subject(2)
	registration := handOutTwice(t, env, first, second)
	startRestoringDrainer(t, env)

	backofficetest.WaitFor(t, drainWait, "the first family's receipt written back", func() (bool, error) {
		status, err := env.Service.ReceiptStatus(ctx, first, registration)
		return err == nil && status.Status == enrol.StatusRecorded, nil
	})
	// The second family still reads its rejected receipt, whose note
	// requests a new submission.
	status, err := env.Service.ReceiptStatus(ctx, second, registration)
	if err != nil || status.Status != enrol.StatusFailed || status.StatusLabel != enrol.NumberTakenLabel || status.Note == "" {
		t.Errorf("the second family reads %+v, %v; want its rejected receipt", status, err)
	}
	list, err := env.Service.OwnerReceipts(ctx, second)
	if err != nil || len(list) != 1 || list[0].Status != enrol.StatusFailed || list[0].ReceiptNumber != registration {
		t.Errorf("the second family lists %+v, %v; want its rejected receipt", list, err)
	}
	if fields := env.Receipt(t, registration); fields[enrol.FieldOwner] != hex.EncodeToString(env.Service.OwnerIndex(first)) {
		t.Errorf("the receipt of %s belongs to %s, want the first family", registration, fields[enrol.FieldOwner])
	}
	if again := env.Register(t, second, env.ShanghaiChild(t, 2, xuhui, xuhui)); again == registration {
		t.Errorf("the second family's new registration got the taken number %s again", again)
	}
}

// ttl reads the time to live of a key.
func ttl(t *testing.T, env *backofficetest.Env, key string) time.Duration {
	t.Helper()
	seconds, err := env.Do(env.Redis.Client.B().Ttl().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatalf("TTL %s: %v", key, err)
	}
	return time.Duration(seconds) * time.Second
}

// TestRestoreSkipsExpiredReceipts checks that a receipt written back
// expires when the edge's would have, and that one already expired stays
// gone.
func TestRestoreSkipsExpiredReceipts(t *testing.T) {
	env := backofficetest.New(t)
	expired := env.Register(t, backofficetest.Subject(1), env.ShanghaiChild(t, 1, xuhui, xuhui))
	older := env.Register(t, backofficetest.Subject(2), env.ShanghaiChild(t, 2, xuhui, xuhui))
	drainAll(t, env)
	exec(t, env,
		`UPDATE registration SET accepted_at = now() - interval '25 hours' WHERE registration_number = '`+expired+`'`,
		`UPDATE registration SET accepted_at = now() - interval '23 hours' WHERE registration_number = '`+older+`'`)
	loseReceipts(t, env)

	summary, err := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil).Restore(context.Background())
	if err != nil || summary.Registrations != 1 {
		t.Fatalf("Restore = %+v, %v; want 1 registration written back", summary, err)
	}
	if fields := env.Receipt(t, expired); len(fields) != 0 {
		t.Errorf("the receipt of %s, accepted 25 hours ago, came back with a 24-hour lifetime", expired)
	}
	child := env.RegistrationOf(t, older).ChildIndex
	for _, key := range []string{env.Keys.Receipt(older), env.Keys.RegistrationClaim(env.Year.Year, child)} {
		if left := ttl(t, env, key); left < 55*time.Minute || left > time.Hour {
			t.Errorf("%s expires in %s, want about an hour: the rest of the day since its acceptance", key, left)
		}
	}
}

// TestRestoreRewritesChangedRecords changes records between the restore's
// read and its write, as the verifier or a reviewer may, whose own writes
// to Redis skip a receipt that is not there yet.
func TestRestoreRewritesChangedRecords(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	applicant, verified, deleted := backofficetest.Subject(1), backofficetest.Subject(2), backofficetest.Subject(3)
	registration := env.Register(t, applicant, env.ShanghaiChild(t, 1, xuhui, xuhui))
	application := env.Apply(t, applicant, registration, xuhui)
	verifiedRegistration := env.Register(t, verified, env.ShanghaiChild(t, 2, xuhui, xuhui))
	deletedRegistration := env.Register(t, deleted, env.ShanghaiChild(t, 3, xuhui, xuhui))
	drainAll(t, env)
	loseReceipts(t, env)

	restorer := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil)
	pages := 0
	restorer.SetBeforeWrite(func() {
		pages++
		switch pages {
		case 1: // the registrations
			exec(t, env,
				`UPDATE registration SET status = 'verified' WHERE registration_number = '`+verifiedRegistration+`'`,
				`DELETE FROM registration WHERE registration_number = '`+deletedRegistration+`'`)
		case 2: // the application
			exec(t, env, returnStatements(application, "材料不全")...)
		}
	})
	summary, err := restorer.Restore(ctx)
	if err != nil || summary.Registrations != 3 || summary.Applications != 1 {
		t.Fatalf("Restore = %+v, %v; want 3 registrations and 1 application written", summary, err)
	}

	status, err := env.Service.ReceiptStatus(ctx, verified, verifiedRegistration)
	if err != nil || status.Status != enrol.StatusVerified {
		t.Errorf("%s reads %+v, %v; want verified", verifiedRegistration, status, err)
	}
	status, err = env.Service.ReceiptStatus(ctx, applicant, application)
	if err != nil || status.Status != enrol.StatusReturned || status.Note != enrol.ReturnNote("材料不全") {
		t.Errorf("%s reads %+v, %v; want returned with the reason", application, status, err)
	}
	applicationClaim := env.Keys.ApplicationClaim(env.Year.Year, env.RegistrationOf(t, registration).ChildIndex)
	deletedClaim := env.Keys.RegistrationClaim(env.Year.Year, env.RegistrationOf(t, deletedRegistration).ChildIndex)
	for _, key := range []string{applicationClaim, deletedClaim, env.Keys.Receipt(deletedRegistration)} {
		if exists, err := env.Do(env.Redis.Client.B().Exists().Key(key).Build()).AsInt64(); err != nil || exists != 0 {
			t.Errorf("%s exists = %d, %v; want it gone", key, exists, err)
		}
	}
	list, err := env.Service.OwnerReceipts(ctx, deleted)
	if err != nil || len(list) != 0 {
		t.Errorf("the deleted registration's family lists %+v, %v; want nothing", list, err)
	}
}

// TestRestoreKeepsSameFamilysRejectedReceipt covers the number handed out
// twice to one family, for two of its children: the family lists the
// stored registration and the rejected one.
func TestRestoreKeepsSameFamilysRejectedReceipt(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent := backofficetest.Subject(1)
	registration := handOutTwice(t, env, parent, parent)
	startRestoringDrainer(t, env)
	backofficetest.WaitFor(t, drainWait, "both receipts listed", func() (bool, error) {
		list, err := env.Service.OwnerReceipts(ctx, parent)
		return err == nil && len(list) == 2, nil
	})
	list, _ := env.Service.OwnerReceipts(ctx, parent)
	statuses := map[string]bool{}
	for _, status := range list {
		if status.ReceiptNumber != registration {
			t.Errorf("listed %s, want only %s", status.ReceiptNumber, registration)
		}
		statuses[status.Status] = true
	}
	if !statuses[enrol.StatusRecorded] || !statuses[enrol.StatusFailed] {
		t.Errorf("listed statuses %v, want the stored registration and the rejected one", statuses)
	}
}

// TestRestoreUpdatesStatusesBehind covers status writes Redis lost while
// the receipts stayed: the verifier's and a return's, whose lost claim
// release would keep the family from applying again.
func TestRestoreUpdatesStatusesBehind(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent := backofficetest.Subject(1)
	registration := env.Register(t, parent, env.ShanghaiChild(t, 1, xuhui, xuhui))
	application := env.Apply(t, parent, registration, xuhui)
	drainAll(t, env)
	exec(t, env, append(returnStatements(application, "材料不全"),
		`UPDATE registration SET status = 'verified' WHERE registration_number = '`+registration+`'`)...)

	summary, err := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil).Restore(ctx)
	if err != nil || summary.Updated != 2 || summary.Registrations != 0 || summary.Applications != 0 {
		t.Fatalf("Restore = %+v, %v; want 2 receipts updated and none written back", summary, err)
	}
	status, err := env.Service.ReceiptStatus(ctx, parent, registration)
	if err != nil || status.Status != enrol.StatusVerified {
		t.Errorf("%s reads %+v, %v; want verified", registration, status, err)
	}
	status, err = env.Service.ReceiptStatus(ctx, parent, application)
	if err != nil || status.Status != enrol.StatusReturned || status.Note != enrol.ReturnNote("材料不全") {
		t.Errorf("%s reads %+v, %v; want returned with the reason", application, status, err)
	}
	claim := env.Keys.ApplicationClaim(env.Year.Year, env.RegistrationOf(t, registration).ChildIndex)
	if exists, err := env.Do(env.Redis.Client.B().Exists().Key(claim).Build()).AsInt64(); err != nil || exists != 0 {
		t.Errorf("the returned application's claim exists = %d, %v; want it released", exists, err)
	}
	if summary, err = receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil).Restore(ctx); err != nil || summary.Updated != 0 {
		t.Errorf("second Restore = %+v, %v; want nothing updated", summary, err)
	}
}

// TestRestoreUpdateKeepsNewerStatus covers a record that changes again
// between the restore's read and its write: the back office's own write
// of the newer status reached the receipt first, and the restore must
// not put the older one back.
func TestRestoreUpdateKeepsNewerStatus(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent := backofficetest.Subject(1)
	registration := env.Register(t, parent, env.ShanghaiChild(t, 1, xuhui, xuhui))
	application := env.Apply(t, parent, registration, xuhui)
	drainAll(t, env)
	exec(t, env, `UPDATE application SET status = 'documents_verified' WHERE application_number = '`+application+`'`)

	restorer := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil)
	restorer.SetBeforeWrite(func() {
		// A reviewer returns the application: the database first, then
		// the receipt.
		exec(t, env, returnStatements(application, "材料不全")...)
		err := env.Do(env.Redis.Client.B().Hset().Key(env.Keys.Receipt(application)).FieldValue().
			FieldValue(enrol.FieldStatus, enrol.StatusReturned).FieldValue(enrol.FieldNote, enrol.ReturnNote("材料不全")).Build()).Error()
		if err != nil {
			t.Errorf("write the return to the receipt: %v", err)
		}
	})
	summary, err := restorer.Restore(ctx)
	if err != nil || summary.Updated != 0 {
		t.Errorf("Restore = %+v, %v; want nothing updated", summary, err)
	}
	status, err := env.Service.ReceiptStatus(ctx, parent, application)
	if err != nil || status.Status != enrol.StatusReturned || status.Note != enrol.ReturnNote("材料不全") {
		t.Errorf("%s reads %+v, %v; want returned with the reason", application, status, err)
	}
}

// TestRestoreWritesBackLostClaims covers claims lost while the receipts
// stayed. Another family then registers the stored child again, and the
// claim names its number, which the drainer rejects. The restore writes
// both claims back, so the first family's repeated submission gets its
// own receipt again.
func TestRestoreWritesBackLostClaims(t *testing.T) {
	env := backofficetest.New(t)
	ctx := context.Background()
	parent, other := backofficetest.Subject(1), backofficetest.Subject(2)
	request := env.ShanghaiChild(t, 1, xuhui, xuhui)
	registration := env.Register(t, parent, request)
	application := env.Apply(t, parent, registration, xuhui)
	drainAll(t, env)
	record := env.RegistrationOf(t, registration)
	registrationClaim := env.Keys.RegistrationClaim(record.Year, record.ChildIndex)
	applicationClaim := env.Keys.ApplicationClaim(record.Year, record.ChildIndex)
	if err := env.Do(env.Redis.Client.B().Del().Key(registrationClaim, applicationClaim).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	again := env.Register(t, other, env.ShanghaiChild(t, 1, xuhui, xuhui))
	drainAll(t, env)
	if status, err := env.Service.ReceiptStatus(ctx, other, again); err != nil || status.Status != enrol.StatusRejectedDuplicate {
		t.Fatalf("the other family's %s reads %+v, %v; want rejected as a duplicate", again, status, err)
	}

	summary, err := receipts.New(env.DB.DB, env.Redis.Client, env.Keys, 24*time.Hour, nil).Restore(ctx)
	if err != nil || summary.Updated != 2 {
		t.Errorf("Restore = %+v, %v; want the two receipts' claims written", summary, err)
	}
	for key, number := range map[string]string{registrationClaim: registration, applicationClaim: application} {
		claim, err := env.Do(env.Redis.Client.B().Get().Key(key).Build()).ToString()
		if err != nil || !strings.HasPrefix(claim, number+"|") {
			t.Errorf("claim %s = %q, %v; want it to name %s", key, claim, err, number)
		}
	}
	receipt, err := env.Service.Register(ctx, parent, request)
	if err != nil || receipt.Number != registration || !receipt.Duplicate {
		t.Errorf("the family's repeated registration = %+v, %v; want its receipt %s again", receipt, err, registration)
	}
}

// TestDrainerWritesBackLostClaims covers the drainer's trigger for lost
// claims: a batch that meets a stored child writes its claim back.
func TestDrainerWritesBackLostClaims(t *testing.T) {
	env := backofficetest.New(t)
	parent, other := backofficetest.Subject(1), backofficetest.Subject(2)
	registration := env.Register(t, parent, env.ShanghaiChild(t, 1, xuhui, xuhui))
	startRestoringDrainer(t, env)
	backofficetest.WaitFor(t, drainWait, "the registration stored", func() (bool, error) {
		status, err := env.Service.ReceiptStatus(context.Background(), parent, registration)
		return err == nil && status.Status == enrol.StatusRecorded, nil
	})
	record := env.RegistrationOf(t, registration)
	claim := env.Keys.RegistrationClaim(record.Year, record.ChildIndex)
	if err := env.Do(env.Redis.Client.B().Del().Key(claim).Build()).Error(); err != nil {
		t.Fatal(err)
	}

	env.Register(t, other, env.ShanghaiChild(t, 1, xuhui, xuhui))
	backofficetest.WaitFor(t, drainWait, "the claim written back", func() (bool, error) {
		value, err := env.Do(env.Redis.Client.B().Get().Key(claim).Build()).ToString()
		return err == nil && strings.HasPrefix(value, registration+"|"), nil
	})
}
