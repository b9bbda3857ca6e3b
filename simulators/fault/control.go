package fault

import (
	"encoding/json"
	"net/http"
	"net/netip"

	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// maxControlBody is the largest /_control request body accepted; a Config
// encodes to about 100 bytes.
const maxControlBody = 16 << 10

// Handler returns a simulator's complete handler. It serves the control
// endpoints itself and passes every other request through Middleware to
// service, so faults never block the endpoints that turn them off:
//
//	POST /_control  merges a JSON Config into the current one (loopback peers only)
//	GET  /_control  returns the current Config
//	GET  /_stats    returns Stats
//	GET  /healthz   returns {"status":"ok"}
func (in *Injector) Handler(service http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_control", in.handleControlUpdate)
	mux.HandleFunc("GET /_control", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, in.Config())
	})
	mux.HandleFunc("GET /_stats", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, in.Stats())
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		jsonhttp.Write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("/", in.Middleware(service))
	return mux
}

func (in *Injector) handleControlUpdate(w http.ResponseWriter, r *http.Request) {
	if !IsLoopbackPeer(r.RemoteAddr) {
		in.logger.Warn("fault control rejected from non-loopback peer", "remote_addr", r.RemoteAddr)
		jsonhttp.WriteError(w, http.StatusForbidden, "forbidden", "只允许从本机（回环地址）修改故障配置。", "")
		return
	}

	in.controlMu.Lock()
	defer in.controlMu.Unlock()

	// Decoding onto the current configuration keeps the fields that the
	// request leaves out.
	cfg := in.Config()
	r.Body = http.MaxBytesReader(w, r.Body, maxControlBody)
	decoder := json.NewDecoder(r.Body)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&cfg); err != nil {
		jsonhttp.WriteError(w, http.StatusBadRequest, "invalid_config", "故障配置无法解析："+err.Error(), "")
		return
	}
	if err := in.storeConfig(cfg); err != nil {
		jsonhttp.WriteError(w, http.StatusBadRequest, "invalid_config", "故障配置无效："+err.Error(), "")
		return
	}
	jsonhttp.Write(w, http.StatusOK, in.Config())
}

// IsLoopbackPeer reports whether remoteAddr, in the host:port form of
// http.Request.RemoteAddr, is a loopback address (127.0.0.0/8 or ::1,
// including IPv4-mapped IPv6). Anything unparsable is not loopback.
// Forwarding headers such as X-Forwarded-For are deliberately not consulted.
func IsLoopbackPeer(remoteAddr string) bool {
	addrPort, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	return addrPort.Addr().Unmap().IsLoopback()
}
