package staff

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

type loginLogPage struct {
	Total int            `json:"total"`
	Items []loginLogItem `json:"items"`
}

// seedLoginLog writes sign-in attempts of three accounts and returns a
// client of the auditor.
func seedLoginLog(t *testing.T, e *env) *client {
	t.Helper()
	e.createAccount(t, "auditor", "auditor")
	e.createAccount(t, "alice", "city_admin")
	auditor, _ := e.signIn(t, "auditor", testPassword)
	e.login(t, &client{base: e.url}, "alice", "Wrong#Password1")
	e.login(t, &client{base: e.url}, "alice", "Wrong#Password2")
	e.signIn(t, "alice", testPassword)
	e.login(t, &client{base: e.url}, "=cmd|' /C calc'!A0", testPassword)
	return auditor
}

func TestLoginLogList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor := seedLoginLog(t, e)
	cases := []struct {
		query string
		total int
	}{
		{"", 7},
		{"username=alice", 4},
		{"username=ALICE", 4},
		{"username=alice&success=false", 2},
		{"username=alice&success=true", 2},
		{"success=false", 3},
		{"from=" + url.QueryEscape(e.clock.Now().Add(-time.Hour).Format(time.RFC3339)), 7},
		{"from=" + url.QueryEscape(e.clock.Now().Add(time.Hour).Format(time.RFC3339)), 0},
		{"to=" + time.Now().In(shanghai).AddDate(0, 0, -1).Format(time.DateOnly), 0},
		{"to=" + e.clock.Now().In(shanghai).Format(time.DateOnly), 7},
	}
	for _, test := range cases {
		answer := auditor.do(t, http.MethodGet, "/api/v1/login-log?"+test.query, nil)
		answer.expect(t, test.query, http.StatusOK, "")
		var page loginLogPage
		answer.decode(t, &page)
		if page.Total != test.total || len(page.Items) != test.total {
			t.Errorf("?%s: total %d with %d items, want %d", test.query, page.Total, len(page.Items), test.total)
		}
	}

	answer := auditor.do(t, http.MethodGet, "/api/v1/login-log?username=alice&size=3&page=1", nil)
	var page loginLogPage
	answer.decode(t, &page)
	if page.Total != 4 || len(page.Items) != 3 {
		t.Fatalf("page of 3: total %d with %d items, want 4 with 3", page.Total, len(page.Items))
	}
	newest := page.Items[0]
	if newest.Stage != "totp" || newest.Reason != "ok" || newest.ReasonLabel != "成功" || newest.StageLabel != "动态验证码" {
		t.Errorf("newest entry = %+v, want the successful code step with Chinese labels", newest)
	}
	if page.Items[2].ReasonLabel != "密码错误" || page.Items[2].IP != "127.0.0.1" || page.Items[2].UserAgent != "staff-test/1.0" {
		t.Errorf("third entry = %+v, want a wrong password from 127.0.0.1", page.Items[2])
	}

	invalid := []struct{ query, code string }{
		{"success=maybe", "invalid_success_filter"},
		{"from=yesterday", "invalid_time"},
		{"from=2025-03-02&to=2025-03-01", "invalid_time_range"},
		{"size=1000", "invalid_page_size"},
	}
	for _, test := range invalid {
		auditor.do(t, http.MethodGet, "/api/v1/login-log?"+test.query, nil).expect(t, test.query, http.StatusBadRequest, test.code)
	}
}

func TestLoginLogExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor := seedLoginLog(t, e)
	answer := auditor.do(t, http.MethodGet, "/api/v1/login-log/export?username=alice&success=false", nil)
	answer.expect(t, "export", http.StatusOK, "")
	if got := answer.header.Get("Content-Type"); got != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("Content-Type = %q", got)
	}
	_, params, err := mime.ParseMediaType(answer.header.Get("Content-Disposition"))
	if err != nil || !strings.HasPrefix(params["filename"], "登录日志-") || !strings.HasSuffix(params["filename"], ".xlsx") {
		t.Errorf("Content-Disposition = %q (%v), want an attachment named 登录日志-….xlsx", answer.header.Get("Content-Disposition"), err)
	}

	book, err := excelize.OpenReader(bytes.NewReader(answer.body))
	if err != nil {
		t.Fatalf("export does not open: %v", err)
	}
	defer book.Close()
	rows, err := book.GetRows("登录日志")
	if err != nil {
		t.Fatalf("sheet 登录日志: %v", err)
	}
	if len(rows) != exportHeaderRows+2 {
		t.Fatalf("export has %d rows, want %d header rows and 2 entries: %q", len(rows), exportHeaderRows, rows)
	}
	if rows[0][0] != "登录日志" || !strings.HasPrefix(rows[1][0], "导出时间：") {
		t.Errorf("title rows = %q, %q", rows[0], rows[1])
	}
	if want := "筛选条件：用户名=alice；结果=失败"; rows[2][0] != want {
		t.Errorf("filter row = %q, want %q", rows[2][0], want)
	}
	if got := strings.Join(rows[4], "|"); got != "时间|用户名|账号 ID|结果|阶段|原因|IP 地址|浏览器标识（User-Agent）" {
		t.Errorf("column headers = %s", got)
	}
	var aliceID int64
	if err := e.db.Get(&aliceID, `SELECT id FROM staff_user WHERE username = 'alice'`); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[exportHeaderRows:] {
		want := []string{"alice", strconv.FormatInt(aliceID, 10), "失败", "密码", "密码错误", "127.0.0.1", "staff-test/1.0"}
		if got := strings.Join(row[1:], "|"); got != strings.Join(want, "|") {
			t.Errorf("entry = %s, want %s", got, strings.Join(want, "|"))
		}
		if _, err := time.ParseInLocation("2006-01-02 15:04:05", row[0], shanghai); err != nil {
			t.Errorf("time %q does not parse: %v", row[0], err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'login_log.export'`); n != 1 {
		t.Errorf("audited exports = %d, want 1", n)
	}
}

func TestLoginLogExportKeepsFormulasAsText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auditor := seedLoginLog(t, e)
	answer := auditor.do(t, http.MethodGet, "/api/v1/login-log/export?success=false", nil)
	answer.expect(t, "export", http.StatusOK, "")
	book, err := excelize.OpenReader(bytes.NewReader(answer.body))
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	rows, err := book.GetRows("登录日志")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, row := range rows[exportHeaderRows:] {
		if len(row) > 1 && strings.HasPrefix(row[1], "=") {
			found = true
			cell := "B" + strconv.Itoa(exportHeaderRows+i+1)
			if formula, err := book.GetCellFormula("登录日志", cell); err != nil || formula != "" {
				t.Errorf("cell %s holds formula %q (%v), want text", cell, formula, err)
			}
		}
	}
	if !found {
		t.Errorf("the export lacks the username that looks like a formula")
	}
}
