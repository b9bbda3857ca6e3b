package enrolment

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
)

// WindowState is whether one stage is open now, with its window.
type WindowState struct {
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Open     bool      `json:"open"`
	OpensAt  time.Time `json:"opensAt"`
	ClosesAt time.Time `json:"closesAt"`
}

// SystemState is the registration window of the year and each district's
// application window, as the stored windows and published entries give
// them.
type SystemState struct {
	Year         int           `json:"year"`
	Registration WindowState   `json:"registration"`
	Districts    []WindowState `json:"districts"`
}

// State returns the system state of the year at now. A district's
// application system is open when any of its published entries is inside
// its window (the year's application window unless the entry sets its
// own).
func (s *Store) State(ctx context.Context, year int, now time.Time, scope access.Scope) (SystemState, error) {
	state := SystemState{Year: year}
	err := s.DB.QueryRowContext(ctx, `SELECT registration_opens_at, registration_closes_at FROM enrolment_year WHERE year = $1`, year).
		Scan(&state.Registration.OpensAt, &state.Registration.ClosesAt)
	if err != nil {
		return state, fmt.Errorf("registration window of %d: %w", year, err)
	}
	state.Registration.Code, state.Registration.Name = "registration", "信息登记"
	state.Registration.Open = !now.Before(state.Registration.OpensAt) && now.Before(state.Registration.ClosesAt)

	condition := scope.Filter(access.Columns{Districts: []string{"d.code"}}, 3)
	var rows []struct {
		Code     string    `db:"code"`
		Name     string    `db:"name"`
		OpensAt  time.Time `db:"opens_at"`
		ClosesAt time.Time `db:"closes_at"`
		Open     bool      `db:"open"`
	}
	err = s.DB.SelectContext(ctx, &rows, `
		SELECT d.code, d.name,
		       COALESCE(min(COALESCE(e.opens_at, y.application_opens_at)), y.application_opens_at) AS opens_at,
		       COALESCE(max(COALESCE(e.closes_at, y.application_closes_at)), y.application_closes_at) AS closes_at,
		       COALESCE(bool_or(COALESCE(e.opens_at, y.application_opens_at) <= $2 AND $2 < COALESCE(e.closes_at, y.application_closes_at)), false) AS open
		FROM district d
		CROSS JOIN enrolment_year y
		LEFT JOIN entry e ON e.district_code = d.code AND e.enrolment_year = y.year AND e.published
		WHERE y.year = $1 AND `+condition.SQL+`
		GROUP BY d.code, d.name, d.sort_order, y.application_opens_at, y.application_closes_at
		ORDER BY d.sort_order`, append([]any{int16(year), now}, condition.Args...)...)
	if err != nil {
		return state, fmt.Errorf("application windows of %d: %w", year, err)
	}
	for _, row := range rows {
		state.Districts = append(state.Districts, WindowState{Code: row.Code, Name: row.Name, Open: row.Open, OpensAt: row.OpensAt, ClosesAt: row.ClosesAt})
	}
	return state, nil
}

// state handles GET /dashboard/enrolment/state.
func (h *Handlers) state(w http.ResponseWriter, r *http.Request) error {
	q, err := h.parseQuery(r)
	if err != nil {
		return err
	}
	state, err := h.Store.State(r.Context(), q.Year, h.now(), q.Scope)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, state)
	return nil
}
