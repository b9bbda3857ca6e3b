package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/sh-preschool/preschool/backoffice/backofficetest"
)

// childrenFilter is the query of the children report the tests filter by:
// public kindergartens, Chinese children with a hukou in another district
// or province, aged 3 or 4.
const childrenFilter = "table=children&ownership=public&nationality=chinese&hukou=other_province,city&age=4,3"

// childrenRawSQL sums the child census of 徐汇 ($2) in year $1 under
// childrenFilter, straight from the census rows.
const childrenRawSQL = `SELECT count(DISTINCT (c.kindergarten_id, c.grade, c.nationality, c.hukou, c.age)) AS rows,
	       COALESCE(sum(c.children) FILTER (WHERE c.sex = 'male'), 0) AS boys, COALESCE(sum(c.children), 0) AS children
	FROM kindergarten_child_census c, kindergarten k
	WHERE k.id = c.kindergarten_id AND c.census_year = $1 AND k.district_code = $2 AND k.ownership = 'public'
	  AND c.nationality = 'chinese' AND c.hukou IN ('other_province', 'city') AND c.age IN (3, 4)`

type childrenTotals struct {
	Rows     int64 `db:"rows"`
	Boys     int64 `db:"boys"`
	Children int64 `db:"children"`
}

func TestChildrenReportMatchesRawRows(t *testing.T) {
	f := newFixture(t, 1000)
	var want childrenTotals
	if err := f.env.DB.DB.Get(&want, childrenRawSQL, f.year, backofficetest.Xuhui); err != nil {
		t.Fatal(err)
	}
	if want.Rows == 0 || want.Children == 0 {
		t.Fatalf("the generated census has no matching children in 徐汇: %+v", want)
	}

	t.Run("page", func(t *testing.T) {
		var answer struct {
			Headers []string `json:"headers"`
			Rows    [][]any  `json:"rows"`
			Total   int64    `json:"total"`
		}
		f.get(t, xuhuiStaff, "/dashboard/development/report?"+childrenFilter, http.StatusOK, &answer)
		wantHeaders := []string{"园所", "区", "街镇", "办别", "等级", "年级", "国籍", "户籍", "年龄", "男", "女", "合计"}
		if !slices.Equal(answer.Headers, wantHeaders) {
			t.Fatalf("headers = %v, want %v", answer.Headers, wantHeaders)
		}
		if answer.Total != want.Rows {
			t.Errorf("report rows = %d, want %d", answer.Total, want.Rows)
		}
		if int64(len(answer.Rows)) != want.Rows {
			t.Fatalf("page contains %d rows, want all %d", len(answer.Rows), want.Rows)
		}
		var boys, children int64
		for _, row := range answer.Rows {
			if row[3] != "公办" || row[6] != "中国" {
				t.Errorf("row %v is not a public kindergarten's Chinese children", row)
			}
			if row[7] != "外省市户籍" && row[7] != "本市外区户籍" {
				t.Errorf("row %v has hukou %v", row, row[7])
			}
			if row[8] != "3 岁" && row[8] != "4 岁" {
				t.Errorf("row %v has age %v", row, row[8])
			}
			rowBoys, rowGirls, rowTotal := int64(row[9].(float64)), int64(row[10].(float64)), int64(row[11].(float64))
			if rowBoys+rowGirls != rowTotal {
				t.Errorf("row %v: boys + girls = %d, want the total %d", row, rowBoys+rowGirls, rowTotal)
			}
			boys += rowBoys
			children += rowTotal
		}
		if boys != want.Boys || children != want.Children {
			t.Errorf("report sums to %d boys of %d children, want %d of %d", boys, children, want.Boys, want.Children)
		}
	})

	t.Run("export prints the filters", func(t *testing.T) {
		header, rows := f.exportReport(t, "/dashboard/development/report.xlsx?"+childrenFilter)
		for _, filter := range []string{"国籍|中国", "户籍|本市外区户籍、外省市户籍", "年龄（8 月 31 日整岁）|3 岁、4 岁", "办别|公办", "区域|徐汇区"} {
			if !strings.Contains(header, filter) {
				t.Errorf("header rows lack %q:\n%s", filter, header)
			}
		}
		if got := int64(len(rows)); got != want.Rows {
			t.Errorf("workbook has %d data rows, want %d", got, want.Rows)
		}
		if children := sumColumn(t, rows, 11); children != want.Children {
			t.Errorf("workbook sums to %d children, want %d", children, want.Children)
		}
	})

	t.Run("unfiltered export equals the class census", func(t *testing.T) {
		header, rows := f.exportReport(t, "/dashboard/development/report.xlsx?table=children&district="+backofficetest.Xuhui)
		if !strings.Contains(header, "国籍|全部") || !strings.Contains(header, "年龄（8 月 31 日整岁）|全部") {
			t.Errorf("header rows do not print the absent filters as 全部:\n%s", header)
		}
		want := f.env.Count(t, `SELECT COALESCE(sum(boys + girls), 0) FROM kindergarten_class_census
			WHERE census_year = $1 AND kindergarten_id IN (SELECT id FROM kindergarten WHERE district_code = $2)`, f.year, backofficetest.Xuhui)
		if children := sumColumn(t, rows, 11); children != int64(want) || want == 0 {
			t.Errorf("children report sums to %d, want the class census's %d (and more than 0)", children, want)
		}
	})

	t.Run("invalid filters", func(t *testing.T) {
		for _, query := range []string{
			"table=children&nationality=martian",
			"table=children&hukou=beijing",
			"table=children&age=9",
			"table=children&age=three",
			"table=staff&hukou=city",
		} {
			f.get(t, cityStaff, "/dashboard/development/report?"+query, http.StatusBadRequest, nil)
		}
	})
}

// exportReport requests an xlsx export as 徐汇 staff and returns its header
// rows (cells joined with |, one line each) and its data rows, which follow
// the column header row that starts with 园所.
func (f *fixture) exportReport(t *testing.T, path string) (string, [][]string) {
	t.Helper()
	recorder := httptest.NewRecorder()
	f.handlers(xuhuiStaff).ServeHTTP(recorder, httptest.NewRequest(http.MethodGet, path, nil))
	if recorder.Code != http.StatusOK {
		t.Fatalf("GET %s = %d %s, want 200", path, recorder.Code, recorder.Body)
	}
	file := filepath.Join(t.TempDir(), "report.xlsx")
	if err := os.WriteFile(file, recorder.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	book, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatalf("open exported workbook: %v", err)
	}
	defer book.Close()
	rows, err := book.GetRows("报表")
	if err != nil {
		t.Fatal(err)
	}
	var header []string
	for i, row := range rows {
		line := strings.Join(row, "|")
		if strings.HasPrefix(line, "园所|") {
			return strings.Join(header, "\n"), rows[i+1:]
		}
		header = append(header, line)
	}
	t.Fatalf("no column header row in the workbook:\n%s", strings.Join(header, "\n"))
	return "", nil
}

// sumColumn adds up the integers in column of rows.
func sumColumn(t *testing.T, rows [][]string, column int) int64 {
	t.Helper()
	var sum int64
	for _, row := range rows {
		value, err := strconv.ParseInt(row[column], 10, 64)
		if err != nil {
			t.Fatalf("row %v: column %d %q is not a number", row, column, row[column])
		}
		sum += value
	}
	return sum
}
