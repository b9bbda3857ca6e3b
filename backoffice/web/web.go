// Package web serves the staff admin app (Vue 3 + Element Plus), built by
// Vite from app/ into dist/ and embedded into the back-office binary.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy allows scripts only from the back office itself, so
// no inline or injected script runs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

const notBuilt = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面未构建</title>
<p>管理端页面尚未构建。请在项目目录运行 <code>make build</code> 后重新启动。</p></html>`

// Handler serves the app: files under dist by path, and index.html for
// every other path, so the app's own routes work on reload.
func Handler() http.Handler {
	files, _ := fs.Sub(dist, "dist")
	index, indexErr := fs.ReadFile(files, "index.html")
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name != "" && name != "index.html" {
			if _, err := fs.Stat(files, name); err == nil {
				if strings.HasPrefix(name, "assets/") {
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				fileServer.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				http.Error(w, "文件不存在", http.StatusNotFound)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		if indexErr != nil {
			w.Write([]byte(notBuilt))
			return
		}
		w.Write(index)
	})
}
