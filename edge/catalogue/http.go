package catalogue

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sh-preschool/preschool/edge/api"
	"github.com/sh-preschool/preschool/shared/address"
	"github.com/sh-preschool/preschool/shared/apierror"
	"github.com/sh-preschool/preschool/shared/matching"
	"github.com/sh-preschool/preschool/shared/snapshot"
)

var errNotReady = apierror.New(http.StatusServiceUnavailable, "not_ready", "系统正在启动，请稍后再试。")

// Handlers serve the reference data from the current catalogue.
type Handlers struct {
	Store *Store
	Now   func() time.Time

	mutex        sync.Mutex
	rendered     []byte
	renderedFor  int64
	renderedTill time.Time
}

type yearBody struct {
	snapshot.Year
	RegistrationOpen bool `json:"registrationOpen"`
	ApplicationOpen  bool `json:"applicationOpen"`
}

type publishedForm struct {
	Version int             `json:"version"`
	Body    json.RawMessage `json:"body"`
}

type catalogueBody struct {
	Version    int64                    `json:"version"`
	ServerTime time.Time                `json:"serverTime"`
	Year       *yearBody                `json:"year"`
	Districts  []snapshot.District      `json:"districts"`
	Categories []snapshot.Category      `json:"categories"`
	Forms      map[string]publishedForm `json:"forms"`
}

// GetCatalogue handles GET /api/v1/catalogue. Every page load asks for it,
// so the body is rendered at most once a second.
func (h *Handlers) GetCatalogue(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	now := h.Now()
	h.mutex.Lock()
	defer h.mutex.Unlock()
	if h.rendered == nil || h.renderedFor != c.Version() || now.After(h.renderedTill) {
		body := catalogueBody{
			Version:    c.Version(),
			ServerTime: now,
			Districts:  c.Snapshot.Districts,
			Categories: c.Snapshot.Categories,
			Forms:      map[string]publishedForm{},
		}
		if year, ok := c.CurrentYear(); ok {
			body.Year = &yearBody{
				Year:             year,
				RegistrationOpen: !now.Before(year.RegistrationOpensAt) && now.Before(year.RegistrationClosesAt),
				ApplicationOpen:  !now.Before(year.ApplicationOpensAt) && now.Before(year.ApplicationClosesAt),
			}
		}
		for _, kind := range []string{"registration", "application"} {
			if form, ok := c.Form(kind); ok {
				body.Forms[kind] = publishedForm{Version: form.Version, Body: form.Body}
			}
		}
		rendered, err := json.Marshal(body)
		if err != nil {
			return err
		}
		h.rendered, h.renderedFor, h.renderedTill = rendered, c.Version(), now.Add(time.Second)
	}
	api.WriteRawJSON(ctx, http.StatusOK, h.rendered)
	return nil
}

// GetStreets handles GET /api/v1/districts/{code}/streets.
func (h *Handlers) GetStreets(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	code, _ := ctx.UserValue("code").(string)
	body := c.StreetsJSON(code)
	if body == nil {
		return apierror.New(http.StatusNotFound, "district_not_found", "未找到该区，请刷新页面后重新选择。")
	}
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	api.WriteRawJSON(ctx, http.StatusOK, body)
	return nil
}

// GetCommittees handles GET /api/v1/streets/{code}/committees.
func (h *Handlers) GetCommittees(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	code, _ := ctx.UserValue("code").(string)
	body := c.CommitteesJSON(code)
	if body == nil {
		return apierror.New(http.StatusNotFound, "street_not_found", "未找到该街道（镇），请刷新页面后重新选择。")
	}
	ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
	api.WriteRawJSON(ctx, http.StatusOK, body)
	return nil
}

type entryBody struct {
	ID           int64     `json:"id"`
	CategoryCode string    `json:"categoryCode"`
	CategoryName string    `json:"categoryName"`
	GroupName    string    `json:"groupName"`
	MatchingMode int       `json:"matchingMode"`
	MaxChoices   int       `json:"maxChoices"`
	OpensAt      time.Time `json:"opensAt"`
	ClosesAt     time.Time `json:"closesAt"`
	Open         bool      `json:"open"`
}

// GetEntries handles GET /api/v1/districts/{code}/entries.
func (h *Handlers) GetEntries(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	code, _ := ctx.UserValue("code").(string)
	if _, ok := c.District(code); !ok {
		return apierror.New(http.StatusNotFound, "district_not_found", "未找到该区，请刷新页面后重新选择。")
	}
	now := h.Now()
	entries := c.DistrictEntries(code)
	body := make([]entryBody, 0, len(entries))
	for _, entry := range entries {
		category, _ := c.Category(entry.CategoryCode)
		opens, closes := c.EntryWindow(entry)
		body = append(body, entryBody{
			ID: entry.ID, CategoryCode: entry.CategoryCode, CategoryName: category.Name, GroupName: category.GroupName,
			MatchingMode: entry.MatchingMode, MaxChoices: entry.MaxChoices, OpensAt: opens, ClosesAt: closes,
			Open: !now.Before(opens) && now.Before(closes),
		})
	}
	api.WriteJSON(ctx, http.StatusOK, body)
	return nil
}

// GetMatching handles GET
// /api/v1/matching?district=&street=&committee=&address=&compound=&entry=:
// the campuses matched to an address in the current year. With an entry the
// rules of its matching mode and audience apply, without one the local rules
// of every mode. The detailed address (mode 2, and mode 3 when no compound
// is chosen) is parsed once here. For mode 3 the response also lists the
// committee's compounds.
func (h *Handlers) GetMatching(ctx *fasthttp.RequestCtx) error {
	c := h.Store.Current()
	if c == nil {
		return errNotReady
	}
	args := ctx.QueryArgs()
	district, street, committee := string(args.Peek("district")), string(args.Peek("street")), string(args.Peek("committee"))
	if _, ok := c.District(district); !ok {
		return apierror.Invalid("district", "district_not_found", "未找到该区，请刷新页面后重新选择。")
	}
	if street != "" || committee != "" {
		if s, ok := c.Street(street); !ok || s.DistrictCode != district {
			return apierror.Invalid("street", "division_mismatch", "所选街道（镇）不属于所选的区，请重新选择。")
		}
	}
	if committee != "" {
		if found, ok := c.Committee(committee); !ok || found.StreetCode != street {
			return apierror.Invalid("committee", "division_mismatch", "所选居（村）委不属于所选街道（镇），请重新选择。")
		}
	}
	year, ok := c.CurrentYear()
	if !ok {
		return errNotReady
	}

	query := matching.Query{
		Year: year.Year, DistrictCode: district, StreetCode: street, CommitteeCode: committee,
		Compound: string(args.Peek("compound")),
	}
	if value := args.Peek("entry"); len(value) > 0 {
		id, err := strconv.ParseInt(string(value), 10, 64)
		entry, found := c.EntryByID(id)
		if err != nil || !found || entry.DistrictCode != district || entry.Year != year.Year {
			return apierror.Invalid("entry", "entry_not_found", "未找到该区的此报名入口，请刷新页面后重新选择。")
		}
		query.Mode, query.Audience = entry.MatchingMode, c.EntryAudience(entry)
	}
	if text := args.Peek("address"); len(text) > 0 {
		if len(text) > maxAddressBytes {
			return apierror.Invalid("address", "address_too_long", "详细地址过长，请精简后重新填写。")
		}
		query.AddressText = address.Normalise(string(text))
		parsed, err := address.Parse(query.AddressText)
		switch {
		case err == nil:
			query.Address = &parsed
		case query.Mode == matching.ModeRoadRange:
			return apierror.As(err).WithField("address")
		}
	}

	ids := c.Match(&query, make([]int64, 0, 8))
	campuses := make([]snapshot.Campus, 0, len(ids))
	for _, id := range ids {
		if campus, ok := c.Campus(id); ok {
			campuses = append(campuses, campus)
		}
	}
	body := matchingBody{Campuses: campuses}
	if query.Mode == matching.ModeCompound && committee != "" {
		body.Compounds = c.Compounds(year.Year, district, query.Audience, street, committee)
	}
	api.WriteJSON(ctx, http.StatusOK, body)
	return nil
}

// maxAddressBytes bounds the detailed address of a matching request: 100
// Chinese characters in UTF-8.
const maxAddressBytes = 300

type matchingBody struct {
	Campuses  []snapshot.Campus `json:"campuses"`
	Compounds []string          `json:"compounds,omitempty"`
}
