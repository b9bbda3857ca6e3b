package dictionary

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/audit"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

// Permissions of the dictionary API.
const (
	PermissionRead  = "dictionary.read"
	PermissionWrite = "dictionary.write"
)

// Audited actions.
const (
	ActionCreate = "dictionary.item.create"
	ActionUpdate = "dictionary.item.update"
	ActionDelete = "dictionary.item.delete"
	resource     = "dictionary_item"
)

// maxBodyBytes limits an item's request body.
const maxBodyBytes = 4 << 10

// Publisher publishes the edge's configuration snapshot, as
// *publish.Publisher does.
type Publisher interface {
	Publish(ctx context.Context) (*snapshot.Snapshot, error)
}

// Handlers serve the dictionary API.
type Handlers struct {
	DB    *sqlx.DB
	Trail *audit.Trail
	// Publisher, when not nil, republishes the edge snapshot after every
	// change, so parents see the new items at once. With nil the edge keeps
	// the old items until the next publication.
	Publisher Publisher
}

// Routes mounts the handlers, each group behind its permission. The caller
// mounts them under /api/v1 behind the session middleware.
func (h *Handlers) Routes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionRead))
		r.Get("/dictionaries", httpx.Handle(h.list))
		r.Get("/dictionaries/{code}/items", httpx.Handle(h.items))
	})
	r.Group(func(r chi.Router) {
		r.Use(access.Require(PermissionWrite))
		r.Post("/dictionaries/{code}/items", httpx.Handle(h.create))
		r.Put("/dictionaries/{code}/items/{id}", httpx.Handle(h.update))
		r.Delete("/dictionaries/{code}/items/{id}", httpx.Handle(h.delete))
	})
}

// list handles GET /api/v1/dictionaries.
func (h *Handlers) list(w http.ResponseWriter, r *http.Request) error {
	staff := access.StaffFrom(r.Context())
	summaries, err := listDictionaries(r.Context(), h.DB, staff.Scope)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": summaries})
	return nil
}

// EditableItem is a stored item with whether the signed-in staff member may
// change it. ReplacesCity marks a district's override of a city item.
type EditableItem struct {
	Item
	ReplacesCity bool `json:"replacesCity"`
	Editable     bool `json:"editable"`
}

// ItemsBody is the response of GET /api/v1/dictionaries/{code}/items.
type ItemsBody struct {
	Dictionary   Dictionary `json:"dictionary"`
	DistrictCode string     `json:"districtCode,omitempty"`
	// Items are the effective items, the options of the district's forms in
	// display order.
	Items []EffectiveItem `json:"items"`
	// CityItems are all city items, disabled ones too.
	CityItems []EditableItem `json:"cityItems"`
	// Overrides are all of the district's own items, disabled ones too.
	Overrides []EditableItem `json:"overrides"`
}

// items handles GET /api/v1/dictionaries/{code}/items?district=. Without a
// district a district's staff member gets their own district, anyone else
// the city items. Dictionaries are public reference data (the edge serves
// every district's items to parents), so any district may be read.
func (h *Handlers) items(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	dictionary, err := getDictionary(ctx, h.DB, chi.URLParam(r, "code"))
	if err != nil {
		return err
	}
	district := r.URL.Query().Get("district")
	if district == "" && staff.Scope.Level == access.LevelDistrict {
		district = staff.Scope.DistrictCode
	}
	if district != "" {
		if err := checkDistrict(ctx, h.DB, district, "district"); err != nil {
			return err
		}
	}
	city, overrides, err := listItems(ctx, h.DB, staff.Scope, dictionary.Code, district)
	if err != nil {
		return err
	}

	canWrite := staff.Can(PermissionWrite)
	body := ItemsBody{Dictionary: dictionary, DistrictCode: district, CityItems: []EditableItem{}, Overrides: []EditableItem{}}
	cityValues := map[string]bool{}
	var cityItems, overrideItems []Item
	for _, stored := range city {
		cityValues[stored.Value] = true
		cityItems = append(cityItems, stored.Item)
		body.CityItems = append(body.CityItems, EditableItem{Item: stored.Item, Editable: canWrite && stored.InScope})
	}
	for _, stored := range overrides {
		overrideItems = append(overrideItems, stored.Item)
		body.Overrides = append(body.Overrides, EditableItem{
			Item: stored.Item, ReplacesCity: cityValues[stored.Value], Editable: canWrite && stored.InScope,
		})
	}
	body.Items = effectiveItems(cityItems, overrideItems, district)
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}

// createRequest is the body of POST /api/v1/dictionaries/{code}/items. An
// empty DistrictCode means a city item, or the staff member's own district
// for district staff.
type createRequest struct {
	DistrictCode string `json:"districtCode"`
	Value        string `json:"value"`
	Label        string `json:"label"`
	SortOrder    *int   `json:"sortOrder"`
	Enabled      *bool  `json:"enabled"`
}

// updateRequest is the body of PUT /api/v1/dictionaries/{code}/items/{id}.
// The value identifies the item across the city and the districts, so it
// cannot change; Value may repeat it. A missing SortOrder or Enabled keeps
// the stored one.
type updateRequest struct {
	Value     *string `json:"value"`
	Label     string  `json:"label"`
	SortOrder *int    `json:"sortOrder"`
	Enabled   *bool   `json:"enabled"`
}

// create handles POST /api/v1/dictionaries/{code}/items.
func (h *Handlers) create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	dictionary, err := getDictionary(ctx, h.DB, chi.URLParam(r, "code"))
	if err != nil {
		return err
	}
	var request createRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	item := Item{
		DictionaryCode: dictionary.Code, DistrictCode: strings.TrimSpace(request.DistrictCode),
		Value: strings.TrimSpace(request.Value), Label: strings.TrimSpace(request.Label), Enabled: true,
	}
	if request.Enabled != nil {
		item.Enabled = *request.Enabled
	}
	if err := ValidateValue(item.Value); err != nil {
		return err
	}
	if err := ValidateLabel(item.Label); err != nil {
		return err
	}
	if request.SortOrder != nil {
		if err := validateSortOrder(*request.SortOrder); err != nil {
			return err
		}
		item.SortOrder = *request.SortOrder
	}
	if item.DistrictCode == "" && staff.Scope.Level == access.LevelDistrict {
		item.DistrictCode = staff.Scope.DistrictCode
	}
	if item.DistrictCode != "" {
		if err := checkDistrict(ctx, h.DB, item.DistrictCode, "districtCode"); err != nil {
			return err
		}
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if request.SortOrder == nil {
		if item.SortOrder, err = defaultSortOrder(ctx, tx, item.DictionaryCode, item.DistrictCode, item.Value); err != nil {
			return err
		}
	}
	item, err = insertItem(ctx, tx, staff.Scope, item)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionCreate, item, nil, item.state()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, item)
	httpx.WriteJSON(w, http.StatusCreated, item)
	return nil
}

// update handles PUT /api/v1/dictionaries/{code}/items/{id}.
func (h *Handlers) update(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	dictionary, err := getDictionary(ctx, h.DB, chi.URLParam(r, "code"))
	if err != nil {
		return err
	}
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	var request updateRequest
	if err := httpx.DecodeJSON(r, maxBodyBytes, &request); err != nil {
		return err
	}
	label := strings.TrimSpace(request.Label)
	if err := ValidateLabel(label); err != nil {
		return err
	}
	if request.SortOrder != nil {
		if err := validateSortOrder(*request.SortOrder); err != nil {
			return err
		}
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	item, inScope, err := lockItem(ctx, tx, staff.Scope, dictionary.Code, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}
	if request.Value != nil && strings.TrimSpace(*request.Value) != item.Value {
		return apierror.Invalid("value", "value_unchangeable", "字典项的值保存后不能修改；如需更换，请停用该项后新增。")
	}
	before := item.state()
	item.Label = label
	if request.SortOrder != nil {
		item.SortOrder = *request.SortOrder
	}
	if request.Enabled != nil {
		item.Enabled = *request.Enabled
	}
	item, err = updateItem(ctx, tx, staff.Scope, item)
	if errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	}
	if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionUpdate, item, before, item.state()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, item)
	httpx.WriteJSON(w, http.StatusOK, item)
	return nil
}

// delete handles DELETE /api/v1/dictionaries/{code}/items/{id}. Deleting a
// district's override brings the city item back in that district.
func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	dictionary, err := getDictionary(ctx, h.DB, chi.URLParam(r, "code"))
	if err != nil {
		return err
	}
	id, err := parseID(chi.URLParam(r, "id"))
	if err != nil {
		return err
	}

	tx, err := h.DB.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	item, inScope, err := lockItem(ctx, tx, staff.Scope, dictionary.Code, id)
	if err != nil {
		return err
	}
	if !inScope {
		return access.ErrOutOfScope
	}
	if err := deleteItem(ctx, tx, staff.Scope, item.ID); errors.Is(err, errOutOfScope) {
		return access.ErrOutOfScope
	} else if err != nil {
		return err
	}
	if err := h.record(ctx, tx, r, staff, ActionDelete, item, item.state(), nil); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	h.republish(ctx, item)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// record appends the audit event of a change inside its transaction.
func (h *Handlers) record(ctx context.Context, tx *sqlx.Tx, r *http.Request, staff *access.Staff, action string,
	item Item, before, after any) error {
	event := audit.Event{
		Action: action, Resource: resource, ResourceID: strconv.FormatInt(item.ID, 10),
		DistrictCode: item.DistrictCode, Before: before, After: after, Detail: item.DictionaryCode + "/" + item.Value,
	}
	return h.Trail.RecordTx(ctx, tx, r, staff, event)
}

// republish publishes the edge snapshot after a committed change. A failure
// is logged and not returned, because the change itself is saved.
func (h *Handlers) republish(ctx context.Context, item Item) {
	if h.Publisher == nil {
		return
	}
	if _, err := h.Publisher.Publish(context.WithoutCancel(ctx)); err != nil {
		slog.Error("edge snapshot not republished after a dictionary change; the edge serves the old items until the next publication",
			"dictionary", item.DictionaryCode, "item_id", item.ID, "error", err)
	}
}
