package monitoring

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Limits of one batch.
const (
	// MaxBatchRecords is the most records one ingest request may carry: a
	// large kindergarten's week.
	MaxBatchRecords = 5_000
	maxBatchBytes   = 4 << 20
	// APIKeyHeader carries a kindergarten system's API key.
	APIKeyHeader = "X-API-Key"
	// WritePermission lets staff send and import attendance.
	WritePermission = "attendance.write"
)

// Errors of the ingest API.
var (
	ErrUnknownKindergartenAPI = apierror.Invalid("kindergartenId", "unknown_kindergarten", "园所不存在，请检查园所编号。")
	ErrForeignCampusAPI       = apierror.Invalid("campusId", "foreign_campus", "办园点不属于该园所，请检查办园点编号。")
	ErrInvalidAPIKey          = apierror.New(http.StatusUnauthorized, "invalid_api_key", "接口密钥无效或已停用，请联系区教育局重新申请。")
	ErrEmptyBatch             = apierror.Invalid("records", "empty_batch", "本批没有考勤记录。")
	ErrBatchTooLarge          = apierror.Invalid("records", "batch_too_large", "每批最多 "+strconv.Itoa(MaxBatchRecords)+" 条考勤记录，请分批上报。")
)

// Handlers serve the ingest API and the bulk import.
type Handlers struct {
	Store *Store
	Trail *audit.Trail
	Now   func() time.Time
}

// Routes mounts the staff routes, behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(WritePermission))
		r.Post("/monitoring/attendance", httpx.Handle(h.ingest))
		r.Post("/monitoring/attendance/import", httpx.Handle(h.importFile))
		r.Post("/monitoring/weather", httpx.Handle(h.weather))
	})
}

// SystemRoutes mounts the route kindergarten systems call with an API key
// in the X-API-Key header instead of a staff session.
func (h *Handlers) SystemRoutes(r chi.Router) {
	r.Post("/monitoring/system/attendance", httpx.Handle(h.systemIngest))
}

// BatchRequest is one kindergarten's batch of attendance records.
type BatchRequest struct {
	KindergartenID int64         `json:"kindergartenId"`
	Records        []RecordInput `json:"records"`
}

// RecordError is an invalid record of a batch or an import file. Row is
// the record's index in a batch (from 0) or its line in a file (from 1,
// with the header as line 1).
type RecordError struct {
	Row int `json:"row"`
	FieldError
}

// ingest handles POST /api/v1/monitoring/attendance for staff.
func (h *Handlers) ingest(w http.ResponseWriter, r *http.Request) error {
	var request BatchRequest
	if err := httpx.DecodeJSON(r, maxBatchBytes, &request); err != nil {
		return err
	}
	staff := access.StaffFrom(r.Context())
	kindergarten, err := h.kindergartenInScope(r.Context(), staff.Scope, request.KindergartenID)
	if err != nil {
		return err
	}
	return h.writeBatch(w, r, staff, kindergarten, request.Records)
}

// systemIngest handles POST /api/v1/monitoring/system/attendance for a
// kindergarten system. The key decides the kindergarten, and a batch for
// any other kindergarten is rejected.
func (h *Handlers) systemIngest(w http.ResponseWriter, r *http.Request) error {
	key := strings.TrimSpace(r.Header.Get(APIKeyHeader))
	if key == "" {
		return ErrInvalidAPIKey
	}
	owner, err := KindergartenOfKey(r.Context(), h.Store.DB, key)
	if errors.Is(err, ErrUnknownAPIKey) {
		slog.Warn("attendance batch with an invalid API key", "ip", access.ClientIP(r))
		return ErrInvalidAPIKey
	}
	if err != nil {
		return err
	}
	staff := &access.Staff{
		Username: "api-key-" + strconv.FormatInt(owner.KeyID, 10), Name: "园所系统：" + owner.KeyName,
		Role: "kindergarten_system", Permissions: []string{WritePermission},
		Scope: access.Scope{Level: access.LevelKindergarten, KindergartenID: owner.KindergartenID},
	}
	r = r.WithContext(access.WithStaff(r.Context(), staff))
	var request BatchRequest
	if err := httpx.DecodeJSON(r, maxBatchBytes, &request); err != nil {
		return err
	}
	kindergarten, err := h.kindergartenInScope(r.Context(), staff.Scope, request.KindergartenID)
	if err != nil {
		return err
	}
	return h.writeBatch(w, r, staff, kindergarten, request.Records)
}

// kindergartenInScope returns the kindergarten with id when scope covers
// it, ErrUnknownKindergartenAPI when there is none, and access.ErrOutOfScope
// otherwise.
func (h *Handlers) kindergartenInScope(ctx context.Context, scope access.Scope, id int64) (Kindergarten, error) {
	var kindergarten Kindergarten
	err := h.Store.DB.GetContext(ctx, &kindergarten, `SELECT id, district_code, street_code FROM kindergarten WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return kindergarten, ErrUnknownKindergartenAPI
	}
	if err != nil {
		return kindergarten, err
	}
	allowed := false
	switch scope.Level {
	case access.LevelCity:
		allowed = true
	case access.LevelDistrict:
		allowed = scope.DistrictCode == kindergarten.DistrictCode
	case access.LevelStreet:
		allowed = scope.StreetCode == kindergarten.StreetCode
	case access.LevelKindergarten:
		allowed = scope.KindergartenID == kindergarten.ID
	}
	if !allowed {
		return kindergarten, access.ErrOutOfScope
	}
	return kindergarten, nil
}

// ParseBatch validates every record of a batch. It returns the valid
// records and every invalid one, including a child sent twice for the same
// day, numbered by rows[i] (by index when rows is nil).
func ParseBatch(inputs []RecordInput, today time.Time, rows []int) ([]Record, []RecordError) {
	rowOf := func(i int) int {
		if rows == nil {
			return i
		}
		return rows[i]
	}
	records := make([]Record, 0, len(inputs))
	var problems []RecordError
	seen := make(map[string]int, len(inputs))
	for i, input := range inputs {
		record, problem := ParseRecord(input, today)
		if problem != nil {
			problems = append(problems, RecordError{Row: rowOf(i), FieldError: *problem})
			continue
		}
		key := record.ChildKey + "|" + record.Day.Format(time.DateOnly)
		if earlier, ok := seen[key]; ok {
			problems = append(problems, RecordError{Row: rowOf(i), FieldError: FieldError{
				Field: "childKey", Message: "同一幼儿同一天的记录重复，与第 " + strconv.Itoa(earlier) + " 条重复。",
			}})
			continue
		}
		seen[key] = rowOf(i)
		records = append(records, record)
	}
	return records, problems
}

type batchResponse struct {
	IngestResult
	KindergartenID int64 `json:"kindergartenId"`
}

type invalidBatchResponse struct {
	Error  *apierror.Error `json:"error"`
	Errors []RecordError   `json:"errors"`
}

var errInvalidRecords = apierror.New(http.StatusUnprocessableEntity, "invalid_records", "部分考勤记录不正确，本批未保存，请按错误列表修改后重新上报。")

// writeBatch validates and stores a batch all or nothing.
func (h *Handlers) writeBatch(w http.ResponseWriter, r *http.Request, staff *access.Staff, kindergarten Kindergarten, inputs []RecordInput) error {
	if len(inputs) == 0 {
		return ErrEmptyBatch
	}
	if len(inputs) > MaxBatchRecords {
		return ErrBatchTooLarge
	}
	records, problems := ParseBatch(inputs, Today(h.Now()), nil)
	if len(problems) > 0 {
		httpx.WriteJSON(w, http.StatusUnprocessableEntity, invalidBatchResponse{Error: errInvalidRecords, Errors: problems})
		return nil
	}
	result, err := h.store(r, staff, kindergarten, records, "接口上报")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, batchResponse{IngestResult: result, KindergartenID: kindergarten.ID})
	return nil
}

// store ingests records and records one audit event for the batch in the
// same transaction.
func (h *Handlers) store(r *http.Request, staff *access.Staff, kindergarten Kindergarten, records []Record, channel string) (IngestResult, error) {
	first, last := records[0].Day, records[0].Day
	for _, record := range records {
		if record.Day.Before(first) {
			first = record.Day
		}
		if record.Day.After(last) {
			last = record.Day
		}
	}
	result, err := h.Store.Ingest(r.Context(), kindergarten.ID, records, func(tx *sqlx.Tx, result IngestResult) error {
		return h.Trail.RecordTx(r.Context(), tx, r, staff, audit.Event{
			Action: "attendance.ingest", Resource: "kindergarten", ResourceID: strconv.FormatInt(kindergarten.ID, 10),
			DistrictCode: kindergarten.DistrictCode, After: result,
			Detail: fmt.Sprintf("%s考勤 %d 条（%s 至 %s）", channel, len(records), first.Format(time.DateOnly), last.Format(time.DateOnly)),
		})
	})
	switch {
	case errors.Is(err, ErrUnknownKindergarten):
		return result, ErrUnknownKindergartenAPI
	case errors.Is(err, ErrForeignCampus):
		return result, ErrForeignCampusAPI
	}
	return result, err
}
