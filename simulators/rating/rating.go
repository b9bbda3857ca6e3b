// Package rating simulates the city's service-rating system (好差评) as far
// as its 办不成事 (could-not-get-it-done) module receives reports: it
// accepts a report, returns a ticket ID that staff follow it up under, and
// returns a ticket when asked.
//
//	POST /v1/bad-experience/reports         file one report; returns its ticket
//	GET  /v1/bad-experience/reports/{id}    the ticket
//
// A report carries the caller's reference (clientReference). A repeated
// reference returns the first ticket without filing again, so a caller may
// retry a call whose response it lost. Tickets are kept in memory only.
// Latency and failures come from the fault injector that wraps every
// simulator.
package rating

import (
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// maxTickets bounds the tickets kept in memory; the oldest are dropped
// beyond it.
const maxTickets = 100_000

const maxRequestBytes = 16 << 10

// maxContentRunes is the longest report text accepted.
const maxContentRunes = 1000

// Report is the JSON body of POST /v1/bad-experience/reports.
type Report struct {
	ClientReference string    `json:"clientReference"`
	Matter          string    `json:"matter"`
	Category        string    `json:"category"`
	CategoryName    string    `json:"categoryName"`
	Content         string    `json:"content"`
	Page            string    `json:"page"`
	Step            string    `json:"step"`
	Trigger         string    `json:"trigger"`
	DistrictCode    string    `json:"districtCode,omitempty"`
	Phone           string    `json:"phone,omitempty"`
	SubmittedAt     time.Time `json:"submittedAt"`
}

// Ticket is a filed report as the rating system keeps it.
type Ticket struct {
	ID              string    `json:"ticketId"`
	ClientReference string    `json:"clientReference"`
	Status          string    `json:"status"`
	ReceivedAt      time.Time `json:"receivedAt"`
	Report          Report    `json:"report"`
}

// StatusReceived is the status of a new ticket.
const StatusReceived = "received"

// Options configure the simulator.
type Options struct {
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is the rating simulator. It is safe for concurrent use.
type Server struct {
	now    func() time.Time
	logger *slog.Logger

	mu          sync.Mutex
	next        int64
	tickets     map[string]*Ticket
	byReference map[string]string
	order       []string
}

// NewServer returns a rating simulator.
func NewServer(options Options) *Server {
	now := options.Now
	if now == nil {
		now = time.Now
	}
	logger := options.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{now: now, logger: logger.With("service", "rating"), tickets: map[string]*Ticket{}, byReference: map[string]string{}}
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/bad-experience/reports", s.file)
	mux.HandleFunc("GET /v1/bad-experience/reports/{id}", s.get)
	return mux
}

// Received returns how many distinct reports were filed.
func (s *Server) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tickets)
}

func (s *Server) file(w http.ResponseWriter, r *http.Request) {
	var report Report
	if err := jsonhttp.Decode(w, r, maxRequestBytes, &report); err != nil {
		s.reject(w, err)
		return
	}
	if err := checkReport(report); err != nil {
		s.reject(w, err)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byReference[report.ClientReference]; ok {
		jsonhttp.Write(w, http.StatusOK, s.tickets[id])
		return
	}
	s.next++
	id := "BBCS" + strconv.FormatInt(s.next, 10)
	ticket := &Ticket{ID: id, ClientReference: report.ClientReference, Status: StatusReceived, ReceivedAt: s.now().UTC(), Report: report}
	s.tickets[id] = ticket
	s.byReference[report.ClientReference] = id
	s.order = append(s.order, id)
	if len(s.order) > maxTickets {
		oldest := s.order[0]
		s.order = s.order[1:]
		delete(s.byReference, s.tickets[oldest].ClientReference)
		delete(s.tickets, oldest)
	}
	s.logger.Info("bad-experience report filed", "ticket_id", id, "client_reference", report.ClientReference, "category", report.Category)
	jsonhttp.Write(w, http.StatusCreated, ticket)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	ticket, ok := s.tickets[id]
	if !ok {
		jsonhttp.WriteError(w, http.StatusNotFound, "ticket_not_found", "未找到该办件："+id+"。", "id")
		return
	}
	jsonhttp.Write(w, http.StatusOK, ticket)
}

func checkReport(report Report) *jsonhttp.RequestError {
	if report.ClientReference == "" || len(report.ClientReference) > 64 {
		return jsonhttp.Invalid("clientReference", "调用方流水号不能为空，且不超过 64 个字符。")
	}
	if report.Matter == "" {
		return jsonhttp.Invalid("matter", "事项名称不能为空。")
	}
	if report.Category == "" {
		return jsonhttp.Invalid("category", "问题类型不能为空。")
	}
	if utf8.RuneCountInString(report.Content) > maxContentRunes || !utf8.ValidString(report.Content) {
		return jsonhttp.Invalid("content", "反映内容不超过 1000 个字。")
	}
	if report.SubmittedAt.IsZero() {
		return jsonhttp.Invalid("submittedAt", "反映时间不能为空。")
	}
	return nil
}

func (s *Server) reject(w http.ResponseWriter, err *jsonhttp.RequestError) {
	s.logger.Info("bad-experience report rejected", "error", err)
	jsonhttp.WriteRequestError(w, err)
}
