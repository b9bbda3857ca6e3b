package review

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

var errNotReturnable = apierror.New(http.StatusConflict, "application_not_returnable",
	"只有已入库或验证通过的报名可以退回；已录取、未录取或已删除的报名不能退回。")

// returnRequest is the body of POST /api/v1/applications/{number}/return.
type returnRequest struct {
	Reason    string     `json:"reason"`
	SMSSendAt *time.Time `json:"smsSendAt"`
}

// ReturnResult is the response to a return.
type ReturnResult struct {
	ApplicationNumber string    `json:"applicationNumber"`
	Status            string    `json:"status"`
	Reason            string    `json:"reason"`
	ReturnedAt        time.Time `json:"returnedAt"`
	// SMSID is the outbox row of the message to the family; 0 when the
	// family left no phone number or the return was made before.
	SMSID int64 `json:"smsId"`
	// ParentStatusSynced is false when Redis could not be updated. The
	// parent's status page then shows the old status, and the family cannot
	// apply again until the return is repeated.
	ParentStatusSynced bool `json:"parentStatusSynced"`
}

// lockedApplication is an application with what a return or deletion needs
// from its registration.
type lockedApplication struct {
	Number             string `db:"application_number"`
	RegistrationNumber string `db:"registration_number"`
	Year               int    `db:"enrolment_year"`
	ChildIndex         []byte `db:"child_index"`
	DistrictCode       string `db:"district_code"`
	EntryID            int64  `db:"entry_id"`
	Status             string `db:"status"`
	ChildName          []byte `db:"child_name"`
	Guardians          []byte `db:"guardians"`
	InScope            bool   `db:"in_scope"`
}

// lockApplication locks an application row and reports whether it is in
// the scope. It returns errNotFound when there is none.
func lockApplication(ctx context.Context, tx *sqlx.Tx, scope access.Scope, number string) (lockedApplication, error) {
	condition := scope.Filter(enrolment.ApplicationColumns, 2)
	q := `
		SELECT a.application_number, a.registration_number, a.enrolment_year, a.child_index, a.district_code,
		       a.entry_id, a.status, r.child_name, r.guardians, (` + condition.SQL + `) AS in_scope
		FROM application a
		JOIN registration r ON r.registration_number = a.registration_number
		WHERE a.application_number = $1
		FOR UPDATE OF a`
	var row lockedApplication
	err := tx.GetContext(ctx, &row, q, append([]any{number}, condition.Args...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return row, errNotFound
	}
	return row, err
}

// returnApplication handles POST /api/v1/applications/{number}/return. A
// repeated return of a returned application changes nothing in the
// database and syncs the parent's status again.
func (h *Handlers) returnApplication(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	number := chi.URLParam(r, "number")
	if err := enrol.CheckNumber("number", "invalid_application_number", number, enrol.KindApplication); err != nil {
		return err
	}
	var request returnRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	reason, err := checkReason("reason", request.Reason)
	if err != nil {
		return err
	}
	sendAt, err := h.checkSendAt(request.SMSSendAt)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	application, err := lockApplication(ctx, tx, staff.Scope, number)
	if err != nil {
		return err
	}
	if !application.InScope {
		return access.ErrOutOfScope
	}
	result := ReturnResult{ApplicationNumber: number, Status: enrol.StatusReturned}
	switch application.Status {
	case enrol.StatusReturned:
		err := tx.QueryRowxContext(ctx, `SELECT reason, returned_at FROM application_return WHERE application_number = $1`, number).
			Scan(&result.Reason, &result.ReturnedAt)
		if err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		result.ParentStatusSynced = h.syncReturn(ctx, application, result.Reason) == nil
		httpx.WriteJSON(w, http.StatusOK, result)
		return nil
	case enrol.StatusRecorded, enrol.StatusDocumentsVerified:
	default:
		return errNotReturnable
	}
	var windowOpen bool
	if err := tx.GetContext(ctx, &windowOpen, `
		SELECT COALESCE(e.opens_at, y.application_opens_at) <= now() AND now() < COALESCE(e.closes_at, y.application_closes_at)
		FROM entry e JOIN enrolment_year y ON y.year = e.enrolment_year
		WHERE e.id = $1`, application.EntryID); err != nil {
		return err
	}
	if !windowOpen {
		slog.Info("return rejected: the entry's application window is closed", "application", number, "entry", application.EntryID)
		return errWindowClosed
	}

	// A return clears the reviewer's certificate checks: the family's next
	// application is checked afresh.
	if err := bumpReview(ctx, tx, number, enrol.StatusReturned); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM application_certificate_check WHERE application_number = $1`, number); err != nil {
		return err
	}
	const insert = `
		INSERT INTO application_return (application_number, district_code, reason, returned_by, returned_by_name)
		VALUES ($1, $2, $3, $4, $5) RETURNING returned_at`
	if err := tx.GetContext(ctx, &result.ReturnedAt, insert, number, application.DistrictCode, reason, staff.ID, staff.Name); err != nil {
		return err
	}
	result.Reason = reason
	if result.SMSID, err = h.queueSMS(ctx, tx, sms.EventApplicationReturned, application, reason, sendAt); err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionReturn, Resource: "application", ResourceID: number, DistrictCode: application.DistrictCode,
		Before: map[string]string{"status": application.Status},
		After:  map[string]any{"status": enrol.StatusReturned, "reason": reason, "smsId": result.SMSID},
		Detail: "退回报名：" + reason,
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}

	result.ParentStatusSynced = h.syncReturn(ctx, application, reason) == nil
	httpx.WriteJSON(w, http.StatusOK, result)
	return nil
}

func (h *Handlers) syncReturn(ctx context.Context, application lockedApplication, reason string) error {
	return syncParent(ctx, h.Redis, h.Keys, []parentUpdate{{
		Number: application.Number, Claim: h.Keys.ApplicationClaim(application.Year, application.ChildIndex),
		Status: enrol.StatusReturned, Note: enrol.ReturnNote(reason),
	}})
}

// queueSMS queues the family's message about an application inside tx. A
// family without a phone number gets none, which is logged.
func (h *Handlers) queueSMS(ctx context.Context, tx *sqlx.Tx, event string, application lockedApplication, reason string, sendAt time.Time) (int64, error) {
	return h.queueFamilySMS(ctx, tx, familyMessage{
		Event: event, DistrictCode: application.DistrictCode, EntryID: application.EntryID,
		RecordNumber: application.Number, RegistrationNumber: application.RegistrationNumber,
		ApplicationNumber: application.Number, ChildName: application.ChildName, Guardians: application.Guardians,
		Reason: reason, SendAt: sendAt,
	})
}

// familyMessage is an SMS about one record, with the sealed registration
// fields it is filled from.
type familyMessage struct {
	Event              string
	DistrictCode       string
	EntryID            int64
	RecordNumber       string
	RegistrationNumber string
	ApplicationNumber  string
	ChildName          []byte
	Guardians          []byte
	Reason             string
	SendAt             time.Time
}

func (h *Handlers) queueFamilySMS(ctx context.Context, tx *sqlx.Tx, message familyMessage) (int64, error) {
	childName, err := h.Keyring.Open(message.ChildName, enrol.ContextChildName)
	if err != nil {
		return 0, err
	}
	phone, err := sms.GuardianPhone(h.Keyring, message.Guardians, enrol.ContextGuardians)
	if err != nil {
		return 0, err
	}
	id, err := sms.Enqueue(ctx, tx, h.Keyring, sms.Message{
		Event: message.Event, DistrictCode: message.DistrictCode, EntryID: message.EntryID,
		RecordNumber: message.RecordNumber, Phone: phone, ChildName: string(childName), SendAt: message.SendAt,
		Values: map[string]string{
			sms.PlaceholderRegistrationNumber: message.RegistrationNumber,
			sms.PlaceholderApplicationNumber:  message.ApplicationNumber,
			sms.PlaceholderReason:             message.Reason,
			sms.PlaceholderDistrict:           h.districtName(message.DistrictCode),
			sms.PlaceholderDeletedRecord:      deletedRecordText(message),
		},
	})
	if errors.Is(err, sms.ErrNoPhone) {
		slog.Warn("no SMS queued: the family left no phone number", "record", message.RecordNumber, "event", message.Event)
		return 0, nil
	}
	return id, err
}

// deletedRecordText is the {删除内容} of a deletion's SMS: the
// registration with its applications when no application number is given,
// otherwise the one application.
func deletedRecordText(message familyMessage) string {
	if message.ApplicationNumber == "" {
		return "入园登记信息（登记编号 " + message.RegistrationNumber + "）及其报名"
	}
	return "入园报名（报名编号 " + message.ApplicationNumber + "）"
}

// errWindowClosed rejects a return after the entry's application window
// closed, because the family could not apply again as the return's SMS
// asks them to.
var errWindowClosed = apierror.New(http.StatusConflict, "application_window_closed",
	"该报名入口的报名时间已截止，退回后家长无法重新报名，因此不能退回。如该报名不应保留，请申请删除。")

// ReturnItem is one returned application in the list.
type ReturnItem struct {
	ApplicationNumber string    `db:"application_number" json:"applicationNumber"`
	DistrictCode      string    `db:"district_code" json:"districtCode"`
	DistrictName      string    `db:"-" json:"districtName"`
	Reason            string    `db:"reason" json:"reason"`
	ReturnedBy        string    `db:"returned_by_name" json:"returnedBy"`
	ReturnedAt        time.Time `db:"returned_at" json:"returnedAt"`
}

// listReturns handles GET /api/v1/application-returns?page=&size=, newest
// first, within the staff member's scope.
func (h *Handlers) listReturns(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	condition := staff.Scope.Filter(access.Columns{Districts: []string{"x.district_code"}}, 1)
	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM application_return x WHERE `+condition.SQL, condition.Args...); err != nil {
		return err
	}
	args := append(append([]any{}, condition.Args...), page.Size, page.Offset())
	items := []ReturnItem{}
	err = h.DB.SelectContext(ctx, &items, `
		SELECT x.application_number, x.district_code, x.reason, x.returned_by_name, x.returned_at
		FROM application_return x
		WHERE `+condition.SQL+`
		ORDER BY x.returned_at DESC, x.application_number
		LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].DistrictName = h.districtName(items[i].DistrictCode)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "page": page.Number, "size": page.Size, "items": items})
	return nil
}
