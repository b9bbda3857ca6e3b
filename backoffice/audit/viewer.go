package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
)

// PermissionRead lets a staff member read, export and verify the trail.
const PermissionRead = "audit.read"

// Handlers serve the audit trail viewer, its export and the chain check.
//
// The auditor's scope level is access.LevelNone, yet the auditor reads the
// whole trail, so audit.read is the gate of these handlers, not
// access.Scope.Filter. This is the one deliberate exception to filtering
// every query by scope, because the trail records every district's actions
// and the auditor must see all of them.
type Handlers struct {
	Trail *Trail
	// Checkpoints, when set, adds the signed checkpoints to the verify
	// endpoint.
	Checkpoints *Checkpoints
}

// Routes mounts the handlers behind audit.read. The caller mounts them under
// /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/audit-events", httpx.Handle(h.list))
		r.Get("/audit-events/export", httpx.Handle(h.export))
		r.Get("/audit-events/verify", httpx.Handle(h.verify))
	})
}

// Filter narrows the trail. To is exclusive. Actor and Action match when
// the actor's name or username, or the action, contains them, ignoring case.
// Resource and ResourceID name the target of the action exactly, such as
// staff_user 42.
type Filter struct {
	From         time.Time
	To           time.Time
	Actor        string
	Action       string
	Resource     string
	ResourceID   string
	Outcome      string
	DistrictCode string
}

// shanghai is China Standard Time, which has had no daylight saving since
// 1991, so the fixed offset is exact for the dates the trail holds.
var shanghai = time.FixedZone("CST", 8*60*60)

var (
	resourcePattern = regexp.MustCompile(`^[a-z0-9_.]{1,50}$`)
	districtPattern = regexp.MustCompile(`^[0-9]{6}$`)
	outcomeLabels   = map[string]string{OutcomeSuccess: "成功", OutcomeDenied: "拒绝", OutcomeFailed: "失败"}
)

// parseTime reads a date (2025-05-01, Shanghai time) or a time
// (2025-05-01T08:00, Shanghai time, or RFC 3339 with its offset). For a date
// endOfDay moves the result to the next midnight, for a time to the next
// microsecond, so that an inclusive end becomes an exclusive bound.
func parseTime(value string, endOfDay bool) (time.Time, bool) {
	if parsed, err := time.ParseInLocation(time.DateOnly, value, shanghai); err == nil {
		if endOfDay {
			parsed = parsed.AddDate(0, 0, 1)
		}
		return parsed, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if parsed, err := time.ParseInLocation(layout, value, shanghai); err == nil {
			if endOfDay {
				parsed = parsed.Add(time.Microsecond)
			}
			return parsed, true
		}
	}
	return time.Time{}, false
}

// ParseFilter reads the filter query parameters: from, to (inclusive),
// actor, action, resource, resourceId, outcome and district.
func ParseFilter(r *http.Request) (Filter, error) {
	query := r.URL.Query()
	var filter Filter

	if value := query.Get("from"); value != "" {
		parsed, ok := parseTime(value, false)
		if !ok {
			return filter, apierror.Invalid("from", "invalid_time", "起始时间格式不正确，应为 2025-05-01 或 2025-05-01T08:00。")
		}
		filter.From = parsed
	}
	if value := query.Get("to"); value != "" {
		parsed, ok := parseTime(value, true)
		if !ok {
			return filter, apierror.Invalid("to", "invalid_time", "结束时间格式不正确，应为 2025-05-01 或 2025-05-01T08:00。")
		}
		filter.To = parsed
	}
	if !filter.From.IsZero() && !filter.To.IsZero() && !filter.From.Before(filter.To) {
		return filter, apierror.Invalid("to", "invalid_time_range", "结束时间应晚于起始时间。")
	}

	text := func(name string, maxLength int) (string, error) {
		value := strings.TrimSpace(query.Get(name))
		if !utf8.ValidString(value) || utf8.RuneCountInString(value) > maxLength || strings.ContainsRune(value, 0) {
			return "", apierror.Invalid(name, "invalid_"+name, "筛选条件过长或含有无效字符，请修改后重试。")
		}
		return value, nil
	}
	var err error
	if filter.Actor, err = text("actor", 50); err != nil {
		return filter, err
	}
	if filter.Action, err = text("action", 100); err != nil {
		return filter, err
	}

	filter.Resource = query.Get("resource")
	if filter.Resource != "" && !resourcePattern.MatchString(filter.Resource) {
		return filter, apierror.Invalid("resource", "invalid_resource", "对象类型筛选条件无效，请重新选择。")
	}
	if filter.ResourceID, err = text("resourceId", 100); err != nil {
		return filter, err
	}
	filter.Outcome = query.Get("outcome")
	if _, ok := outcomeLabels[filter.Outcome]; filter.Outcome != "" && !ok {
		return filter, apierror.Invalid("outcome", "invalid_outcome", "结果筛选条件无效，应为成功、拒绝或失败。")
	}
	filter.DistrictCode = query.Get("district")
	if filter.DistrictCode != "" && !districtPattern.MatchString(filter.DistrictCode) {
		return filter, apierror.Invalid("district", "unknown_district", "所选的区不存在，请重新选择。")
	}
	return filter, nil
}

// where builds the WHERE clause of a filter; conditions use "?" placeholders,
// numbered here, and values are always arguments.
type where struct {
	conditions []string
	args       []any
}

func (w *where) add(condition string, args ...any) {
	for _, arg := range args {
		w.args = append(w.args, arg)
		condition = strings.Replace(condition, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conditions = append(w.conditions, condition)
}

func (w *where) sql() string {
	if len(w.conditions) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conditions, " AND ")
}

func (f Filter) where() *where {
	w := &where{}
	if !f.From.IsZero() {
		w.add("e.at >= ?", f.From)
	}
	if !f.To.IsZero() {
		w.add("e.at < ?", f.To)
	}
	if f.Actor != "" {
		w.add("strpos(lower(e.actor_name), lower(?)) > 0", f.Actor)
	}
	if f.Action != "" {
		w.add("strpos(lower(e.action), lower(?)) > 0", f.Action)
	}
	if f.Resource != "" {
		w.add("e.resource = ?", f.Resource)
	}
	if f.ResourceID != "" {
		w.add("e.resource_id = ?", f.ResourceID)
	}
	if f.Outcome != "" {
		w.add("e.outcome = ?", f.Outcome)
	}
	if f.DistrictCode != "" {
		w.add("e.district_code = ?", f.DistrictCode)
	}
	return w
}

// EventRow is an audit event as the viewer shows it. Before and After are
// the recorded states as JSON, or null.
type EventRow struct {
	ID           int64           `json:"id"`
	At           time.Time       `json:"at"`
	ActorID      *int64          `json:"actorId"`
	ActorName    string          `json:"actorName"`
	ActorRole    string          `json:"actorRole"`
	IP           string          `json:"ip"`
	Action       string          `json:"action"`
	Resource     string          `json:"resource"`
	ResourceID   string          `json:"resourceId"`
	DistrictCode string          `json:"districtCode,omitempty"`
	Outcome      string          `json:"outcome"`
	OutcomeLabel string          `json:"outcomeLabel"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	Detail       string          `json:"detail"`
}

const eventColumns = `e.id, e.at, e.actor_id, e.actor_name, e.actor_role, e.ip, e.action, e.resource, e.resource_id,
	e.district_code, e.outcome, e.before_state, e.after_state, e.detail`

func scanEvent(rows *sql.Rows) (EventRow, error) {
	var event EventRow
	var actorID sql.NullInt64
	var district, before, after sql.NullString
	if err := rows.Scan(&event.ID, &event.At, &actorID, &event.ActorName, &event.ActorRole, &event.IP, &event.Action,
		&event.Resource, &event.ResourceID, &district, &event.Outcome, &before, &after, &event.Detail); err != nil {
		return event, err
	}
	if actorID.Valid {
		event.ActorID = &actorID.Int64
	}
	event.DistrictCode = strings.TrimSpace(district.String)
	event.OutcomeLabel = outcomeLabels[event.Outcome]
	event.Before, event.After = rawState(before), rawState(after)
	return event, nil
}

// rawState returns a recorded state as JSON: null when absent, the text
// itself when it is JSON (as RecordTx writes it), else the text as a JSON
// string.
func rawState(state sql.NullString) json.RawMessage {
	if !state.Valid {
		return json.RawMessage("null")
	}
	if json.Valid([]byte(state.String)) {
		return json.RawMessage(state.String)
	}
	quoted, _ := json.Marshal(state.String)
	return quoted
}

// List returns one page of the events that match filter, newest first, and
// the number of matching events.
func (t *Trail) List(ctx context.Context, filter Filter, page httpx.Page) ([]EventRow, int, error) {
	w := filter.where()
	var total int
	if err := t.DB.GetContext(ctx, &total, `SELECT count(*) FROM audit_event e WHERE `+w.sql(), w.args...); err != nil {
		return nil, 0, err
	}
	args := append(append([]any{}, w.args...), page.Size, page.Offset())
	q := `
		SELECT ` + eventColumns + `
		FROM audit_event e
		WHERE ` + w.sql() + `
		ORDER BY e.at DESC, e.id DESC
		LIMIT $` + strconv.Itoa(len(args)-1) + ` OFFSET $` + strconv.Itoa(len(args))
	rows, err := t.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	events := []EventRow{}
	for rows.Next() {
		event, err := scanEvent(rows)
		if err != nil {
			return nil, 0, err
		}
		events = append(events, event)
	}
	return events, total, rows.Err()
}

// ListBody is the response of GET /api/v1/audit-events.
type ListBody struct {
	Total int        `json:"total"`
	Page  int        `json:"page"`
	Size  int        `json:"size"`
	Items []EventRow `json:"items"`
}

// list handles GET /api/v1/audit-events.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	filter, err := ParseFilter(r)
	if err != nil {
		return err
	}
	events, total, err := h.Trail.List(r.Context(), filter, page)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ListBody{Total: total, Page: page.Number, Size: page.Size, Items: events})
	return nil
}

// problemLabels are the Chinese forms of the reasons Verify gives.
var problemLabels = map[string]string{
	"the link to the row before does not match: a row was deleted, inserted or edited": "与上一条记录的链接不一致：有记录被删除、插入或修改",
	"the row's content does not match its hash: the row was edited":                    "记录内容与其哈希值不一致：该记录被修改过",
	"the chain's head does not name the last row: rows at the end were deleted":        "链头未指向最后一条记录：末尾的记录被删除",
	ReasonCheckpointSignature:  "签名检查点验签失败：检查点被伪造或修改，或其前面的检查点被删除",
	ReasonCheckpointUnknownKey: "签名检查点所用的签名密钥不在当前密码服务中（不表示日志被篡改）：请运维人员在 CRYPTO_VERIFY_KEYS 中配置该停用密钥的公钥",
	ReasonCheckpointOrder:      "签名检查点指向的记录早于前一个检查点",
	ReasonCheckpointRowMissing: "签名检查点指向的记录已不存在：有记录被删除",
	ReasonCheckpointHash:       "签名检查点中该记录的哈希值不同：此前的记录被修改且哈希链被重建",
}

// ProblemLabel returns the Chinese form of a reason Verify gives.
func ProblemLabel(reason string) string {
	if label, ok := problemLabels[reason]; ok {
		return label
	}
	return "哈希链校验未通过"
}

// VerifyProblem is a break in the chain with its reason in Chinese.
type VerifyProblem struct {
	Problem
	ReasonLabel string `json:"reasonLabel"`
}

// VerifyBody is the response of GET /api/v1/audit-events/verify.
type VerifyBody struct {
	Rows     int64           `json:"rows"`
	Intact   bool            `json:"intact"`
	Problems []VerifyProblem `json:"problems"`
}

// errCheckpointsUnverifiable is the error when the signed checkpoints could
// not be checked, which is not a finding of tampering.
var errCheckpointsUnverifiable = apierror.New(http.StatusServiceUnavailable, "crypto_service_unavailable",
	"密码服务暂时不可用，无法校验签名检查点（这不表示日志被篡改），请稍后再试。")

// verify handles GET /api/v1/audit-events/verify. A broken chain is a
// result, not an error, so the response has status 200 either way.
func (h *Handlers) verify(w http.ResponseWriter, r *http.Request) error {
	result, err := h.Trail.Verify(r.Context())
	if err != nil && !errors.Is(err, ErrBroken) {
		return err
	}
	if h.Checkpoints != nil {
		_, problems, err := h.Checkpoints.Verify(r.Context())
		if errors.Is(err, crypto.ErrServiceUnavailable) {
			slog.Error("audit checkpoints not verified", "error", err)
			return errCheckpointsUnverifiable
		}
		if err != nil {
			return err
		}
		result.Problems = append(result.Problems, problems...)
	}
	body := VerifyBody{Rows: result.Rows, Intact: len(result.Problems) == 0, Problems: []VerifyProblem{}}
	for _, problem := range result.Problems {
		body.Problems = append(body.Problems, VerifyProblem{Problem: problem, ReasonLabel: ProblemLabel(problem.Reason)})
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
