package systemstate

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/dashboard/alerts"
	"github.com/sh-preschool/preschool/backoffice/httpx"
)

// Handlers serve the system state panel. The links and visits are
// city-wide infrastructure and traffic that belong to no district, so
// every dashboard viewer sees them. The servers are shown only to city
// staff, because host names and resource use are operations data.
type Handlers struct {
	Store *Store
	// Thresholds returns the alert thresholds, which hold the server
	// thresholds.
	Thresholds func(ctx context.Context) ([]alerts.Threshold, error)
	Now        func() time.Time
}

// State is the system state panel's links and servers.
type State struct {
	CheckedAt time.Time `json:"checkedAt"`
	Links     []Link    `json:"links"`
	// Servers is nil, and ServersVisible false, for viewers below the city.
	Servers        []Server           `json:"servers"`
	ServersVisible bool               `json:"serversVisible"`
	Thresholds     []alerts.Threshold `json:"thresholds"`
}

// Routes mounts the handlers. The caller requires dashboard.read.
func (h *Handlers) Routes(r chi.Router) {
	r.Get("/dashboard/system", httpx.Handle(h.state))
	r.Get("/dashboard/system/visits", httpx.Handle(h.visits))
}

// state handles GET /dashboard/system.
func (h *Handlers) state(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	now := h.Now()
	heartbeats, err := h.Store.Heartbeats(ctx)
	if err != nil {
		return err
	}
	state := State{CheckedAt: now, Links: Links(heartbeats, now), Thresholds: []alerts.Threshold{}}
	if access.StaffFrom(ctx).Scope.Level == access.LevelCity {
		thresholds, err := h.Thresholds(ctx)
		if err != nil {
			return err
		}
		for _, threshold := range thresholds {
			switch threshold.Code {
			case ThresholdCPU, ThresholdMemory, ThresholdDisk, ThresholdLatency:
				state.Thresholds = append(state.Thresholds, threshold)
			}
		}
		state.Servers, state.ServersVisible = Servers(heartbeats, thresholds, now), true
	}
	httpx.WriteJSON(w, http.StatusOK, state)
	return nil
}

// visits handles GET /dashboard/system/visits.
func (h *Handlers) visits(w http.ResponseWriter, r *http.Request) error {
	result, err := h.Store.Visits(r.Context(), h.Now())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, result)
	return nil
}
