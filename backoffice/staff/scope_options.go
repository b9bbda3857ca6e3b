package staff

import (
	"fmt"
	"net/http"
	"regexp"

	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

var (
	districtCodePattern     = regexp.MustCompile(`^[0-9]{6}$`)
	errScopeOptionsDistrict = apierror.Invalid("district", "unknown_district", "所选的区不存在，请重新选择。")
)

// streetOption is a street an account's scope can name.
type streetOption struct {
	Code string `db:"code" json:"code"`
	Name string `db:"name" json:"name"`
}

// kindergartenOption is a kindergarten an account's scope can name.
type kindergartenOption struct {
	ID         int64  `db:"id" json:"id"`
	Name       string `db:"name" json:"name"`
	StreetCode string `db:"street_code" json:"streetCode"`
}

// scopeOptionsBody is the response of GET /staff/scope-options.
type scopeOptionsBody struct {
	DistrictCode  string               `json:"districtCode"`
	Streets       []streetOption       `json:"streets"`
	Kindergartens []kindergartenOption `json:"kindergartens"`
}

// listScopeOptions handles GET /staff/scope-options?district=: the streets
// and kindergartens of one district, from which the account form picks a
// street or kindergarten scope.
//
// These queries do not apply access.Scope.Filter. The security admin who
// manages accounts has the scope level none, under which the filter hides
// every place, yet must assign places to accounts. Streets and
// kindergartens are reference data that parents' pages show to anyone, so
// staff.read is the gate, as the account list itself has it.
func (h *Handlers) listScopeOptions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	district := r.URL.Query().Get("district")
	if !districtCodePattern.MatchString(district) {
		return errScopeOptionsDistrict
	}
	var exists bool
	if err := h.DB.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM district WHERE code = $1)`, district); err != nil {
		return fmt.Errorf("read district %s: %w", district, err)
	}
	if !exists {
		return errScopeOptionsDistrict
	}

	body := scopeOptionsBody{DistrictCode: district, Streets: []streetOption{}, Kindergartens: []kindergartenOption{}}
	const streetsQuery = `SELECT code, name FROM street WHERE district_code = $1 ORDER BY code`
	if err := h.DB.SelectContext(ctx, &body.Streets, streetsQuery, district); err != nil {
		return fmt.Errorf("list streets of %s: %w", district, err)
	}
	const kindergartensQuery = `SELECT id, name, street_code FROM kindergarten WHERE district_code = $1 ORDER BY street_code, name, id`
	if err := h.DB.SelectContext(ctx, &body.Kindergartens, kindergartensQuery, district); err != nil {
		return fmt.Errorf("list kindergartens of %s: %w", district, err)
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
