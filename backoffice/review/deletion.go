package review

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/enrolment"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/backoffice/sms"
	"github.com/sh-preschool/preschool/shared/apierror"
	enrol "github.com/sh-preschool/preschool/shared/enrolment"
)

// Deletion request statuses.
const (
	DeletionPending  = "pending"
	DeletionApproved = "approved"
	DeletionRejected = "rejected"
)

var (
	errConfirmation = apierror.Invalid("confirmation", "deletion_not_confirmed", "请在确认框中输入“确认删除”四个字。")
	errDistrictOnly = apierror.New(http.StatusForbidden, "deletion_request_district_only",
		"删除申请由区级管理员提出，再由市级管理员审核。")
	errCityOnly   = apierror.New(http.StatusForbidden, "deletion_decision_city_only", "只有市级管理员可以审核删除申请。")
	errOwnRequest = apierror.New(http.StatusForbidden, "deletion_own_request",
		"不能审核自己提出的删除申请，请由另一位市级管理员审核。")
	errAlreadyRequested = apierror.New(http.StatusConflict, "deletion_already_requested",
		"该记录已有待审核的删除申请，请等待市级管理员审核。")
	errAlreadyDeleted   = apierror.New(http.StatusConflict, "record_already_deleted", "该报名已删除。")
	errRequestNotFound  = apierror.New(http.StatusNotFound, "deletion_request_not_found", "未找到该删除申请。")
	errRequestDecided   = apierror.New(http.StatusConflict, "deletion_request_decided", "该删除申请已审核，不能重复审核。")
	errRecordGone       = apierror.New(http.StatusConflict, "record_gone", "要删除的记录已不存在，请驳回该申请。")
	errRecordReferenced = apierror.New(http.StatusConflict, "record_referenced",
		"该登记还被其他业务数据引用（如录取结果），暂不能删除。请先处理相关数据，或驳回该申请。")
)

// deletionRequestBody is the body of POST /api/v1/deletion-requests.
type deletionRequestBody struct {
	RecordKind   string `json:"recordKind"`
	RecordNumber string `json:"recordNumber"`
	Reason       string `json:"reason"`
	// Confirmation must be exactly DeleteConfirmation.
	Confirmation string `json:"confirmation"`
}

// DeletionRequest is a stored deletion request.
type DeletionRequest struct {
	ID              int64      `db:"id" json:"id"`
	RecordKind      string     `db:"record_kind" json:"recordKind"`
	RecordNumber    string     `db:"record_number" json:"recordNumber"`
	Year            int        `db:"enrolment_year" json:"year"`
	DistrictCode    string     `db:"district_code" json:"districtCode"`
	DistrictName    string     `db:"-" json:"districtName"`
	Reason          string     `db:"reason" json:"reason"`
	Status          string     `db:"status" json:"status"`
	RequestedBy     int64      `db:"requested_by" json:"-"`
	RequestedByName string     `db:"requested_by_name" json:"requestedBy"`
	RequestedAt     time.Time  `db:"requested_at" json:"requestedAt"`
	DecidedByName   *string    `db:"decided_by_name" json:"decidedBy"`
	DecidedAt       *time.Time `db:"decided_at" json:"decidedAt"`
	DecisionReason  *string    `db:"decision_reason" json:"decisionReason"`
	// Admitted is true when the record, or for a registration one of its
	// applications, is admitted (已录取): deleting it frees a seat that the
	// confirmed round does not fill again, so the pages warn the approver.
	Admitted bool `db:"admitted" json:"admitted"`
	// SMSID is set in the response to an approval: the outbox row of the
	// family's message, 0 when none was queued.
	SMSID int64 `db:"-" json:"smsId,omitempty"`
	// ParentStatusSynced is set in the response to an approval.
	ParentStatusSynced *bool `db:"-" json:"parentStatusSynced,omitempty"`
}

const deletionSelect = `
	SELECT d.id, d.record_kind, d.record_number, d.enrolment_year, d.district_code, d.reason, d.status,
	       d.requested_by, d.requested_by_name, d.requested_at, d.decided_by_name, d.decided_at, d.decision_reason,
	       EXISTS (SELECT 1 FROM application a
	               WHERE a.status = 'admitted'
	                 AND (a.application_number = d.record_number OR a.registration_number = d.record_number)) AS admitted
	FROM deletion_request d`

var deletionColumns = access.Columns{Districts: []string{"d.district_code"}}

// requestDeletion handles POST /api/v1/deletion-requests: a district admin
// requests the deletion of a registration or an application in the district.
func (h *Handlers) requestDeletion(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var body deletionRequestBody
	if err := httpx.DecodeJSON(r, maxBodyBytes, &body); err != nil {
		return err
	}
	if staff.Scope.Level != access.LevelDistrict {
		return errDistrictOnly
	}
	number := strings.TrimSpace(body.RecordNumber)
	if body.RecordKind != enrol.KindRegistration && body.RecordKind != enrol.KindApplication {
		return apierror.Invalid("recordKind", "invalid_record_kind", "删除对象应为登记（registration）或报名（application）。")
	}
	if err := enrol.CheckNumber("recordNumber", "invalid_record_number", number, body.RecordKind); err != nil {
		return err
	}
	reason, err := checkReason("reason", body.Reason)
	if err != nil {
		return err
	}
	// The typed text is compared exactly, without trimming, so a slip of
	// the keyboard does not count as a confirmation.
	if body.Confirmation != DeleteConfirmation {
		return errConfirmation
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	year, inScope, status, err := findRecord(ctx, tx, staff.Scope, body.RecordKind, number)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}
	if status == enrol.StatusDeleted {
		return errAlreadyDeleted
	}

	request := DeletionRequest{
		RecordKind: body.RecordKind, RecordNumber: number, Year: year, DistrictCode: staff.Scope.DistrictCode,
		Reason: reason, Status: DeletionPending, RequestedBy: staff.ID, RequestedByName: staff.Name,
	}
	const insert = `
		INSERT INTO deletion_request (record_kind, record_number, enrolment_year, district_code, reason, requested_by, requested_by_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING id, requested_at`
	err = tx.QueryRowxContext(ctx, insert, request.RecordKind, number, year, request.DistrictCode, reason, staff.ID, staff.Name).
		Scan(&request.ID, &request.RequestedAt)
	if isUniqueViolation(err) {
		return errAlreadyRequested
	}
	if err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionDeletionRequest, Resource: body.RecordKind, ResourceID: number, DistrictCode: request.DistrictCode,
		Before: map[string]string{"status": status},
		After:  map[string]any{"deletionRequestId": request.ID, "deletionStatus": DeletionPending, "reason": reason},
		Detail: "申请删除（已输入“确认删除”）：" + reason,
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	request.DistrictName = h.districtName(request.DistrictCode)
	httpx.WriteJSON(w, http.StatusCreated, request)
	return nil
}

// findRecord returns a record's year, whether it is in scope, and its
// status, or errNotFound.
func findRecord(ctx context.Context, tx *sqlx.Tx, scope access.Scope, kind, number string) (int, bool, string, error) {
	var q string
	var condition access.Condition
	if kind == enrol.KindRegistration {
		condition = scope.Filter(enrolment.RegistrationColumns, 2)
		q = `SELECT r.enrolment_year, (` + condition.SQL + `) AS in_scope, r.status FROM registration r WHERE r.registration_number = $1`
	} else {
		condition = scope.Filter(enrolment.ApplicationColumns, 2)
		q = `SELECT a.enrolment_year, (` + condition.SQL + `) AS in_scope, a.status FROM application a WHERE a.application_number = $1`
	}
	var year int
	var inScope bool
	var status string
	err := tx.QueryRowxContext(ctx, q, append([]any{number}, condition.Args...)...).Scan(&year, &inScope, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, "", errNotFound
	}
	return year, inScope, status, err
}

// listDeletionRequests handles GET /api/v1/deletion-requests?status=&page=&size=:
// a district's requests for its staff, every district's for city staff,
// newest first.
func (h *Handlers) listDeletionRequests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}

	condition := staff.Scope.Filter(deletionColumns, 1)
	where := condition.SQL
	args := append([]any{}, condition.Args...)
	if status := r.URL.Query().Get("status"); status != "" {
		if status != DeletionPending && status != DeletionApproved && status != DeletionRejected {
			return apierror.Invalid("status", "invalid_status", "审核状态无效："+status+"。")
		}
		args = append(args, status)
		where += " AND d.status = $" + strconv.Itoa(len(args))
	}

	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM deletion_request d WHERE `+where, args...); err != nil {
		return err
	}
	args = append(args, page.Size, page.Offset())
	items := []DeletionRequest{}
	err = h.DB.SelectContext(ctx, &items, deletionSelect+` WHERE `+where+`
		ORDER BY d.requested_at DESC, d.id DESC
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

// decisionBody is the body of the approve and reject actions. Reason is
// required to reject; SMSSendAt schedules the family's message on approval.
type decisionBody struct {
	Reason    string     `json:"reason"`
	SMSSendAt *time.Time `json:"smsSendAt"`
}

// lockPendingRequest reads the {id} request for a city admin's decision
// and locks it.
func (h *Handlers) lockPendingRequest(ctx context.Context, tx *sqlx.Tx, staff *access.Staff, idText string) (DeletionRequest, error) {
	if staff.Scope.Level != access.LevelCity {
		return DeletionRequest{}, errCityOnly
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return DeletionRequest{}, apierror.Invalid("id", "invalid_id", "删除申请编号应为正整数。")
	}
	var request DeletionRequest
	err = tx.GetContext(ctx, &request, deletionSelect+` WHERE d.id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return request, errRequestNotFound
	}
	if err != nil {
		return request, err
	}
	if request.Status != DeletionPending {
		return request, errRequestDecided
	}
	// Development sign-in sessions have no account ID (0), so this check
	// cannot compare them. Their district and city levels still differ.
	if staff.ID != 0 && request.RequestedBy == staff.ID {
		return request, errOwnRequest
	}
	return request, nil
}

// approveDeletion handles POST /api/v1/deletion-requests/{id}/approve: the
// record is deleted (a registration with its applications) or marked
// deleted (an application), the family's SMS is queued, and the child's
// claims are released so the family may submit again.
func (h *Handlers) approveDeletion(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var body decisionBody
	if err := httpx.DecodeJSON(r, maxBodyBytes, &body); err != nil {
		return err
	}
	sendAt, err := h.checkSendAt(body.SMSSendAt)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	request, err := h.lockPendingRequest(ctx, tx, staff, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var deleted deletedRecord
	if request.RecordKind == enrol.KindRegistration {
		deleted, err = h.deleteRegistration(ctx, tx, request, sendAt)
	} else {
		deleted, err = h.deleteApplication(ctx, tx, request, sendAt)
	}
	if err != nil {
		return err
	}

	const decide = `
		UPDATE deletion_request SET status = 'approved', decided_by = $2, decided_by_name = $3, decided_at = now()
		WHERE id = $1 RETURNING decided_by_name, decided_at`
	if err := tx.QueryRowxContext(ctx, decide, request.ID, staff.ID, staff.Name).Scan(&request.DecidedByName, &request.DecidedAt); err != nil {
		return err
	}
	request.Status = DeletionApproved
	request.SMSID = deleted.SMSID
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionDeletionApprove, Resource: request.RecordKind, ResourceID: request.RecordNumber, DistrictCode: request.DistrictCode,
		Before: map[string]any{"deletionRequestId": request.ID, "deletionStatus": DeletionPending, "status": deleted.Status},
		After: map[string]any{"deletionRequestId": request.ID, "deletionStatus": DeletionApproved, "status": enrol.StatusDeleted,
			"applicationsDeleted": deleted.Applications, "smsId": deleted.SMSID},
		Detail: "批准删除：" + request.Reason,
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return classifyDeleteError(err)
	}

	synced := syncParent(ctx, h.Redis, h.Keys, deleted.Updates) == nil
	request.ParentStatusSynced = &synced
	request.DistrictName = h.districtName(request.DistrictCode)
	httpx.WriteJSON(w, http.StatusOK, request)
	return nil
}

// deletedRecord lists the changes of an approval.
type deletedRecord struct {
	Status       string
	Applications []string
	SMSID        int64
	Updates      []parentUpdate
}

// deleteRegistration deletes a registration and its applications (their
// return records go with them) and queues the family's SMS.
//
// Work in flight at that moment does not undo the deletion. The drainer
// finds the approved request for an application still in the stream and
// marks its receipt deleted instead of storing it, and the verifier does
// not write its outcome over a deleted receipt.
func (h *Handlers) deleteRegistration(ctx context.Context, tx *sqlx.Tx, request DeletionRequest, sendAt time.Time) (deletedRecord, error) {
	var registration struct {
		Year       int    `db:"enrolment_year"`
		ChildIndex []byte `db:"child_index"`
		ChildName  []byte `db:"child_name"`
		Guardians  []byte `db:"guardians"`
		Status     string `db:"status"`
	}
	err := tx.GetContext(ctx, &registration, `
		SELECT enrolment_year, child_index, child_name, guardians, status
		FROM registration WHERE registration_number = $1 FOR UPDATE`, request.RecordNumber)
	if errors.Is(err, sql.ErrNoRows) {
		return deletedRecord{}, errRecordGone
	}
	if err != nil {
		return deletedRecord{}, err
	}

	var applications []struct {
		Number     string `db:"application_number"`
		Year       int    `db:"enrolment_year"`
		ChildIndex []byte `db:"child_index"`
	}
	if err := tx.SelectContext(ctx, &applications, `
		DELETE FROM application WHERE registration_number = $1
		RETURNING application_number, enrolment_year, child_index`, request.RecordNumber); err != nil {
		return deletedRecord{}, classifyDeleteError(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM registration WHERE registration_number = $1`, request.RecordNumber); err != nil {
		return deletedRecord{}, classifyDeleteError(err)
	}

	deleted := deletedRecord{Status: registration.Status, Applications: []string{}}
	note := enrol.DeletionNote(request.Reason)
	deleted.Updates = append(deleted.Updates, parentUpdate{
		Number: request.RecordNumber, Claim: h.Keys.RegistrationClaim(registration.Year, registration.ChildIndex),
		Status: enrol.StatusDeleted, Note: note,
	})
	for _, application := range applications {
		deleted.Applications = append(deleted.Applications, application.Number)
		deleted.Updates = append(deleted.Updates, parentUpdate{
			Number: application.Number, Claim: h.Keys.ApplicationClaim(application.Year, application.ChildIndex),
			Status: enrol.StatusDeleted, Note: note,
		})
	}
	deleted.SMSID, err = h.queueFamilySMS(ctx, tx, familyMessage{
		Event: sms.EventRecordDeleted, DistrictCode: request.DistrictCode, RecordNumber: request.RecordNumber,
		RegistrationNumber: request.RecordNumber, ChildName: registration.ChildName, Guardians: registration.Guardians,
		Reason: request.Reason, SendAt: sendAt,
	})
	return deleted, err
}

// deleteApplication marks an application deleted and queues the family's
// SMS.
func (h *Handlers) deleteApplication(ctx context.Context, tx *sqlx.Tx, request DeletionRequest, sendAt time.Time) (deletedRecord, error) {
	application, err := lockApplication(ctx, tx, access.Scope{Level: access.LevelCity}, request.RecordNumber)
	if errors.Is(err, errNotFound) {
		return deletedRecord{}, errRecordGone
	}
	if err != nil {
		return deletedRecord{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE application SET status = 'deleted' WHERE application_number = $1`, application.Number); err != nil {
		return deletedRecord{}, err
	}
	deleted := deletedRecord{Status: application.Status, Applications: []string{application.Number}}
	deleted.Updates = []parentUpdate{{
		Number: application.Number, Claim: h.Keys.ApplicationClaim(application.Year, application.ChildIndex),
		Status: enrol.StatusDeleted, Note: enrol.DeletionNote(request.Reason),
	}}
	deleted.SMSID, err = h.queueSMS(ctx, tx, sms.EventRecordDeleted, application, request.Reason, sendAt)
	return deleted, err
}

// rejectDeletion handles POST /api/v1/deletion-requests/{id}/reject.
func (h *Handlers) rejectDeletion(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var body decisionBody
	if err := httpx.DecodeJSON(r, maxBodyBytes, &body); err != nil {
		return err
	}
	reason, err := checkReason("reason", body.Reason)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	request, err := h.lockPendingRequest(ctx, tx, staff, chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	const decide = `
		UPDATE deletion_request
		SET status = 'rejected', decided_by = $2, decided_by_name = $3, decided_at = now(), decision_reason = $4
		WHERE id = $1 RETURNING decided_by_name, decided_at, decision_reason`
	err = tx.QueryRowxContext(ctx, decide, request.ID, staff.ID, staff.Name, reason).
		Scan(&request.DecidedByName, &request.DecidedAt, &request.DecisionReason)
	if err != nil {
		return err
	}
	request.Status = DeletionRejected
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionDeletionReject, Resource: request.RecordKind, ResourceID: request.RecordNumber, DistrictCode: request.DistrictCode,
		Before: map[string]any{"deletionRequestId": request.ID, "deletionStatus": DeletionPending},
		After:  map[string]any{"deletionRequestId": request.ID, "deletionStatus": DeletionRejected, "reason": reason},
		Detail: "驳回删除申请：" + reason,
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	request.DistrictName = h.districtName(request.DistrictCode)
	httpx.WriteJSON(w, http.StatusOK, request)
	return nil
}

// classifyDeleteError turns a foreign-key violation (SQLSTATE 23503: a row
// of another table still names the record) into errRecordReferenced.
func classifyDeleteError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return errRecordReferenced
	}
	return err
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
