// Package entrystate opens and closes enrolment: the city opens and closes
// registration for a year, each district the application window of its
// entries. A switch moves the stored window's start or end to now, so the
// stored times record when registration or application actually opened
// and closed. The change reaches the edge through the snapshot it already
// reads. It is published at once, and the edge's pre-check rejects
// submissions outside the window with registration_closed or
// application_closed.
package entrystate

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
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Permissions: reading needs enrolment.read, switching enrolment.write.
const (
	PermissionRead  = "enrolment.read"
	PermissionWrite = "enrolment.write"
)

// Audited actions.
const (
	ActionRegistration = "entry_state.registration"
	ActionApplication  = "entry_state.application"
)

const maxBodyBytes = 4 << 10

// minimumOpenFor is the shortest window an opening may set.
const minimumOpenFor = time.Minute

var (
	errYearNotFound = apierror.New(http.StatusNotFound, "enrolment_year_not_found", "未找到该招生年度。")
	errCityOnly     = apierror.New(http.StatusForbidden, "registration_switch_city_only", "信息登记的开放和关闭由市级管理员操作。")
	errNoEntries    = apierror.New(http.StatusNotFound, "entries_not_found", "该区在本年度没有符合条件的报名入口。")
	errClosesAt     = apierror.Invalid("closesAt", "closes_at_required",
		"原定截止时间已过，开放时请设置新的截止时间（至少在 1 分钟之后）。")
)

// Publisher publishes the edge's configuration snapshot, as
// *publish.Publisher does.
type Publisher interface {
	Publish(ctx context.Context) (*snapshot.Snapshot, error)
}

// Handlers serve the entry states.
type Handlers struct {
	DB        *sqlx.DB
	Trail     *audit.Trail
	Publisher Publisher
	// DistrictName returns a district's Chinese name.
	DistrictName func(code string) (string, bool)
	Now          func() time.Time
}

// Routes mounts the handlers under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/entry-states", httpx.Handle(h.get))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Put("/entry-states/{year}/registration", httpx.Handle(h.switchRegistration))
		r.Put("/entry-states/{year}/districts/{district}/application", httpx.Handle(h.switchApplication))
	})
}

// Window is a window with whether it is open now.
type Window struct {
	OpensAt  time.Time `json:"opensAt"`
	ClosesAt time.Time `json:"closesAt"`
	Open     bool      `json:"open"`
}

func window(opens, closes, now time.Time) Window {
	return Window{OpensAt: opens, ClosesAt: closes, Open: !now.Before(opens) && now.Before(closes)}
}

// EntryState is one entry's application window. OwnWindow is false when
// the entry uses the year's application window.
type EntryState struct {
	ID           int64  `json:"id"`
	CategoryCode string `json:"categoryCode"`
	CategoryName string `json:"categoryName"`
	Window
	OwnWindow bool `json:"ownWindow"`
}

// DistrictState is a district's entries; Open is true when any is open.
type DistrictState struct {
	Code    string       `json:"code"`
	Name    string       `json:"name"`
	Open    bool         `json:"open"`
	Entries []EntryState `json:"entries"`
}

// State is the body of GET /api/v1/entry-states.
type State struct {
	Year         int             `json:"year"`
	Now          time.Time       `json:"now"`
	Registration Window          `json:"registration"`
	Application  Window          `json:"application"`
	Districts    []DistrictState `json:"districts"`
	// Published is false when the change was saved but the edge snapshot
	// could not be published. The edge then keeps the old state until the
	// next publication.
	Published *bool `json:"published,omitempty"`
}

type yearRow struct {
	Year                 int       `db:"year"`
	RegistrationOpensAt  time.Time `db:"registration_opens_at"`
	RegistrationClosesAt time.Time `db:"registration_closes_at"`
	ApplicationOpensAt   time.Time `db:"application_opens_at"`
	ApplicationClosesAt  time.Time `db:"application_closes_at"`
}

type entryRow struct {
	ID           int64        `db:"id"`
	DistrictCode string       `db:"district_code"`
	CategoryCode string       `db:"category_code"`
	CategoryName string       `db:"category_name"`
	OpensAt      sql.NullTime `db:"opens_at"`
	ClosesAt     sql.NullTime `db:"closes_at"`
}

// effective returns the entry's window: its own times where set, else the
// year's, as the edge computes it.
func (e entryRow) effective(year yearRow) (time.Time, time.Time) {
	opens, closes := year.ApplicationOpensAt, year.ApplicationClosesAt
	if e.OpensAt.Valid {
		opens = e.OpensAt.Time
	}
	if e.ClosesAt.Valid {
		closes = e.ClosesAt.Time
	}
	return opens, closes
}

const yearSelect = `
	SELECT year, registration_opens_at, registration_closes_at, application_opens_at, application_closes_at
	FROM enrolment_year`

// loadYear reads a year, or the latest when year is 0; lock takes a row
// lock for a switch.
func loadYear(ctx context.Context, q sqlx.QueryerContext, year int, lock bool) (yearRow, error) {
	query := yearSelect + ` WHERE year = $1`
	args := []any{year}
	if year == 0 {
		query, args = yearSelect+` ORDER BY year DESC LIMIT 1`, nil
	}
	if lock {
		query += ` FOR UPDATE`
	}
	var row yearRow
	err := sqlx.GetContext(ctx, q, &row, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return row, errYearNotFound
	}
	return row, err
}

// loadEntries reads a year's published entries within the scope, and of
// one district when district is not empty.
func loadEntries(ctx context.Context, q sqlx.QueryerContext, scope access.Scope, year int, district string, lock bool) ([]entryRow, error) {
	condition := scope.Filter(access.Columns{Districts: []string{"e.district_code"}}, 3)
	query := `
		SELECT e.id, e.district_code, e.category_code, c.name AS category_name, e.opens_at, e.closes_at
		FROM entry e JOIN household_category c ON c.code = e.category_code
		WHERE e.enrolment_year = $1 AND e.published AND ($2 = '' OR e.district_code = $2) AND ` + condition.SQL + `
		ORDER BY e.district_code, c.sort_order, e.id`
	if lock {
		query += ` FOR UPDATE OF e`
	}
	var rows []entryRow
	err := sqlx.SelectContext(ctx, q, &rows, query, append([]any{year, district}, condition.Args...)...)
	return rows, err
}

// get handles GET /api/v1/entry-states?year=: the year's registration
// window and the application windows of the districts in scope.
func (h *Handlers) get(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	year := 0
	if value := r.URL.Query().Get("year"); value != "" {
		parsed, err := strconv.Atoi(value)
		if err != nil || parsed < 2000 || parsed > 2100 {
			return apierror.Invalid("year", "invalid_year", "年度应为 2000 至 2100 之间的四位数字，如 2026。")
		}
		year = parsed
	}
	state, err := h.state(ctx, h.DB, staff.Scope, year)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, state)
	return nil
}

func (h *Handlers) state(ctx context.Context, q sqlx.QueryerContext, scope access.Scope, year int) (State, error) {
	row, err := loadYear(ctx, q, year, false)
	if err != nil {
		return State{}, err
	}
	entries, err := loadEntries(ctx, q, scope, row.Year, "", false)
	if err != nil {
		return State{}, err
	}
	now := h.Now()
	state := State{
		Year: row.Year, Now: now,
		Registration: window(row.RegistrationOpensAt, row.RegistrationClosesAt, now),
		Application:  window(row.ApplicationOpensAt, row.ApplicationClosesAt, now),
		Districts:    []DistrictState{},
	}
	for _, entry := range entries {
		if len(state.Districts) == 0 || state.Districts[len(state.Districts)-1].Code != entry.DistrictCode {
			name, _ := h.DistrictName(entry.DistrictCode)
			state.Districts = append(state.Districts, DistrictState{Code: entry.DistrictCode, Name: name, Entries: []EntryState{}})
		}
		district := &state.Districts[len(state.Districts)-1]
		opens, closes := entry.effective(row)
		entryState := EntryState{
			ID: entry.ID, CategoryCode: entry.CategoryCode, CategoryName: entry.CategoryName,
			Window: window(opens, closes, now), OwnWindow: entry.OpensAt.Valid || entry.ClosesAt.Valid,
		}
		district.Entries = append(district.Entries, entryState)
		district.Open = district.Open || entryState.Open
	}
	return state, nil
}

// switchRequest is the body of both switches. ClosesAt sets the end of an
// opened window; without it the stored end is kept, which must then lie in
// the future. EntryIDs limits a district's switch to some of its entries.
type switchRequest struct {
	Open     *bool      `json:"open"`
	ClosesAt *time.Time `json:"closesAt"`
	EntryIDs []int64    `json:"entryIds"`
}

func decodeSwitch(r *http.Request) (switchRequest, error) {
	var request switchRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return request, err
	}
	if request.Open == nil {
		return request, apierror.Invalid("open", "open_required", "请指定开放（true）或关闭（false）。")
	}
	return request, nil
}

// switched computes a window after a switch at now. Opening starts the
// window now unless it is open already; closing ends it now, and moves a
// start still in the future to now too.
func switched(opens, closes time.Time, request switchRequest, now time.Time) (time.Time, time.Time, error) {
	if !*request.Open {
		if !closes.After(now) {
			return opens, closes, nil
		}
		if opens.After(now) {
			opens = now
		}
		return opens, now, nil
	}
	if request.ClosesAt != nil {
		if request.ClosesAt.Before(now.Add(minimumOpenFor)) {
			return opens, closes, apierror.Invalid("closesAt", "invalid_closes_at", "截止时间应至少在 1 分钟之后。")
		}
		closes = *request.ClosesAt
	} else if closes.Before(now.Add(minimumOpenFor)) {
		return opens, closes, errClosesAt
	}
	if opens.After(now) {
		opens = now
	}
	return opens, closes, nil
}

func parseYear(value string) (int, error) {
	year, err := strconv.Atoi(value)
	if err != nil || year < 2000 || year > 2100 {
		return 0, apierror.Invalid("year", "invalid_year", "年度应为 2000 至 2100 之间的四位数字，如 2026。")
	}
	return year, nil
}

// switchRegistration handles PUT /api/v1/entry-states/{year}/registration:
// the city opens or closes registration.
func (h *Handlers) switchRegistration(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	if staff.Scope.Level != access.LevelCity {
		return errCityOnly
	}
	year, err := parseYear(chi.URLParam(r, "year"))
	if err != nil {
		return err
	}
	request, err := decodeSwitch(r)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row, err := loadYear(ctx, tx, year, true)
	if err != nil {
		return err
	}
	now := h.Now().UTC().Truncate(time.Microsecond)
	opens, closes, err := switched(row.RegistrationOpensAt, row.RegistrationClosesAt, request, now)
	if err != nil {
		return err
	}
	// The year's CHECK wants the start strictly before the end, so a
	// window closed before it opened gets a start a second earlier.
	if !opens.Before(closes) {
		opens = closes.Add(-time.Second)
	}
	const q = `UPDATE enrolment_year SET registration_opens_at = $2, registration_closes_at = $3 WHERE year = $1`
	if _, err := tx.ExecContext(ctx, q, year, opens, closes); err != nil {
		return err
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionRegistration, Resource: "enrolment_year", ResourceID: strconv.Itoa(year),
		Before: window(row.RegistrationOpensAt, row.RegistrationClosesAt, now),
		After:  window(opens, closes, now),
		Detail: switchDetail("信息登记", *request.Open),
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return h.respond(w, r, staff, year)
}

// switchApplication handles PUT
// /api/v1/entry-states/{year}/districts/{district}/application: a district
// opens or closes the application window of its entries (all of them, or
// those in entryIds).
func (h *Handlers) switchApplication(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	year, err := parseYear(chi.URLParam(r, "year"))
	if err != nil {
		return err
	}
	district := chi.URLParam(r, "district")
	if _, ok := h.DistrictName(district); !ok {
		return apierror.Invalid("district", "unknown_district", "区代码无效："+district+"。")
	}
	if !staff.Scope.AllowsDistrict(district) {
		return access.ErrOutOfScope
	}
	request, err := decodeSwitch(r)
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	row, err := loadYear(ctx, tx, year, false)
	if err != nil {
		return err
	}
	entries, err := loadEntries(ctx, tx, staff.Scope, year, district, true)
	if err != nil {
		return err
	}
	if len(request.EntryIDs) > 0 {
		entries, err = selectEntries(entries, request.EntryIDs)
		if err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return errNoEntries
	}
	if *request.Open {
		if err := checkRoundOpen(ctx, tx, year, district); err != nil {
			return err
		}
	}

	now := h.Now().UTC().Truncate(time.Microsecond)
	type change struct {
		EntryID int64  `json:"entryId"`
		Before  Window `json:"before"`
		After   Window `json:"after"`
	}
	changes := make([]change, 0, len(entries))
	for _, entry := range entries {
		beforeOpens, beforeCloses := entry.effective(row)
		opens, closes, err := switched(beforeOpens, beforeCloses, request, now)
		if err != nil {
			return err
		}
		const q = `UPDATE entry SET opens_at = $2, closes_at = $3 WHERE id = $1`
		if _, err := tx.ExecContext(ctx, q, entry.ID, opens, closes); err != nil {
			return err
		}
		changes = append(changes, change{EntryID: entry.ID, Before: window(beforeOpens, beforeCloses, now), After: window(opens, closes, now)})
	}
	err = h.Trail.RecordTx(ctx, tx, r, staff, audit.Event{
		Action: ActionApplication, Resource: "district_application_window", ResourceID: strconv.Itoa(year) + "/" + district,
		DistrictCode: district, After: changes, Detail: switchDetail("报名", *request.Open),
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return h.respond(w, r, staff, year)
}

// errAdmissionConfirmed refuses to open a district's application window
// after its admission list is confirmed: the round cannot be proposed
// again, so an application made then would never get an outcome.
var errAdmissionConfirmed = apierror.New(http.StatusConflict, "admission_confirmed",
	"本区本年度录取名单已确认，不能再开放报名，否则新报名的幼儿将无法获得录取结果。尚未报名的幼儿可由区招生部门补报名到有空余学位的园所。")

// checkRoundOpen returns errAdmissionConfirmed when the district's
// admission round of the year is confirmed. It locks the round's row, so a
// confirmation cannot commit between this check and the window's opening.
func checkRoundOpen(ctx context.Context, tx *sqlx.Tx, year int, district string) error {
	var confirmed bool
	err := tx.GetContext(ctx, &confirmed, `
		SELECT status = 'confirmed' FROM admission_round
		WHERE enrolment_year = $1 AND district_code = $2
		FOR SHARE`, year, district)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if confirmed {
		slog.Info("application window not reopened: the admission list is confirmed", "year", year, "district", district)
		return errAdmissionConfirmed
	}
	return nil
}

func selectEntries(entries []entryRow, ids []int64) ([]entryRow, error) {
	byID := make(map[int64]entryRow, len(entries))
	for _, entry := range entries {
		byID[entry.ID] = entry
	}
	selected := make([]entryRow, 0, len(ids))
	for i, id := range ids {
		entry, ok := byID[id]
		if !ok {
			return nil, apierror.Invalid("entryIds["+strconv.Itoa(i)+"]", "entry_not_in_district",
				"报名入口 "+strconv.FormatInt(id, 10)+" 不属于该区或该年度。")
		}
		selected = append(selected, entry)
	}
	return selected, nil
}

func switchDetail(what string, open bool) string {
	if open {
		return "开放" + what
	}
	return "关闭" + what
}

// respond publishes the snapshot and writes the new state as the response.
func (h *Handlers) respond(w http.ResponseWriter, r *http.Request, staff *access.Staff, year int) error {
	ctx := r.Context()
	published := true
	if _, err := h.Publisher.Publish(context.WithoutCancel(ctx)); err != nil {
		published = false
		slog.Error("edge snapshot not published after an entry state change; the edge keeps the old state until the next publication",
			"year", year, "error", err)
	}
	state, err := h.state(ctx, h.DB, staff.Scope, year)
	if err != nil {
		return err
	}
	state.Published = &published
	httpx.WriteJSON(w, http.StatusOK, state)
	return nil
}
