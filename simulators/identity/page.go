package identity

import (
	"bytes"
	"html/template"
	"net/http"
)

// signInPage is the data of signInTemplate.
type signInPage struct {
	ClientID    string
	RedirectURI string
	State       string
	Parents     []Parent
	// Subject and Name prefill the free-form sign-in.
	Subject string
	Name    string
	// Error is shown above the forms after a rejected submission.
	Error string
}

// errorPage is the data of errorTemplate.
type errorPage struct {
	Message     string
	RedirectURI string
}

const pageStyle = `
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; margin: 0; background: #f4f6fa; color: #1f2d3d; }
main { max-width: 560px; margin: 32px auto; background: #fff; border-radius: 8px; padding: 24px 28px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 24px 0 12px; }
.notice { background: #fff7e6; border: 1px solid #ffd591; padding: 8px 12px; border-radius: 4px; font-size: 14px; }
.error { background: #fff1f0; border: 1px solid #ffa39e; padding: 8px 12px; border-radius: 4px; color: #a8071a; }
.meta { font-size: 13px; color: #5a6b7b; word-break: break-all; }
.parents button { display: block; width: 100%; text-align: left; margin: 0 0 8px; padding: 10px 12px; border: 1px solid #d0d7e2; border-radius: 6px; background: #fff; font-size: 15px; cursor: pointer; }
.parents button:hover { border-color: #1677ff; background: #f0f6ff; }
.parents small { color: #5a6b7b; margin-left: 8px; }
label { display: block; margin: 8px 0 4px; font-size: 14px; }
input[type=text] { width: 100%; box-sizing: border-box; padding: 8px; border: 1px solid #d0d7e2; border-radius: 4px; font-size: 15px; }
.submit { margin-top: 12px; padding: 8px 20px; background: #1677ff; color: #fff; border: 0; border-radius: 4px; font-size: 15px; cursor: pointer; }
`

var signInTemplate = template.Must(template.New("sign-in").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>统一身份认证（开发模拟）</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>统一身份认证（开发模拟）</h1>
<p class="notice">本页面模拟随申办统一身份认证，仅用于开发、演示和测试。请勿输入真实的个人信息。</p>
<p class="meta">应用 {{.ClientID}} 请求登录，登录后将返回 {{.RedirectURI}}</p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}

<h2>选择演示家长账号</h2>
<form class="parents" method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
{{range .Parents}}<button type="submit" name="subject" value="{{.Subject}}" data-subject="{{.Subject}}">{{.Name}}<small>{{.MaskedPhone}}</small><small>{{.Subject}}</small>{{if .Note}}<small>（{{.Note}}）</small>{{end}}</button>
{{end}}</form>

<h2>以指定身份登录</h2>
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<label for="subject">用户标识</label>
<input type="text" id="subject" name="subject" value="{{.Subject}}" required maxlength="64" placeholder="例如 parent-1001">
<label for="name">姓名</label>
<input type="text" id="name" name="name" value="{{.Name}}" maxlength="32" placeholder="例如 张三">
<button type="submit" class="submit">登录</button>
</form>
</main>
</body>
</html>
`))

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录请求无效 - 统一身份认证（开发模拟）</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>登录请求无效</h1>
<p class="error" role="alert">{{.Message}}</p>
{{if .RedirectURI}}<p class="meta">收到的回调地址：{{.RedirectURI}}</p>{{end}}
<p>请返回原应用重新发起登录。如问题持续，请检查应用的登录配置。</p>
</main>
</body>
</html>
`))

// renderPage executes tmpl into a buffer first, so a template error becomes
// a 500 instead of a half-written page.
func (s *Server) renderPage(w http.ResponseWriter, status int, tmpl *template.Template, data any) {
	var page bytes.Buffer
	if err := tmpl.Execute(&page, data); err != nil {
		s.logger.Error("render page failed", "template", tmpl.Name(), "error", err)
		http.Error(w, "页面生成失败，请稍后再试。", http.StatusInternalServerError)
		return
	}
	header := w.Header()
	header.Set("Content-Type", "text/html; charset=utf-8")
	header.Set("Cache-Control", "no-store")
	header.Set("X-Frame-Options", "DENY")
	// No form-action directive: browsers apply it to the redirect that follows
	// the sign-in POST, which goes to the client's origin.
	header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(page.Bytes())
}
