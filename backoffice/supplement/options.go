package supplement

import (
	"net/http"
	"strconv"

	"github.com/sh-preschool/preschool/backoffice/access"
	"github.com/sh-preschool/preschool/backoffice/httpx"
	"github.com/sh-preschool/preschool/shared/apierror"
)

// campusOption is a campus the admin may choose.
type campusOption struct {
	ID           int64  `db:"id" json:"id"`
	Kindergarten string `db:"kindergarten" json:"kindergarten"`
	Name         string `db:"name" json:"name"`
	IsMain       bool   `db:"is_main" json:"isMain"`
	Street       string `db:"street" json:"street"`
}

// categoryOption is a household category with an entry in the district.
type categoryOption struct {
	Code  string `db:"code" json:"code"`
	Name  string `db:"name" json:"name"`
	Group string `db:"group_code" json:"group"`
}

// OptionsBody is the response of GET /api/v1/supplementary/options.
type OptionsBody struct {
	District   string           `json:"district"`
	Year       int              `json:"year"`
	Campuses   []campusOption   `json:"campuses"`
	Categories []categoryOption `json:"categories"`
}

// options handles GET /api/v1/supplementary/options?year=&district=: every
// campus of the district and the categories with an entry that year. A
// district admin may leave out district; a city admin names one.
func (h *Handlers) options(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	staff := access.StaffFrom(ctx)
	query := r.URL.Query()
	year, err := strconv.Atoi(query.Get("year"))
	if err != nil || year < 2000 || year > 2100 {
		return apierror.Invalid("year", "invalid_year", "年度应为 2000 至 2100 之间的四位数字，例如 2026。")
	}
	district := query.Get("district")
	if district == "" {
		district = staff.Scope.DistrictCode
	}
	if district == "" {
		return apierror.Invalid("district", "district_required", "请选择补报名的区。")
	}
	if _, ok := h.DistrictName(district); !ok {
		return apierror.Invalid("district", "unknown_district", "所选的区不存在，请重新选择。")
	}
	if !staff.Scope.AllowsDistrict(district) {
		return access.ErrOutOfScope
	}

	body := OptionsBody{District: district, Year: year, Campuses: []campusOption{}, Categories: []categoryOption{}}
	err = h.DB.SelectContext(ctx, &body.Campuses, `
		SELECT c.id, k.name AS kindergarten, c.name, c.is_main, s.name AS street
		FROM campus c
		JOIN kindergarten k ON k.id = c.kindergarten_id
		JOIN street s ON s.code = c.street_code
		WHERE c.district_code = $1
		ORDER BY k.name, c.is_main DESC, c.name`, district)
	if err != nil {
		return err
	}
	err = h.DB.SelectContext(ctx, &body.Categories, `
		SELECT h.code, h.name, h.group_code
		FROM entry e JOIN household_category h ON h.code = e.category_code
		WHERE e.enrolment_year = $1 AND e.district_code = $2
		ORDER BY h.code`, year, district)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, body)
	return nil
}
