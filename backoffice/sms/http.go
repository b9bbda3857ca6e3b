package sms

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// Permissions of the SMS API: reading needs enrolment.read, changing
// templates and retrying a message enrolment.write.
const (
	PermissionRead  = "enrolment.read"
	PermissionWrite = "enrolment.write"
)

// Audited actions.
const (
	ActionTemplateCreate = "sms.template.create"
	ActionTemplateUpdate = "sms.template.update"
	ActionTemplateDelete = "sms.template.delete"
	ActionOutboxRetry    = "sms.outbox.retry"
)

const maxBodyBytes = 8 << 10

// templateColumns tie a template (alias t) to a scope. The city's
// templates (district_code NULL) are read by everyone through an explicit
// OR, and changed only by city staff.
var templateColumns = access.Columns{Districts: []string{"t.district_code"}}

// outboxColumns tie an outbox row (alias o) to a scope.
var outboxColumns = access.Columns{Districts: []string{"o.district_code"}}

var (
	errTemplateNotFound = apierror.New(http.StatusNotFound, "sms_template_not_found", "未找到该短信模板，可能已被删除。")
	errMessageNotFound  = apierror.New(http.StatusNotFound, "sms_message_not_found", "未找到该短信。")
	errTemplateExists   = apierror.New(http.StatusConflict, "sms_template_exists", "该区和入口已有此场景的短信模板，请直接修改。")
	errNotRetryable     = apierror.New(http.StatusConflict, "sms_not_retryable", "只有发送失败的短信可以重新发送。")
	errNeverBuilt       = apierror.New(http.StatusConflict, "sms_not_built",
		"这条短信当时未能生成（原因见“失败原因”），重发也无法送达。请先处理原因，如补录家长手机号码。")
)

// Handlers serve the SMS templates and the outbox.
type Handlers struct {
	DB    *sqlx.DB
	Trail *audit.Trail
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/sms/events", httpx.Handle(h.events))
		r.Get("/sms/templates", httpx.Handle(h.listTemplates))
		r.Get("/sms/outbox", httpx.Handle(h.listOutbox))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/sms/templates", httpx.Handle(h.createTemplate))
		r.Put("/sms/templates/{id}", httpx.Handle(h.updateTemplate))
		r.Delete("/sms/templates/{id}", httpx.Handle(h.deleteTemplate))
		r.Post("/sms/outbox/{id}/retry", httpx.Handle(h.retry))
	})
}

// events handles GET /api/v1/sms/events: the events with their
// placeholders and default texts.
func (h *Handlers) events(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": Events})
	return nil
}

// Template is a stored template.
type Template struct {
	ID           int64     `db:"id" json:"id"`
	Event        string    `db:"event" json:"event"`
	DistrictCode string    `db:"district_code" json:"districtCode"`
	EntryID      int64     `db:"entry_id" json:"entryId"`
	Body         string    `db:"body" json:"body"`
	Enabled      bool      `db:"enabled" json:"enabled"`
	UpdatedBy    string    `db:"updated_by" json:"updatedBy"`
	UpdatedAt    time.Time `db:"updated_at" json:"updatedAt"`
	// Editable is true when the signed-in staff member may change it.
	Editable bool `db:"-" json:"editable"`
}

const templateSelect = `
	SELECT t.id, t.event, COALESCE(t.district_code, '') AS district_code, COALESCE(t.entry_id, 0) AS entry_id,
	       t.body, t.enabled, t.updated_by, t.updated_at
	FROM sms_template t`

// listTemplates handles GET /api/v1/sms/templates?district=: the city's
// templates and those of the districts in scope (city staff may narrow to
// one district).
func (h *Handlers) listTemplates(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	scope := staff.Scope.Filter(templateColumns, 1)
	args := append([]any{}, scope.Args...)
	condition := "(t.district_code IS NULL OR " + scope.SQL + ")"
	if district := r.URL.Query().Get("district"); district != "" {
		if !staff.Scope.AllowsDistrict(district) {
			return access.ErrOutOfScope
		}
		args = append(args, district)
		condition += " AND (t.district_code IS NULL OR t.district_code = $" + strconv.Itoa(len(args)) + ")"
	}
	templates := []Template{}
	err := h.DB.SelectContext(ctx, &templates, templateSelect+` WHERE `+condition+`
		ORDER BY t.district_code NULLS FIRST, t.entry_id NULLS FIRST, t.event`, args...)
	if err != nil {
		return err
	}
	for i := range templates {
		templates[i].Editable = staff.Can(PermissionWrite) && mayChange(staff.Scope, templates[i].DistrictCode)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": templates})
	return nil
}

// mayChange reports whether a scope may change a template of a district
// ("" is the city's default).
func mayChange(scope access.Scope, district string) bool {
	if district == "" {
		return scope.Level == access.LevelCity
	}
	return scope.AllowsDistrict(district)
}

// templateRequest is the body of POST and PUT /api/v1/sms/templates.
// DistrictCode "" means the staff member's own district, or the city's
// default for city staff. Event, DistrictCode and EntryID cannot change in
// a PUT.
type templateRequest struct {
	Event        string `json:"event"`
	DistrictCode string `json:"districtCode"`
	EntryID      int64  `json:"entryId"`
	Body         string `json:"body"`
	Enabled      *bool  `json:"enabled"`
}

// createTemplate handles POST /api/v1/sms/templates.
func (h *Handlers) createTemplate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var request templateRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	if err := ValidateBody(request.Event, request.Body); err != nil {
		return err
	}
	district := strings.TrimSpace(request.DistrictCode)
	if district == "" && staff.Scope.Level == access.LevelDistrict {
		district = staff.Scope.DistrictCode
	}
	if !mayChange(staff.Scope, district) {
		return access.ErrOutOfScope
	}
	if district != "" {
		if _, ok := h.DistrictName(district); !ok {
			return apierror.Invalid("districtCode", "unknown_district", "区代码无效："+district+"。")
		}
	}
	if request.EntryID != 0 {
		if err := h.checkEntry(ctx, request.EntryID, district); err != nil {
			return err
		}
	}
	template := Template{Event: request.Event, DistrictCode: district, EntryID: request.EntryID, Body: request.Body, Enabled: true}
	if request.Enabled != nil {
		template.Enabled = *request.Enabled
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const q = `
		INSERT INTO sms_template (event, district_code, entry_id, body, enabled, updated_by)
		VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING id, updated_by, updated_at`
	err = tx.QueryRowxContext(ctx, q, template.Event, nullString(district), nullInt(template.EntryID), template.Body,
		template.Enabled, staff.Name).Scan(&template.ID, &template.UpdatedBy, &template.UpdatedAt)
	if isUniqueViolation(err) {
		return errTemplateExists
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionTemplateCreate, template, nil, template); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	template.Editable = true
	httpx.WriteJSON(w, http.StatusCreated, template)
	return nil
}

// checkEntry rejects an entry that does not exist or is not the district's.
func (h *Handlers) checkEntry(ctx context.Context, entryID int64, district string) error {
	var entryDistrict string
	err := h.DB.GetContext(ctx, &entryDistrict, `SELECT district_code FROM entry WHERE id = $1`, entryID)
	if errors.Is(err, sql.ErrNoRows) {
		return apierror.Invalid("entryId", "unknown_entry", "报名入口不存在："+strconv.FormatInt(entryID, 10)+"。")
	}
	if err != nil {
		return err
	}
	if entryDistrict != district {
		return apierror.Invalid("entryId", "entry_not_in_district", "所选报名入口不属于该区，请重新选择。")
	}
	return nil
}

// updateTemplate handles PUT /api/v1/sms/templates/{id}: the text and
// whether it is enabled.
func (h *Handlers) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var request templateRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := lockTemplate(ctx, tx, id)
	if err != nil {
		return err
	}
	if !mayChange(staff.Scope, before.DistrictCode) {
		return access.ErrOutOfScope
	}
	if request.Event != "" && request.Event != before.Event {
		return apierror.Invalid("event", "sms_event_unchangeable", "模板的短信场景保存后不能修改，请新建模板。")
	}
	if err := ValidateBody(before.Event, request.Body); err != nil {
		return err
	}
	after := before
	after.Body = request.Body
	if request.Enabled != nil {
		after.Enabled = *request.Enabled
	}
	const q = `UPDATE sms_template SET body = $2, enabled = $3, updated_by = $4, updated_at = now()
		WHERE id = $1 RETURNING updated_by, updated_at`
	if err := tx.QueryRowxContext(ctx, q, id, after.Body, after.Enabled, staff.Name).Scan(&after.UpdatedBy, &after.UpdatedAt); err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionTemplateUpdate, after, before, after); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	after.Editable = true
	httpx.WriteJSON(w, http.StatusOK, after)
	return nil
}

// deleteTemplate handles DELETE /api/v1/sms/templates/{id}. Messages then
// use the next less specific template.
func (h *Handlers) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := lockTemplate(ctx, tx, id)
	if err != nil {
		return err
	}
	if !mayChange(staff.Scope, before.DistrictCode) {
		return access.ErrOutOfScope
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sms_template WHERE id = $1`, id); err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionTemplateDelete, before, before, nil); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func lockTemplate(ctx context.Context, tx *sqlx.Tx, id int64) (Template, error) {
	var template Template
	err := tx.GetContext(ctx, &template, templateSelect+` WHERE t.id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Template{}, errTemplateNotFound
	}
	return template, err
}

func (h *Handlers) record(ctx context.Context, tx *sqlx.Tx, r *http.Request, staff *access.Staff, action string,
	template Template, before, after any) error {
	return h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: action, Resource: "sms_template", ResourceID: strconv.FormatInt(template.ID, 10),
		DistrictCode: template.DistrictCode, Before: before, After: after, Detail: template.Event,
	})
}

// OutboxItem is an outbox row as lists show it: the phone masked, the text
// with the child's name masked.
type OutboxItem struct {
	ID           int64      `db:"id" json:"id"`
	Event        string     `db:"event" json:"event"`
	DistrictCode string     `db:"district_code" json:"districtCode"`
	DistrictName string     `db:"-" json:"districtName"`
	RecordNumber string     `db:"record_number" json:"recordNumber"`
	Phone        string     `db:"phone_masked" json:"phone"`
	Preview      string     `db:"preview" json:"preview"`
	Status       string     `db:"status" json:"status"`
	Attempts     int        `db:"attempts" json:"attempts"`
	MaxAttempts  int        `db:"max_attempts" json:"maxAttempts"`
	SendAt       time.Time  `db:"send_at" json:"sendAt"`
	NextAttempt  time.Time  `db:"next_attempt_at" json:"nextAttemptAt"`
	LastError    *string    `db:"last_error" json:"lastError"`
	CreatedAt    time.Time  `db:"created_at" json:"createdAt"`
	SentAt       *time.Time `db:"sent_at" json:"sentAt"`
	DeliveredAt  *time.Time `db:"delivered_at" json:"deliveredAt"`
}

var outboxStatuses = map[string]bool{
	StatusPending: true, StatusSending: true, StatusSent: true, StatusDelivered: true, StatusFailed: true,
}

// listOutbox handles GET /api/v1/sms/outbox?status=&district=&record=&page=&size=,
// newest first, within the staff member's scope.
func (h *Handlers) listOutbox(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	scope := staff.Scope.Filter(outboxColumns, 1)
	conditions := []string{scope.SQL}
	args := append([]any{}, scope.Args...)
	add := func(condition string, value any) {
		args = append(args, value)
		conditions = append(conditions, strings.ReplaceAll(condition, "?", "$"+strconv.Itoa(len(args))))
	}
	query := r.URL.Query()
	if status := query.Get("status"); status != "" {
		if !outboxStatuses[status] {
			return apierror.Invalid("status", "invalid_status", "短信状态无效："+status+"。")
		}
		add("o.status = ?", status)
	}
	if district := query.Get("district"); district != "" {
		if !staff.Scope.AllowsDistrict(district) {
			return access.ErrOutOfScope
		}
		add("o.district_code = ?", district)
	}
	if record := strings.TrimSpace(query.Get("record")); record != "" {
		add("o.record_number = ?", record)
	}
	where := strings.Join(conditions, " AND ")

	var total int
	if err := h.DB.GetContext(ctx, &total, `SELECT count(*) FROM sms_outbox o WHERE `+where, args...); err != nil {
		return err
	}
	items := []OutboxItem{}
	args = append(args, page.Size, page.Offset())
	err = h.DB.SelectContext(ctx, &items, `
		SELECT o.id, o.event, COALESCE(o.district_code, '') AS district_code, o.record_number, o.phone_masked,
		       o.preview, o.status, o.attempts, o.max_attempts, o.send_at, o.next_attempt_at, o.last_error,
		       o.created_at, o.sent_at, o.delivered_at
		FROM sms_outbox o
		WHERE `+where+`
		ORDER BY o.created_at DESC, o.id DESC
		LIMIT $`+strconv.Itoa(len(args)-1)+` OFFSET $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].DistrictName, _ = h.DistrictName(items[i].DistrictCode)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"total": total, "page": page.Number, "size": page.Size, "items": items})
	return nil
}

// retry handles POST /api/v1/sms/outbox/{id}/retry: a failed message gets
// a fresh set of attempts, sent at once.
func (h *Handlers) retry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	scope := staff.Scope.Filter(outboxColumns, 2)
	var row struct {
		Status   string `db:"status"`
		District string `db:"district_code"`
		Preview  string `db:"preview"`
		InScope  bool   `db:"in_scope"`
	}
	err = tx.GetContext(ctx, &row, `SELECT o.status, COALESCE(o.district_code, '') AS district_code, o.preview, (`+scope.SQL+`) AS in_scope
		FROM sms_outbox o WHERE o.id = $1 FOR UPDATE`, append([]any{id}, scope.Args...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return errMessageNotFound
	}
	if err != nil {
		return err
	}
	if !row.InScope {
		return access.ErrOutOfScope
	}
	if row.Status != StatusFailed {
		return errNotRetryable
	}
	if row.Preview == "" {
		// The notifier recorded why it made no text (no phone, or a record
		// that does not open), and sending again cannot fix that.
		slog.Info("sms retry rejected: the message was never made", "outbox_id", id)
		return errNeverBuilt
	}

	const q = `UPDATE sms_outbox SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL,
		provider_message_id = NULL WHERE id = $1`
	if _, err := tx.ExecContext(ctx, q, id); err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionOutboxRetry, Resource: "sms_outbox", ResourceID: strconv.FormatInt(id, 10), DistrictCode: row.District,
		Before: map[string]string{"status": StatusFailed}, After: map[string]string{"status": StatusPending},
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": StatusPending})
	return nil
}

func parseID(value string) (int64, error) {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil || id <= 0 {
		return 0, apierror.Invalid("id", "invalid_id", "编号应为正整数。")
	}
	return id, nil
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
