package matching

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/crypto"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Permissions of the matching API: the enrolment permissions, because the
// rules are part of a district's enrolment policy.
const (
	PermissionRead  = "enrolment.read"
	PermissionWrite = "enrolment.write"
)

// Audited actions.
const (
	ActionCreate = "matching.rule.create"
	ActionUpdate = "matching.rule.update"
	ActionDelete = "matching.rule.delete"
	ActionImport = "matching.rule.import"
	ActionExport = "matching.validation.export"
	resource     = "matching_rule"
)

// maxBodyBytes limits a rule's JSON request body.
const maxBodyBytes = 4 << 10

// Publisher publishes the edge's configuration snapshot, as
// *publish.Publisher does.
type Publisher interface {
	Publish(ctx context.Context) (*snapshot.Snapshot, error)
}

// Handlers serve the matching API.
type Handlers struct {
	DB      *sqlx.DB
	Trail   *audit.Trail
	Keyring *crypto.Keyring
	// Publisher, when not nil, republishes the edge snapshot after every
	// change, so parents are matched by the new rules at once.
	Publisher Publisher
}

// Routes mounts the handlers, each group behind its permission. The caller
// mounts them under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/matching/rules", httpx.Handle(h.list))
		r.Get("/matching/options", httpx.Handle(h.options))
		r.Get("/matching/rules/template.xlsx", httpx.Handle(h.template))
		r.Get("/matching/validation", httpx.Handle(h.validation))
		r.Get("/matching/validation/unmatched.xlsx", httpx.Handle(h.exportUnmatched))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/matching/rules", httpx.Handle(h.create))
		r.Post("/matching/rules/import", httpx.Handle(h.importRules))
		r.Put("/matching/rules/{id}", httpx.Handle(h.update))
		r.Delete("/matching/rules/{id}", httpx.Handle(h.delete))
	})
}

// ListBody is the response of GET /api/v1/matching/rules.
type ListBody struct {
	Items []Rule `json:"items"`
	Total int    `json:"total"`
	Page  int    `json:"page"`
	Size  int    `json:"size"`
}

// list handles GET /api/v1/matching/rules?year=&district=&mode=&audience=&street=&search=&page=&size=.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	page, err := httpx.ParsePage(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	filter := ListFilter{
		DistrictCode: query.Get("district"), Audience: query.Get("audience"),
		StreetCode: query.Get("street"), Search: strings.TrimSpace(query.Get("search")),
	}
	if filter.Year, err = optionalInt(query.Get("year"), "year", "招生年度"); err != nil {
		return err
	}
	if filter.Mode, err = optionalInt(query.Get("mode"), "mode", "匹配模式"); err != nil {
		return err
	}
	if filter.DistrictCode != "" && staff.Scope.Level == access.LevelDistrict && filter.DistrictCode != staff.Scope.DistrictCode {
		return access.ErrOutOfScope
	}
	rules, total, err := listRules(ctx, h.DB, staff.Scope, filter, page.Size, page.Offset())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, ListBody{Items: rules, Total: total, Page: page.Number, Size: page.Size})
	return nil
}

// Option is a code or ID with its Chinese name, for the rule dialog's lists.
// Parent is a committee's street code.
type Option struct {
	Value  string `json:"value"`
	Label  string `json:"label"`
	Parent string `json:"parent,omitempty"`
}

// OptionsBody is the response of GET /api/v1/matching/options.
type OptionsBody struct {
	DistrictCode string   `json:"districtCode"`
	CurrentYear  int      `json:"currentYear"`
	Years        []int    `json:"years"`
	Streets      []Option `json:"streets"`
	Committees   []Option `json:"committees"`
	Campuses     []Option `json:"campuses"`
}

// options handles GET /api/v1/matching/options?district=: the years,
// streets, committees and campuses a rule of the district may name.
func (h *Handlers) options(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	district, err := h.districtFor(ctx, staff, r.URL.Query().Get("district"), "district")
	if err != nil {
		return err
	}
	refs, err := loadReferences(ctx, h.DB, district)
	if err != nil {
		return err
	}
	year, err := currentYear(ctx, h.DB)
	if err != nil {
		return err
	}

	body := OptionsBody{DistrictCode: district, CurrentYear: year, Years: []int{}, Streets: []Option{}, Committees: []Option{}, Campuses: []Option{}}
	for year := range refs.years {
		body.Years = append(body.Years, year)
	}
	for code, name := range refs.streets {
		body.Streets = append(body.Streets, Option{Value: code, Label: name})
	}
	for code, committee := range refs.committees {
		body.Committees = append(body.Committees, Option{Value: code, Label: committee.name, Parent: committee.streetCode})
	}
	for id, campus := range refs.campuses {
		body.Campuses = append(body.Campuses, Option{Value: strconv.FormatInt(id, 10), Label: campus.kindergarten + "（" + campus.name + "）"})
	}

	slices.Sort(body.Years)
	for _, options := range [][]Option{body.Streets, body.Committees} {
		slices.SortFunc(options, func(a, b Option) int { return strings.Compare(a.Value, b.Value) })
	}
	slices.SortFunc(body.Campuses, func(a, b Option) int { return strings.Compare(a.Label, b.Label) })
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// create handles POST /api/v1/matching/rules.
func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	var input RuleInput
	if err := httpx.DecodeJSON(r, maxBodyBytes, &input); err != nil {
		return err
	}
	refs, err := h.referencesFor(ctx, staff, &input)
	if err != nil {
		return err
	}
	row, problems := refs.check(input)
	if len(problems) > 0 {
		return invalidRule(problems)
	}
	keys, err := existingKeys(ctx, h.DB, row.DistrictCode, row.Year)
	if err != nil {
		return err
	}
	if id, found := keys[row.key()]; found {
		return errDuplicateRule(id)
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id, err := insertRule(ctx, tx, row)
	if err != nil {
		return err
	}
	rule, err := getRule(ctx, tx, staff.Scope, id, false)
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionCreate, rule, nil, rule); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, ActionCreate, rule.ID)
	httpx.WriteJSON(w, http.StatusCreated, rule)
	return nil
}

// update handles PUT /api/v1/matching/rules/{id}. The rule keeps its
// district.
func (h *Handlers) update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var input RuleInput
	if err := httpx.DecodeJSON(r, maxBodyBytes, &input); err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	before, err := getRule(ctx, tx, staff.Scope, id, true)
	if err != nil {
		return err
	}
	if input.DistrictCode != "" && input.DistrictCode != before.DistrictCode {
		return apierror.Invalid("districtCode", "district_fixed", "匹配规则不能改到其他区，请在该区新建规则。")
	}
	input.DistrictCode = before.DistrictCode
	refs, err := h.referencesFor(ctx, staff, &input)
	if err != nil {
		return err
	}
	row, problems := refs.check(input)
	if len(problems) > 0 {
		return invalidRule(problems)
	}
	keys, err := existingKeys(ctx, tx, row.DistrictCode, row.Year)
	if err != nil {
		return err
	}
	if other, found := keys[row.key()]; found && other != id {
		return errDuplicateRule(other)
	}
	if err := updateRule(ctx, tx, id, row); err != nil {
		return err
	}
	after, err := getRule(ctx, tx, staff.Scope, id, false)
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionUpdate, after, before, after); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, ActionUpdate, id)
	httpx.WriteJSON(w, http.StatusOK, after)
	return nil
}

// delete handles DELETE /api/v1/matching/rules/{id}.
func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) error {
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
	before, err := getRule(ctx, tx, staff.Scope, id, true)
	if err != nil {
		return err
	}
	if !staff.Scope.AllowsDistrict(before.DistrictCode) {
		return access.ErrOutOfScope
	}

	if err := deleteRule(ctx, tx, id); err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionDelete, before, before, nil); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, ActionDelete, id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// referencesFor fills in the staff member's own district and the current
// year when the input leaves them empty, checks the district is in scope,
// and loads its references.
func (h *Handlers) referencesFor(ctx context.Context, staff *access.Staff, input *RuleInput) (*references, error) {
	district, err := h.districtFor(ctx, staff, input.DistrictCode, "districtCode")
	if err != nil {
		return nil, err
	}
	input.DistrictCode = district
	if input.Year == 0 {
		if input.Year, err = currentYear(ctx, h.DB); err != nil {
			return nil, err
		}
	}
	return loadReferences(ctx, h.DB, district)
}

// districtFor returns the district a write or a validation applies to: the
// requested one, or the staff member's own. Only city and district staff
// may name a district.
func (h *Handlers) districtFor(ctx context.Context, staff *access.Staff, requested, field string) (string, error) {
	requested = strings.TrimSpace(requested)
	if requested == "" && staff.Scope.Level == access.LevelDistrict {
		requested = staff.Scope.DistrictCode
	}
	if requested == "" {
		return "", apierror.Invalid(field, "missing_district", "请选择区。")
	}
	if !staff.Scope.AllowsDistrict(requested) {
		return "", access.ErrOutOfScope
	}
	var exists bool
	if err := h.DB.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`, requested); err != nil {
		return "", err
	}
	if !exists {
		return "", apierror.Invalid(field, "district_not_found", "未找到该区，请重新选择。")
	}
	return requested, nil
}

// invalidRule returns the first problem as the error, with the other problems in
// its detail under the field names.
func invalidRule(problems []FieldError) error {
	err := apierror.Invalid(problems[0].Field, problems[0].Code, problems[0].Message)
	for _, problem := range problems[1:] {
		err = err.WithDetail(problem.Field, problem.Message)
	}
	return err
}

// record appends the audit event of a change inside its transaction.
func (h *Handlers) record(ctx context.Context, tx *sqlx.Tx, r *http.Request, staff *access.Staff, action string,
	rule Rule, before, after any) error {
	event := audit.Event{
		Action: action, Resource: resource, ResourceID: strconv.FormatInt(rule.ID, 10),
		DistrictCode: rule.DistrictCode, Outcome: audit.OutcomeSuccess, Before: before, After: after,
		Detail: "mode " + strconv.Itoa(rule.Mode),
	}
	return h.Trail.RecordTx(ctx, tx, r, staff, event)
}

// republish publishes the edge snapshot after a committed change. A failure
// is logged and not returned, because the change itself is saved.
func (h *Handlers) republish(ctx context.Context, action string, id int64) {
	if h.Publisher == nil {
		return
	}
	if _, err := h.Publisher.Publish(context.WithoutCancel(ctx)); err != nil {
		slog.Error("edge snapshot not republished after a matching rule change; the edge matches with the old rules until the next publication",
			"action", action, "rule_id", id, "error", err)
	}
}

func parseID(value string) (int64, error) {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil || id <= 0 {
		return 0, errRuleNotFound
	}
	return id, nil
}

func optionalInt(value, field, label string) (int, error) {
	if value == "" {
		return 0, nil
	}
	number, err := strconv.Atoi(value)
	if err != nil || number < 0 {
		return 0, apierror.Invalid(field, "invalid_"+field, label+"应为正整数。")
	}
	return number, nil
}
