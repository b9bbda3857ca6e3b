// Package web serves the parents' single-page app, built by Vite from
// app/ into dist/ and embedded into the edge binary.
package web

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy allows scripts only from the edge itself, so no
// inline or injected script runs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

const notBuilt = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面未构建</title>
<p>家长端页面尚未构建。请在项目目录运行 <code>make build</code> 后重新启动。</p></html>`

// Handler serves the app: files under dist by path, and index.html for
// every other path, so the app's own routes work on reload.
func Handler() fasthttp.RequestHandler {
	files, _ := fs.Sub(dist, "dist")
	index, indexErr := fs.ReadFile(files, "index.html")
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Content-Security-Policy", contentSecurityPolicy)
		name := strings.TrimPrefix(path.Clean("/"+string(ctx.Path())), "/")
		if name != "" && name != "index.html" {
			if data, err := fs.ReadFile(files, name); err == nil {
				if contentType := mime.TypeByExtension(path.Ext(name)); contentType != "" {
					ctx.SetContentType(contentType)
				}
				if strings.HasPrefix(name, "assets/") {
					ctx.Response.Header.Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				ctx.SetBody(data)
				return
			}
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				ctx.Error("文件不存在", http.StatusNotFound)
				return
			}
		}
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		if indexErr != nil {
			ctx.SetBodyString(notBuilt)
			return
		}
		ctx.SetBody(index)
	}
}
