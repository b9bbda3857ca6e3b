// Package sms simulates the big-data centre's SMS capability (短信能力):
// it accepts messages, "delivers" them after a delay, and reports each
// message's delivery status when polled.
//
//	POST /v1/sms/messages             send one message; returns its ID
//	GET  /v1/sms/messages/{id}        the message's delivery status
//
// A send carries the caller's reference (clientReference). A repeated
// reference returns the first message's ID without sending again, so a
// caller may retry a send whose response it lost. A message to a number
// ending in UndeliverableSuffix is never delivered: its status becomes
// "undeliverable" once the delivery delay has passed. Messages are kept in
// memory only.
package sms

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sh-preschool/preschool/simulators/internal/jsonhttp"
)

// UndeliverableSuffix ends the numbers whose messages are never delivered,
// so demos and tests can produce a failed delivery at will.
const UndeliverableSuffix = "0000"

// MaxContentRunes is the longest message text accepted.
const MaxContentRunes = 500

// maxMessages bounds the messages kept in memory; the oldest are dropped
// beyond it.
const maxMessages = 100_000

const maxRequestBytes = 16 << 10

// Delivery statuses.
const (
	StatusSent          = "sent"          // accepted, not yet delivered
	StatusDelivered     = "delivered"     // the handset received it
	StatusUndeliverable = "undeliverable" // the operator gave up
)

// SendRequest is the JSON body of POST /v1/sms/messages.
type SendRequest struct {
	ClientReference string `json:"clientReference"`
	Phone           string `json:"phone"`
	Content         string `json:"content"`
}

// Message is a message and its delivery status.
type Message struct {
	ID              string     `json:"id"`
	ClientReference string     `json:"clientReference"`
	Status          string     `json:"status"`
	AcceptedAt      time.Time  `json:"acceptedAt"`
	DeliveredAt     *time.Time `json:"deliveredAt,omitempty"`
}

// Options configure the simulator.
type Options struct {
	// DeliveryDelay is how long after acceptance a message counts as
	// delivered (or undeliverable).
	DeliveryDelay time.Duration
	// Now returns the current time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Server is the SMS simulator. It is safe for concurrent use.
type Server struct {
	options Options
	logger  *slog.Logger

	mu          sync.Mutex
	next        int64
	messages    map[string]*stored
	byReference map[string]string
	order       []string
}

type stored struct {
	message       Message
	undeliverable bool
}

// NewServer returns an SMS simulator.
func NewServer(options Options) *Server {
	if options.Now == nil {
		options.Now = time.Now
	}
	logger := options.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{
		options: options, logger: logger.With("service", "sms"),
		messages: map[string]*stored{}, byReference: map[string]string{},
	}
}

// Handler returns the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/sms/messages", s.send)
	mux.HandleFunc("GET /v1/sms/messages/{id}", s.status)
	return mux
}

// Sent returns how many distinct messages were accepted.
func (s *Server) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	var request SendRequest
	if err := jsonhttp.Decode(w, r, maxRequestBytes, &request); err != nil {
		s.reject(w, err)
		return
	}
	if err := checkSend(request); err != nil {
		s.reject(w, err)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byReference[request.ClientReference]; ok {
		jsonhttp.Write(w, http.StatusOK, s.view(s.messages[id]))
		return
	}
	s.next++
	id := "SMS" + strconv.FormatInt(s.next, 10)
	message := &stored{
		message:       Message{ID: id, ClientReference: request.ClientReference, Status: StatusSent, AcceptedAt: s.options.Now().UTC()},
		undeliverable: strings.HasSuffix(request.Phone, UndeliverableSuffix),
	}
	s.messages[id] = message
	s.byReference[request.ClientReference] = id
	s.order = append(s.order, id)
	if len(s.order) > maxMessages {
		oldest := s.order[0]
		s.order = s.order[1:]
		delete(s.byReference, s.messages[oldest].message.ClientReference)
		delete(s.messages, oldest)
	}
	s.logger.Info("sms accepted", "id", id, "client_reference", request.ClientReference)
	jsonhttp.Write(w, http.StatusCreated, s.view(message))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	message, ok := s.messages[id]
	if !ok {
		jsonhttp.WriteError(w, http.StatusNotFound, "message_not_found", "未找到该短信："+id+"。", "id")
		return
	}
	jsonhttp.Write(w, http.StatusOK, s.view(message))
}

// view returns the message with the status it has now: sent until the
// delivery delay has passed, then delivered or undeliverable. The caller
// holds s.mu.
func (s *Server) view(message *stored) Message {
	view := message.message
	due := view.AcceptedAt.Add(s.options.DeliveryDelay)
	if s.options.Now().Before(due) {
		return view
	}
	if message.undeliverable {
		view.Status = StatusUndeliverable
		return view
	}
	view.Status = StatusDelivered
	view.DeliveredAt = &due
	return view
}

func checkSend(request SendRequest) *jsonhttp.RequestError {
	if request.ClientReference == "" || len(request.ClientReference) > 64 {
		return jsonhttp.Invalid("clientReference", "调用方流水号不能为空，且不超过 64 个字符。")
	}
	if !validPhone(request.Phone) {
		return jsonhttp.Invalid("phone", "手机号码应为 11 位数字，以 1 开头。")
	}
	length := utf8.RuneCountInString(request.Content)
	if length == 0 || length > MaxContentRunes || !utf8.ValidString(request.Content) {
		return jsonhttp.Invalid("content", fmt.Sprintf("短信内容不能为空，且不超过 %d 个字。", MaxContentRunes))
	}
	return nil
}

func validPhone(phone string) bool {
	if len(phone) != 11 || phone[0] != '1' {
		return false
	}
	for _, c := range phone {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (s *Server) reject(w http.ResponseWriter, err *jsonhttp.RequestError) {
	s.logger.Info("sms request rejected", "error", err)
	jsonhttp.WriteRequestError(w, err)
}
