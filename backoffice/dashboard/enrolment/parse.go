package enrolment

import "net/http"

// ParseQuery reads the year, range and area of a request the way the
// enrolment panels do, for panels in other packages.
func (h *Handlers) ParseQuery(r *http.Request) (Query, error) { return h.parseQuery(r) }
